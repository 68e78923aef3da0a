import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import {
  type Activity,
  createCategory,
  createTask,
  expectProblem,
  expectValidationError,
  getTask,
  type Page,
  personalWorkspaceId,
} from "../../../test/tasks-helpers.ts";
import {
  accept,
  call,
  createWorkspace,
  type Invitation,
  invite,
  join,
  listMembers,
  type Workspace,
} from "./test-helpers.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

async function myActivity(user: Parameters<typeof call>[1]): Promise<Activity[]> {
  const response = await call(t.app, user, "GET", "/v1/me/activity?limit=100");
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Page<Activity>>().data;
}

describe("creating and reading workspaces", () => {
  it("creates a shared workspace with the caller as its only owner", async () => {
    const owner = await signUp(t.app);
    const response = await call(t.app, owner, "POST", "/v1/workspaces", { name: "  Team  " });
    expect(response.statusCode, response.body).toBe(201);
    const workspace = response.json<Workspace>();
    expect(workspace).toEqual({
      id: expect.any(String),
      name: "Team",
      personal: false,
      role: "owner",
      memberCount: 1,
      aiRedactPii: null,
      createdAt: "2026-03-01T12:00:00.000Z",
      updatedAt: "2026-03-01T12:00:00.000Z",
    });
    expect(response.headers.location).toBe(`/v1/workspaces/${workspace.id}`);
    expect(response.headers.etag).toBe('"1.1.owner"');
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({
      type: "workspace.created",
      workspaceId: workspace.id,
      entity: { type: "workspace", id: workspace.id, title: "Team" },
    });
  });

  it("lists the personal and shared workspaces the caller belongs to, page by page", async () => {
    const owner = await signUp(t.app);
    const other = await signUp(t.app);
    await createWorkspace(t.app, other, "Not mine");
    for (const name of ["A", "B", "C"]) {
      t.clock.advance(1_000);
      await createWorkspace(t.app, owner, name);
    }
    const all = (await call(t.app, owner, "GET", "/v1/workspaces")).json<Page<Workspace>>();
    expect(all.nextCursor).toBeNull();
    expect(all.data.map((workspace) => workspace.name).sort()).toEqual(["A", "B", "C", "Personal"]);
    expect(all.data.find((workspace) => workspace.personal)).toMatchObject({
      name: "Personal",
      role: "owner",
      memberCount: 1,
    });
    const walked: Workspace[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/workspaces?limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await call(t.app, owner, "GET", url)).json<Page<Workspace>>();
      walked.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    expect(walked).toEqual(all.data);
  });

  it("gets one workspace with an ETag that answers 304 and moves with the member count", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const url = `/v1/workspaces/${workspace.id}`;
    const response = await call(t.app, owner, "GET", url);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(workspace);
    const etag = String(response.headers.etag);
    const cached = await call(t.app, owner, "GET", url, undefined, { "if-none-match": etag });
    expect(cached.statusCode).toBe(304);
    await join(t.app, owner, workspace.id, await signUp(t.app), "member");
    const changed = await call(t.app, owner, "GET", url, undefined, { "if-none-match": etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.json<Workspace>().memberCount).toBe(2);
  });

  it("rejects an empty name, naming the field", async () => {
    const owner = await signUp(t.app);
    expectValidationError(
      await call(t.app, owner, "POST", "/v1/workspaces", { name: " " }),
      "name",
    );
    expectValidationError(
      await call(t.app, owner, "POST", "/v1/workspaces", { name: "a\u0007b" }),
      "name",
    );
  });
});

describe("renaming a workspace", () => {
  it("renames, bumps the ETag and records workspace.renamed", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner, "Old");
    const url = `/v1/workspaces/${workspace.id}`;
    t.clock.advance(60_000);
    const response = await call(t.app, owner, "PATCH", url, { name: "New" }, { "if-match": '"1"' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Workspace>()).toMatchObject({
      name: "New",
      updatedAt: new Date(t.clock.now()).toISOString(),
    });
    expect(response.headers.etag).toBe('"2.1.owner"');
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({
      type: "workspace.renamed",
      changes: { name: { from: "Old", to: "New" } },
    });
  });

  it("answers 412 for a stale If-Match", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner, "Old");
    const url = `/v1/workspaces/${workspace.id}`;
    await call(t.app, owner, "PATCH", url, { name: "Newer" });
    const stale = await call(t.app, owner, "PATCH", url, { name: "New" }, { "if-match": '"1"' });
    expectProblem(stale, 412, "precondition_failed");
  });
});

describe("deleting a workspace", () => {
  it("deletes it with its tasks and categories, and keeps the deleter's trail", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner, "Doomed");
    const category = await createCategory(t.app, owner, "Errands");
    const task = await createTask(t.app, owner, { title: "Gone", workspaceId: workspace.id });
    const stale = await call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}`, undefined, {
      "if-match": '"7"',
    });
    expectProblem(stale, 412, "precondition_failed");
    const response = await call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}`);
    expect(response.statusCode, response.body).toBe(204);
    const gone = await call(t.app, owner, "GET", `/v1/workspaces/${workspace.id}`);
    expectProblem(gone, 404, "not_found");
    expectProblem(await call(t.app, owner, "GET", `/v1/tasks/${task.id}`), 404, "not_found");
    // The personal workspace's category is untouched.
    expect((await call(t.app, owner, "GET", `/v1/categories/${category.id}`)).statusCode).toBe(200);
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({
      type: "workspace.deleted",
      workspaceId: null,
      entity: { type: "workspace", id: workspace.id, title: "Doomed" },
    });
  });

  it("refuses to delete a personal workspace (409)", async () => {
    const owner = await signUp(t.app);
    const personal = await personalWorkspaceId(t.app, owner);
    const response = await call(t.app, owner, "DELETE", `/v1/workspaces/${personal}`);
    expectProblem(response, 409, "conflict");
  });
});

describe("members", () => {
  it("lists members in joining order with name, email, role and joinedAt, page by page", async () => {
    const owner = await signUp(t.app, "Olive");
    const admin = await signUp(t.app, "Ada");
    const viewer = await signUp(t.app, "Vic");
    const workspace = await createWorkspace(t.app, owner);
    t.clock.advance(1_000);
    await join(t.app, owner, workspace.id, admin, "admin");
    t.clock.advance(1_000);
    await join(t.app, owner, workspace.id, viewer, "viewer");
    const members = await listMembers(t.app, viewer, workspace.id);
    expect(members).toEqual([
      {
        userId: owner.id,
        name: "Olive",
        email: owner.email,
        role: "owner",
        joinedAt: expect.any(String),
      },
      {
        userId: admin.id,
        name: "Ada",
        email: admin.email,
        role: "admin",
        joinedAt: expect.any(String),
      },
      {
        userId: viewer.id,
        name: "Vic",
        email: viewer.email,
        role: "viewer",
        joinedAt: expect.any(String),
      },
    ]);
    const url = `/v1/workspaces/${workspace.id}/members`;
    const first = (await call(t.app, owner, "GET", `${url}?limit=2`)).json<
      Page<{ userId: string }>
    >();
    expect(first.data.map((entry) => entry.userId)).toEqual([owner.id, admin.id]);
    const second = (
      await call(t.app, owner, "GET", `${url}?limit=2&cursor=${first.nextCursor}`)
    ).json<Page<{ userId: string }>>();
    expect(second).toEqual({
      data: [expect.objectContaining({ userId: viewer.id })],
      nextCursor: null,
    });
  });

  it("changes a role (owners) and records member.role_changed", async () => {
    const owner = await signUp(t.app);
    const someone = await signUp(t.app, "Sam");
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, someone, "member");
    const url = `/v1/workspaces/${workspace.id}/members/${someone.id}`;
    const response = await call(t.app, owner, "PATCH", url, { role: "admin" });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ userId: someone.id, role: "admin", name: "Sam" });
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({
      type: "member.role_changed",
      workspaceId: workspace.id,
      entity: { type: "user", id: someone.id, title: "Sam" },
      changes: { role: { from: "member", to: "admin" } },
    });
    expectValidationError(await call(t.app, owner, "PATCH", url, { role: "boss" }), "role");
  });

  it("removes a member (member.removed) and lets a member leave (member.left)", async () => {
    const owner = await signUp(t.app);
    const removed = await signUp(t.app);
    const leaver = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, removed, "member");
    await join(t.app, owner, workspace.id, leaver, "viewer");
    const base = `/v1/workspaces/${workspace.id}/members`;
    expect((await call(t.app, owner, "DELETE", `${base}/${removed.id}`)).statusCode).toBe(204);
    expect((await call(t.app, leaver, "DELETE", `${base}/${leaver.id}`)).statusCode).toBe(204);
    expect((await listMembers(t.app, owner, workspace.id)).map((entry) => entry.userId)).toEqual([
      owner.id,
    ]);
    const [removal] = await myActivity(owner);
    expect(removal).toMatchObject({ type: "member.removed", entity: { id: removed.id } });
    const [leaving] = await myActivity(leaver);
    expect(leaving).toMatchObject({ type: "member.left", workspaceId: workspace.id });
    const again = await call(t.app, owner, "DELETE", `${base}/${removed.id}`);
    expectProblem(again, 404, "not_found");
  });

  it("transfers ownership: the member becomes owner and the caller admin", async () => {
    const owner = await signUp(t.app);
    const heir = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, heir, "viewer");
    const url = `/v1/workspaces/${workspace.id}/transfer`;
    const response = await call(t.app, owner, "POST", url, { userId: heir.id });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Workspace>().role).toBe("admin");
    const roles = (await listMembers(t.app, heir, workspace.id)).map((entry) => entry.role);
    expect(roles).toEqual(["admin", "owner"]);
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({
      type: "workspace.ownership_transferred",
      changes: { owner: { from: owner.id, to: heir.id }, newOwnerPreviousRole: "viewer" },
    });
    // The new owner may now delete it; the old one may not.
    expectProblem(
      await call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}`),
      403,
      "forbidden",
    );
    expect((await call(t.app, heir, "DELETE", `/v1/workspaces/${workspace.id}`)).statusCode).toBe(
      204,
    );
  });

  it("answers 422 naming userId when transferring to a non-member, 409 to oneself", async () => {
    const owner = await signUp(t.app);
    const stranger = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const url = `/v1/workspaces/${workspace.id}/transfer`;
    const problem = expectProblem(
      await call(t.app, owner, "POST", url, { userId: stranger.id }),
      422,
      "invalid_reference",
    );
    expect(problem.errors?.[0]?.path).toBe("userId");
    expectProblem(await call(t.app, owner, "POST", url, { userId: owner.id }), 409, "conflict");
  });
});

describe("invitations", () => {
  it("invites by email: 201 with the link when no SMTP is configured, and member.invited", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const response = await call(
      t.app,
      owner,
      "POST",
      `/v1/workspaces/${workspace.id}/invitations`,
      {
        email: "New.Person@Example.com",
        role: "viewer",
      },
    );
    expect(response.statusCode, response.body).toBe(201);
    const invitation = response.json<Invitation & { acceptUrl: string }>();
    expect(invitation).toEqual({
      id: expect.any(String),
      workspaceId: workspace.id,
      email: "new.person@example.com",
      role: "viewer",
      status: "pending",
      expiresAt: new Date(t.clock.now().getTime() + 7 * 24 * 3600_000).toISOString(),
      inviterId: owner.id,
      createdAt: t.clock.now().toISOString(),
      delivery: "link",
      acceptUrl: `http://localhost:3000/invitations/${invitation.id}`,
    });
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({
      type: "member.invited",
      changes: { email: "new.person@example.com", role: "viewer" },
    });
  });

  it("lists pending invitations and revokes one (invitation.revoked)", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const first = await invite(t.app, owner, workspace.id, "first@example.com");
    const second = await invite(t.app, owner, workspace.id, "second@example.com", "admin");
    const url = `/v1/workspaces/${workspace.id}/invitations`;
    const listed = (await call(t.app, owner, "GET", url)).json<Page<Invitation>>();
    expect(listed.data.map((entry) => entry.id)).toEqual([first.id, second.id]);
    expect(listed.data[0]).not.toHaveProperty("acceptUrl");
    expect((await call(t.app, owner, "DELETE", `${url}/${first.id}`)).statusCode).toBe(204);
    const after = (await call(t.app, owner, "GET", url)).json<Page<Invitation>>();
    expect(after.data.map((entry) => entry.id)).toEqual([second.id]);
    expectProblem(await call(t.app, owner, "DELETE", `${url}/${first.id}`), 409, "conflict");
    const [event] = await myActivity(owner);
    expect(event).toMatchObject({ type: "invitation.revoked", entity: { id: first.id } });
  });

  it("accepting joins with the invited role (member.joined); twice is 409", async () => {
    const owner = await signUp(t.app);
    const invitee = await signUp(t.app, "Ines");
    const workspace = await createWorkspace(t.app, owner, "Team");
    const invitation = await invite(
      t.app,
      owner,
      workspace.id,
      invitee.email.toUpperCase(),
      "admin",
    );
    const response = await accept(t.app, invitee, invitation.id);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Workspace>()).toMatchObject({
      id: workspace.id,
      name: "Team",
      role: "admin",
      memberCount: 2,
    });
    const [event] = await myActivity(invitee);
    expect(event).toMatchObject({
      type: "member.joined",
      workspaceId: workspace.id,
      entity: { type: "user", id: invitee.id, title: "Ines" },
      changes: { role: "admin", invitationId: invitation.id },
    });
    expectProblem(await accept(t.app, invitee, invitation.id), 409, "conflict");
    const pending = await call(t.app, owner, "GET", `/v1/workspaces/${workspace.id}/invitations`);
    expect(pending.json<Page<Invitation>>().data).toEqual([]);
  });

  it("refuses to invite an existing member or an address already invited (409 naming email)", async () => {
    const owner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const url = `/v1/workspaces/${workspace.id}/invitations`;
    const self = await call(t.app, owner, "POST", url, { email: owner.email, role: "member" });
    expect(expectProblem(self, 409, "conflict").errors?.[0]?.path).toBe("email");
    await invite(t.app, owner, workspace.id, "twice@example.com");
    const again = await call(t.app, owner, "POST", url, {
      email: "twice@example.com",
      role: "viewer",
    });
    expect(expectProblem(again, 409, "conflict").errors?.[0]?.path).toBe("email");
    const owners = await call(t.app, owner, "POST", url, { email: "x@example.com", role: "owner" });
    expectValidationError(owners, "role");
  });

  it("lets an accepted member see the workspace's tasks, and a removed one no longer", async () => {
    const owner = await signUp(t.app);
    const helper = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const task = await createTask(t.app, owner, { title: "Shared", workspaceId: workspace.id });
    expectProblem(await call(t.app, helper, "GET", `/v1/tasks/${task.id}`), 404, "not_found");
    await join(t.app, owner, workspace.id, helper, "member");
    expect((await getTask(t.app, helper, task.id)).title).toBe("Shared");
    await call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}/members/${helper.id}`);
    expectProblem(await call(t.app, helper, "GET", `/v1/tasks/${task.id}`), 404, "not_found");
    const list = await call(t.app, helper, "GET", `/v1/tasks?workspaceId=${workspace.id}`);
    expectProblem(list, 404, "not_found");
  });
});
