import { describe, expect, it } from "vitest";
import { createApiKey, keyHeaders } from "../src/modules/api-keys/test-helpers.ts";
import { memberSchema, workspaceSchema } from "../src/modules/workspaces/contracts.ts";
import { call, createWorkspace, join } from "../src/modules/workspaces/test-helpers.ts";
import { gql, gqlOk } from "./graphql-helpers.ts";
import { signUp, type TestUser, useTestApp } from "./harness.ts";

const t = useTestApp();

/** The data of a request that must succeed, with no errors. */
const ok = (user: TestUser, query: string, variables?: Record<string, unknown>) =>
  gqlOk(t.app, user.headers, query, variables);

const workspaceFields = "id name personal role memberCount aiRedactPii createdAt updatedAt";
const memberFields = "userId name email role joinedAt";

describe("workspaces over GraphQL", () => {
  it("creates, lists, renames and deletes a workspace through the workspace verbs", async () => {
    const owner = await signUp(t.app, "Owner");
    const { createWorkspace: created } = await ok(
      owner,
      `mutation { createWorkspace(input: { name: "  Garden club " }) { ${workspaceFields} } }`,
    );
    expect(created).toMatchObject({
      name: "Garden club",
      personal: false,
      role: "owner",
      memberCount: 1,
      aiRedactPii: null,
    });
    // Every field the REST representation has, with its shape.
    expect(workspaceSchema.parse(created)).toEqual(created);
    const rest = await call(t.app, owner, "GET", `/v1/workspaces/${created.id}`);
    expect(rest.json()).toEqual(created);

    const { workspaces } = await ok(
      owner,
      `{ workspaces(limit: 10) { data { name personal } nextCursor } }`,
    );
    expect(workspaces.data).toEqual(
      expect.arrayContaining([
        { name: "Garden club", personal: false },
        expect.objectContaining({ personal: true }),
      ]),
    );

    const { updateWorkspace: renamed } = await ok(
      owner,
      `mutation ($id: ID!) { updateWorkspace(id: $id, input: { name: "Allotment", aiRedactPii: true }) { name aiRedactPii } }`,
      { id: created.id },
    );
    expect(renamed).toEqual({ name: "Allotment", aiRedactPii: true });
    // null restores the deployment's default; the name stays.
    const { updateWorkspace: restored } = await ok(
      owner,
      `mutation ($id: ID!) { updateWorkspace(id: $id, input: { aiRedactPii: null }) { name aiRedactPii } }`,
      { id: created.id },
    );
    expect(restored).toEqual({ name: "Allotment", aiRedactPii: null });
    const empty = await gql(
      t.app,
      owner.headers,
      `mutation ($id: ID!) { updateWorkspace(id: $id, input: {}) { name } }`,
      { id: created.id },
    );
    expect(empty.errors[0]?.extensions).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "input", message: "give name or aiRedactPii" }],
    });

    expect(
      await ok(owner, `mutation ($id: ID!) { deleteWorkspace(id: $id) }`, { id: created.id }),
    ).toEqual({ deleteWorkspace: true });
    expect((await call(t.app, owner, "GET", `/v1/workspaces/${created.id}`)).statusCode).toBe(404);
  });

  it("lists members and changes, transfers and removes them with the REST rules", async () => {
    const owner = await signUp(t.app, "Owner");
    const member = await signUp(t.app, "Member");
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, member, "member");

    const { members } = await ok(
      owner,
      `query ($id: ID!) { members(workspaceId: $id) { data { ${memberFields} } nextCursor } }`,
      { id: workspace.id },
    );
    expect(members.data.map((entry: { role: string }) => entry.role)).toEqual(["owner", "member"]);
    for (const entry of members.data) expect(memberSchema.parse(entry)).toEqual(entry);

    // A member may not promote themselves: the verb's own rule, as over REST.
    const refused = await gql(
      t.app,
      member.headers,
      `mutation ($w: ID!, $u: ID!) { changeMemberRole(workspaceId: $w, userId: $u, role: admin) { role } }`,
      { w: workspace.id, u: member.id },
    );
    expect(refused.errors[0]?.extensions?.code).toBe("forbidden");

    const { changeMemberRole } = await ok(
      owner,
      `mutation ($w: ID!, $u: ID!) { changeMemberRole(workspaceId: $w, userId: $u, role: admin) { userId role } }`,
      { w: workspace.id, u: member.id },
    );
    expect(changeMemberRole).toEqual({ userId: member.id, role: "admin" });

    const { transferOwnership } = await ok(
      owner,
      `mutation ($w: ID!, $u: ID!) { transferOwnership(workspaceId: $w, userId: $u) { role } }`,
      { w: workspace.id, u: member.id },
    );
    expect(transferOwnership).toEqual({ role: "admin" });
    const { workspace: seenByNewOwner } = await ok(
      member,
      `query ($id: ID!) { workspace(id: $id) { role memberCount } }`,
      { id: workspace.id },
    );
    expect(seenByNewOwner).toEqual({ role: "owner", memberCount: 2 });

    // The former owner leaves (removing themselves).
    expect(
      await ok(owner, `mutation ($w: ID!, $u: ID!) { removeMember(workspaceId: $w, userId: $u) }`, {
        w: workspace.id,
        u: owner.id,
      }),
    ).toEqual({ removeMember: true });
    const gone = await gql(t.app, owner.headers, `query ($id: ID!) { workspace(id: $id) { id } }`, {
      id: workspace.id,
    });
    expect(gone.errors[0]?.extensions?.code).toBe("not_found");
  });

  it("names bad ids by their argument, and answers strangers not found", async () => {
    const owner = await signUp(t.app);
    const stranger = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const bad = await gql(
      t.app,
      owner.headers,
      `mutation { changeMemberRole(workspaceId: "nope", userId: "${owner.id}", role: member) { role } }`,
    );
    expect(bad.errors[0]?.extensions).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "workspaceId", message: "must be a UUID" }],
    });
    const badUser = await gql(
      t.app,
      owner.headers,
      `mutation { removeMember(workspaceId: "${workspace.id}", userId: "me") }`,
    );
    expect(badUser.errors[0]?.extensions?.errors).toEqual([
      { path: "userId", message: "must be a UUID" },
    ]);
    for (const query of [
      `{ workspace(id: "${workspace.id}") { id } }`,
      `{ members(workspaceId: "${workspace.id}") { data { userId } } }`,
      `mutation { updateWorkspace(id: "${workspace.id}", input: { name: "Mine" }) { id } }`,
      `mutation { deleteWorkspace(id: "${workspace.id}") }`,
    ]) {
      const answer = await gql(t.app, stranger.headers, query);
      expect(answer.errors[0]?.extensions?.code, query).toBe("not_found");
    }
    const still = await call(t.app, owner, "GET", `/v1/workspaces/${workspace.id}`);
    expect(still.json()).toMatchObject({ name: workspace.name });
  });

  it("needs workspaces:admin for changes, as the REST routes do", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const writer = await createApiKey(t.app, owner, {
      name: "writer",
      scopes: ["tasks:read", "tasks:write"],
    });
    const headers = keyHeaders(writer);
    const read = await gql(t.app, headers, `{ workspace(id: "${workspace.id}") { name } }`);
    expect(read.data?.workspace).toEqual({ name: workspace.name });
    const change = await gql(
      t.app,
      headers,
      `mutation { updateWorkspace(id: "${workspace.id}", input: { name: "Keyed" }) { name } }`,
    );
    expect(change.errors[0]?.extensions?.code).toBe("forbidden");
    // The scope is checked first: bad arguments tell such a key nothing more.
    const badId = await gql(
      t.app,
      headers,
      `mutation { removeMember(workspaceId: "nope", userId: "${owner.id}") }`,
    );
    expect(badId.errors[0]?.extensions?.code).toBe("forbidden");
    const admin = await createApiKey(t.app, owner, {
      name: "admin",
      scopes: ["tasks:read", "workspaces:admin"],
    });
    const allowed = await gql(
      t.app,
      keyHeaders(admin),
      `mutation { updateWorkspace(id: "${workspace.id}", input: { name: "Keyed" }) { name } }`,
    );
    expect(allowed.errors).toEqual([]);
    expect(allowed.data?.updateWorkspace).toEqual({ name: "Keyed" });
  });
});
