import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { makeAdmin, meStatus, postAuth, testPassword } from "../../../test/auth-helpers.ts";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  deleteTask,
  expectProblem,
  expectValidationError,
  personalWorkspaceId,
  taskAction,
} from "../../../test/tasks-helpers.ts";
import { user as userTable } from "../../platform/auth/schema.ts";
import { activityEvents } from "../activity/schema.ts";
import type { SupportSnapshot } from "./contracts.ts";

const t = useTestApp();

async function adminUser(): Promise<TestUser> {
  const admin = await signUp(t.app, "Ada Admin");
  await makeAdmin(t.app, admin, t.database.db);
  return admin;
}

function listUsers(headers: Record<string, string>, query = "") {
  return t.app.inject({ url: `/api/auth/admin/list-users${query}`, headers });
}

describe("system admins: users", () => {
  it("lets an admin list and search users", async () => {
    const admin = await adminUser();
    const someone = await signUp(t.app, "Searchable Person");
    const response = await listUsers(
      admin.headers,
      `?searchValue=${encodeURIComponent(someone.email)}&searchField=email`,
    );
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ users: Array<{ id: string; role: string }>; total: number }>();
    expect(body.users).toEqual([expect.objectContaining({ id: someone.id, role: "user" })]);
    expect(body.total).toBe(1);
    const page = (await listUsers(admin.headers, "?limit=1")).json<{ users: unknown[] }>();
    expect(page.users).toHaveLength(1);
  });

  it("answers 403 to a user who is not an admin, and 401 without a session", async () => {
    const user = await signUp(t.app);
    expectProblem(await listUsers(user.headers), 403, "forbidden");
    expectProblem(await listUsers({}), 401, "unauthenticated");
    expectValidationError(await listUsers(user.headers, "?limit=1000"), "limit");
  });

  it("ends a banned user's sessions at once, even one this instance had cached, and keeps them out", async () => {
    const admin = await adminUser();
    const target = await signUp(t.app);
    expect(await meStatus(t.app, target.headers)).toBe(200);

    const banned = await postAuth(
      t.app,
      "admin/ban-user",
      { userId: target.id, banReason: "spam" },
      admin.headers,
    );
    expect(banned.statusCode, banned.body).toBe(200);
    expect(banned.json()).toMatchObject({
      user: { id: target.id, banned: true, banReason: "spam" },
    });
    expect(await meStatus(t.app, target.headers)).toBe(401);

    const signIn = await postAuth(t.app, "sign-in/email", {
      email: target.email,
      password: testPassword,
    });
    expectProblem(signIn, 403, "forbidden");

    const unbanned = await postAuth(
      t.app,
      "admin/unban-user",
      { userId: target.id },
      admin.headers,
    );
    expect(unbanned.statusCode, unbanned.body).toBe(200);
    const again = await postAuth(t.app, "sign-in/email", {
      email: target.email,
      password: testPassword,
    });
    expect(again.statusCode, again.body).toBe(200);
  });

  it("lets only admins ban, and not themselves", async () => {
    const admin = await adminUser();
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    expectProblem(
      await postAuth(t.app, "admin/ban-user", { userId: other.id }, user.headers),
      403,
      "forbidden",
    );
    expect(await meStatus(t.app, other.headers)).toBe(200);
    expect(
      (await postAuth(t.app, "admin/ban-user", { userId: admin.id }, admin.headers)).statusCode,
    ).toBe(400);
    expectValidationError(
      await postAuth(t.app, "admin/ban-user", { userId: "not-a-uuid" }, admin.headers),
      "userId",
    );
  });

  it("gives admins no way to act as someone else or read their sessions", async () => {
    const admin = await adminUser();
    const victim = await signUp(t.app);
    const refused = [
      ["admin/impersonate-user", { userId: victim.id }],
      ["admin/set-user-password", { userId: victim.id, newPassword: "taken over 12345" }],
      ["admin/list-user-sessions", { userId: victim.id }],
      ["admin/set-role", { userId: victim.id, role: "admin" }],
      ["admin/update-user", { userId: victim.id, data: { email: "mine@example.com" } }],
      ["admin/create-user", { email: "new@example.com", password: "x".repeat(12), name: "N" }],
    ] as const;
    for (const [path, body] of refused) {
      expectProblem(await postAuth(t.app, path, body, admin.headers), 403, "forbidden");
    }
    const [row] = await t.database.db.select().from(userTable).where(eq(userTable.id, victim.id));
    expect(row).toMatchObject({ email: victim.email, role: "user" });
    await postAuth(t.app, "sign-in/email", { email: victim.email, password: testPassword }).then(
      (response) => expect(response.statusCode).toBe(200),
    );
  });

  it("records promotion to admin as activity of the system", async () => {
    const admin = await adminUser();
    const [event] = await t.database.db
      .select()
      .from(activityEvents)
      .where(
        and(eq(activityEvents.entityId, admin.id), eq(activityEvents.type, "user.role_changed")),
      );
    expect(event).toMatchObject({
      actorType: "system",
      workspaceId: null,
      changes: { role: { from: "user", to: "admin" } },
    });
  });
});

describe("POST /v1/admin/workspaces/{id}/support-access", () => {
  /** An owner with a personal workspace holding open, completed and deleted tasks. */
  async function workspaceWithTasks() {
    const owner = await signUp(t.app, "Olivia Owner");
    const workspaceId = await personalWorkspaceId(t.app, owner);
    const open = [
      await createTask(t.app, owner, { title: "Open one" }),
      await createTask(t.app, owner, { title: "Open two" }),
    ];
    const done = await createTask(t.app, owner, { title: "Done" });
    expect((await taskAction(t.app, owner, done.id, "complete")).statusCode).toBe(200);
    const gone = await createTask(t.app, owner, { title: "Gone" });
    expect((await deleteTask(t.app, owner, gone.id)).statusCode).toBe(204);
    return { owner, workspaceId, open };
  }

  const supportAccess = (user: TestUser, workspaceId: string, payload: unknown) =>
    t.app.inject({
      method: "POST",
      url: `/v1/admin/workspaces/${workspaceId}/support-access`,
      headers: user.headers,
      payload: payload as Record<string, unknown>,
    });

  const supportEvents = (workspaceId: string) =>
    t.database.db
      .select()
      .from(activityEvents)
      .where(
        and(
          eq(activityEvents.workspaceId, workspaceId),
          eq(activityEvents.type, "workspace.support_access"),
        ),
      );

  it("shows an admin nothing of a workspace they are not in through the normal routes", async () => {
    const admin = await adminUser();
    const { workspaceId, open } = await workspaceWithTasks();
    const task = await t.app.inject({ url: `/v1/tasks/${open[0]?.id}`, headers: admin.headers });
    expectProblem(task, 404, "not_found");
    const list = await t.app.inject({
      url: `/v1/tasks?workspaceId=${workspaceId}`,
      headers: admin.headers,
    });
    expectProblem(list, 404, "not_found");
  });

  it("returns a read-only snapshot and writes the audit event with the reason", async () => {
    const admin = await adminUser();
    const { owner, workspaceId, open } = await workspaceWithTasks();
    const reason = "Ticket #4711: owner cannot see their tasks";
    const response = await supportAccess(admin, workspaceId, { reason });
    expect(response.statusCode, response.body).toBe(200);
    const snapshot = response.json<SupportSnapshot>();
    expect(snapshot.workspace).toMatchObject({ id: workspaceId, name: "Personal" });
    expect(snapshot.members).toEqual([
      { userId: owner.id, name: "Olivia Owner", email: owner.email, role: "owner" },
    ]);
    expect(snapshot.openTaskCount).toBe(2);
    expect(snapshot.tasks.map((task) => task.id)).toEqual(open.map((task) => task.id));

    const events = await supportEvents(workspaceId);
    expect(events).toEqual([
      expect.objectContaining({
        actorType: "user",
        actorId: admin.id,
        entityType: "workspace",
        entityId: workspaceId,
        changes: { reason },
      }),
    ]);
    // The admin's own trail shows it too.
    const mine = await t.app.inject({ url: "/v1/me/activity", headers: admin.headers });
    expect(
      mine.json<{ data: Array<{ type: string }> }>().data.map((event) => event.type),
    ).toContain("workspace.support_access");
    // Nothing else opened up: the workspace's tasks are still out of reach.
    const task = await t.app.inject({ url: `/v1/tasks/${open[0]?.id}`, headers: admin.headers });
    expect(task.statusCode).toBe(404);
  });

  it("answers 403 to anyone who is not a system admin, the workspace's owner included, and writes nothing", async () => {
    const { owner, workspaceId } = await workspaceWithTasks();
    const stranger = await signUp(t.app);
    for (const user of [stranger, owner]) {
      expectProblem(
        await supportAccess(user, workspaceId, { reason: "curious" }),
        403,
        "forbidden",
      );
    }
    expect(await supportEvents(workspaceId)).toEqual([]);
  });

  it("answers 404 for a workspace that does not exist and 400 without a reason", async () => {
    const admin = await adminUser();
    const { workspaceId } = await workspaceWithTasks();
    expectProblem(
      await supportAccess(admin, "01900000-0000-7000-8000-000000000000", { reason: "x" }),
      404,
      "not_found",
    );
    expectValidationError(await supportAccess(admin, workspaceId, {}), "reason");
    expectValidationError(await supportAccess(admin, workspaceId, { reason: "   " }), "reason");
    expectValidationError(await supportAccess(admin, "nope", { reason: "x" }), "id");
    expect(await supportEvents(workspaceId)).toEqual([]);
  });

  it("answers 401 without credentials", async () => {
    const { workspaceId } = await workspaceWithTasks();
    const response = await t.app.inject({
      method: "POST",
      url: `/v1/admin/workspaces/${workspaceId}/support-access`,
      payload: { reason: "x" },
    });
    expectProblem(response, 401, "unauthenticated");
  });
});
