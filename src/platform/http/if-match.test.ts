import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "../../modules/api-keys/test-helpers.ts";
import type { Profile } from "../../modules/profile/contracts.ts";
import { call, createWorkspace, join, listMembers } from "../../modules/workspaces/test-helpers.ts";

const t = useTestApp();

type Document = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

describe("If-Match on a resource without an entity tag", () => {
  it("answers 412 for any listed tag and changes nothing; If-Match: * goes through", async () => {
    const owner = await signUp(t.app);
    const memberUser = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, memberUser, "member");
    const members = `/v1/workspaces/${workspace.id}/members/${memberUser.id}`;
    for (const tag of ['"1"', 'W/"1"', '"stale", "2"']) {
      const refused = await call(
        t.app,
        owner,
        "PATCH",
        members,
        { role: "viewer" },
        {
          "if-match": tag,
        },
      );
      expect(expectProblem(refused, 412, "precondition_failed").detail).toBe(
        "PATCH /v1/workspaces/:id/members/:userId has no entity tag to match: send no If-Match, or If-Match: *",
      );
    }
    const roles = await listMembers(t.app, owner, workspace.id);
    expect(roles.find((entry) => entry.userId === memberUser.id)?.role).toBe("member");
    const any = await call(t.app, owner, "PATCH", members, { role: "viewer" }, { "if-match": "*" });
    expect(any.statusCode, any.body).toBe(200);

    const key = await createApiKey(t.app, owner, { scopes: ["tasks:read"] });
    const url = `/v1/api-keys/${key.id}`;
    expectProblem(
      await call(t.app, owner, "DELETE", url, undefined, { "if-match": '"1"' }),
      412,
      "precondition_failed",
    );
    const stillWorks = await t.app.inject({ url: "/v1/tasks", headers: keyHeaders(key) });
    expect(stillWorks.statusCode).toBe(200);

    const profile = await call(
      t.app,
      owner,
      "PATCH",
      "/v1/me",
      { timezone: "Asia/Tokyo" },
      {
        "if-match": '"1"',
      },
    );
    expectProblem(profile, 412, "precondition_failed");
    const me = (await call(t.app, owner, "GET", "/v1/me")).json<Profile>();
    expect(me.timezone).not.toBe("Asia/Tokyo");
  });

  it("documents 412 on every /v1 PATCH and DELETE", async () => {
    const document = (await t.app.inject({ url: "/openapi.json" })).json<Document>();
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([method]) => method === "patch" || method === "delete")
          .map(([method, operation]) => ({ name: `${method} ${path}`, operation })),
      );
    expect(operations.length).toBeGreaterThan(8);
    for (const { name, operation } of operations) {
      expect(Object.keys(operation.responses), name).toContain("412");
    }
  });
});
