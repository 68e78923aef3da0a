import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";
import { type Action, allows, permissionMatrix } from "./permissions.ts";
import { type WorkspaceRole, workspaceRoles } from "./schema.ts";
import { call, createWorkspace, join } from "./test-helpers.ts";

const t = useTestApp();

type Response = Awaited<ReturnType<App["inject"]>>;

/**
 * A fresh workspace with one user in every role, plus `target`, a viewer
 * that probes may act on. Users are reused across workspaces.
 */
type Team = {
  workspaceId: string;
  users: Record<WorkspaceRole, TestUser>;
  target: TestUser;
};

/**
 * One request per action, made by `actor`, that needs exactly that action's
 * permission. A new action in the matrix without a probe fails the suite.
 */
const probes: Record<Action, (team: Team, actor: WorkspaceRole) => Promise<Response>> = {
  "workspace.read": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "GET", `/v1/workspaces/${workspaceId}`),
  "task.create": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "POST", "/v1/tasks", { title: "Mine", workspaceId }),
  "task.change_own": async ({ workspaceId, users }, actor) => {
    const { owner } = users;
    const memberUrl = `/v1/workspaces/${workspaceId}/members/${users[actor].id}`;
    // A viewer's own task is one they created while they were a member.
    if (actor === "viewer") await call(t.app, owner, "PATCH", memberUrl, { role: "member" });
    const task = await createTask(t.app, users[actor], { title: "Own", workspaceId });
    if (actor === "viewer") await call(t.app, owner, "PATCH", memberUrl, { role: "viewer" });
    return call(t.app, users[actor], "PATCH", `/v1/tasks/${task.id}`, { title: "Own, edited" });
  },
  "task.change_any": async ({ workspaceId, users }, actor) => {
    const task = await createTask(t.app, users.owner, { title: "Theirs", workspaceId });
    return call(t.app, users[actor], "POST", `/v1/tasks/${task.id}/complete`);
  },
  "category.manage": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "POST", "/v1/categories", { name: "Errands", workspaceId }),
  "workspace.rename": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "PATCH", `/v1/workspaces/${workspaceId}`, { name: "Renamed" }),
  "webhook.manage": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "POST", "/v1/webhooks", {
      url: "https://hooks.example.com/taskpilot",
      events: ["task.*"],
      workspaceId,
    }),
  "invitation.manage": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "POST", `/v1/workspaces/${workspaceId}/invitations`, {
      email: "newcomer@example.com",
      role: "viewer",
    }),
  "member.remove": ({ workspaceId, users, target }, actor) =>
    call(t.app, users[actor], "DELETE", `/v1/workspaces/${workspaceId}/members/${target.id}`),
  "member.change_role": ({ workspaceId, users, target }, actor) =>
    call(t.app, users[actor], "PATCH", `/v1/workspaces/${workspaceId}/members/${target.id}`, {
      role: "member",
    }),
  "ownership.transfer": ({ workspaceId, users, target }, actor) =>
    call(t.app, users[actor], "POST", `/v1/workspaces/${workspaceId}/transfer`, {
      userId: target.id,
    }),
  "workspace.delete": ({ workspaceId, users }, actor) =>
    call(t.app, users[actor], "DELETE", `/v1/workspaces/${workspaceId}`),
};

let people: (Team["users"] & { target: TestUser }) | undefined;

async function freshTeam(): Promise<Team> {
  people ??= {
    owner: await signUp(t.app, "Owner"),
    admin: await signUp(t.app, "Admin"),
    member: await signUp(t.app, "Member"),
    viewer: await signUp(t.app, "Viewer"),
    target: await signUp(t.app, "Target"),
  };
  const { target, ...users } = people;
  const { id } = await createWorkspace(t.app, users.owner);
  for (const role of ["admin", "member", "viewer"] as const) {
    await join(t.app, users.owner, id, users[role], role);
  }
  await join(t.app, users.owner, id, target, "viewer");
  return { workspaceId: id, users, target };
}

describe("the permission matrix, over HTTP", () => {
  it("has a probe for every action", () => {
    expect(Object.keys(probes).sort()).toEqual(Object.keys(permissionMatrix).sort());
  });

  const cases = (Object.keys(permissionMatrix) as Action[]).flatMap((action) =>
    workspaceRoles.map((role) => ({ action, role, allowed: allows(role, action) })),
  );

  it.each(cases)("$action by $role: allowed $allowed", async ({ action, role, allowed }) => {
    const response = await probes[action](await freshTeam(), role);
    if (allowed) {
      expect(response.statusCode, response.body).toBeGreaterThanOrEqual(200);
      expect(response.statusCode, response.body).toBeLessThan(300);
    } else {
      expect(response.statusCode, response.body).toBe(403);
      expect(response.json()).toMatchObject({ code: "forbidden" });
    }
  });
});

/** The matrix as docs/security.md shows it. */
function renderMatrix(): string {
  const header = `| Action | Covers | ${workspaceRoles.join(" | ")} | Also |`;
  const divider = `|${" --- |".repeat(workspaceRoles.length + 3)}`;
  const rows = Object.entries(permissionMatrix).map(([action, permission]) => {
    const cells = workspaceRoles.map((role) => (allows(role, action as Action) ? "yes" : "no"));
    const rule = "rule" in permission ? permission.rule : "";
    return `| \`${action}\` | ${permission.covers} | ${cells.join(" | ")} | ${rule} |`;
  });
  return [header, divider, ...rows].join("\n");
}

describe("docs/security.md", () => {
  it("shows the permission matrix exactly as the code defines it", () => {
    const doc = readFileSync(new URL("../../../docs/security.md", import.meta.url), "utf8");
    const between =
      /<!-- permission-matrix:start -->\n([\s\S]*?)\n<!-- permission-matrix:end -->/.exec(doc);
    expect(between, "docs/security.md lacks the permission-matrix markers").not.toBeNull();
    expect(between?.[1], `paste this table into docs/security.md:\n${renderMatrix()}`).toBe(
      renderMatrix(),
    );
  });
});
