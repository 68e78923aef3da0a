import { v7 as uuidv7 } from "uuid";
import { expect } from "vitest";
import type { App } from "../../src/app.ts";
import { activityEvents } from "../../src/modules/activity/schema.ts";
import { notifications } from "../../src/modules/notifications/schema.ts";
import { member, type WorkspaceRole, workspace } from "../../src/modules/workspaces/schema.ts";
import type { DatabaseHandle } from "../../src/platform/db/pool.ts";
import { makeAdmin } from "../auth-helpers.ts";
import { signUp, type TestUser } from "../harness.ts";
import { type Category, createCategory, createTask, type Task } from "../tasks-helpers.ts";

/**
 * The cast of the security suite: one shared workspace with a member of every
 * role, and an outsider who belongs to none of it. Resources are made fresh
 * per request by the owner, so a destructive request never changes what the
 * next one sees.
 */
export type World = {
  app: App;
  /** The shared workspace that task and category requests use. */
  workspaceId: string;
  /** A new workspace with the same cast, for requests that change or end one. */
  freshWorkspace: () => Promise<string>;
  /** A pending invitation, made by the owner in a fresh workspace. */
  invitation: (email?: string) => Promise<{ workspaceId: string; id: string }>;
  /** Every workspace role, an outsider, and a system admin (in no workspace of the suite). */
  users: Record<WorkspaceRole | "outsider" | "systemAdmin", TestUser>;
  task: () => Promise<Task>;
  completedTask: () => Promise<Task>;
  deletedTask: () => Promise<Task>;
  category: () => Promise<Category>;
  /** A notification of `user`'s own, written straight to the tables (not via the notifier). */
  notification: (user: TestUser) => Promise<string>;
};

/**
 * Memberships are written straight to the tables: the suite checks the
 * access rules, not the invitation flow, and must not depend on it.
 */
async function sharedWorkspace(
  database: DatabaseHandle,
  members: Array<[TestUser, WorkspaceRole]>,
): Promise<string> {
  const id = uuidv7();
  await database.db.insert(workspace).values({ id, name: "Security suite", slug: `suite-${id}` });
  await database.db
    .insert(member)
    .values(
      members.map(([user, role]) => ({ id: uuidv7(), organizationId: id, userId: user.id, role })),
    );
  return id;
}

export async function buildWorld(app: App, database: DatabaseHandle): Promise<World> {
  const users = {
    owner: await signUp(app, "Owner"),
    admin: await signUp(app, "Admin"),
    member: await signUp(app, "Member"),
    viewer: await signUp(app, "Viewer"),
    outsider: await signUp(app, "Outsider"),
    systemAdmin: await signUp(app, "System admin"),
  };
  await makeAdmin(app, users.systemAdmin, database.db);
  const freshWorkspace = () =>
    sharedWorkspace(database, [
      [users.owner, "owner"],
      [users.admin, "admin"],
      [users.member, "member"],
      [users.viewer, "viewer"],
    ]);
  const workspaceId = await freshWorkspace();
  const owner = users.owner;
  const task = () => createTask(app, owner, { title: "Owner's task", workspaceId });
  const act = async (path: string, method: "POST" | "DELETE", expected: number) => {
    const response = await app.inject({ method, url: path, headers: owner.headers });
    expect(response.statusCode, response.body).toBe(expected);
  };
  return {
    app,
    workspaceId,
    freshWorkspace,
    invitation: async (email = `invitee-${uuidv7()}@example.com`) => {
      const id = await freshWorkspace();
      const response = await app.inject({
        method: "POST",
        url: `/v1/workspaces/${id}/invitations`,
        headers: owner.headers,
        payload: { email, role: "member" },
      });
      expect(response.statusCode, response.body).toBe(201);
      return { workspaceId: id, id: response.json<{ id: string }>().id };
    },
    users,
    task,
    completedTask: async () => {
      const created = await task();
      await act(`/v1/tasks/${created.id}/complete`, "POST", 200);
      return created;
    },
    deletedTask: async () => {
      const created = await task();
      await act(`/v1/tasks/${created.id}`, "DELETE", 204);
      return created;
    },
    category: () => createCategory(app, owner, `Category ${uuidv7()}`, workspaceId),
    notification: async (user) => {
      const eventId = uuidv7();
      await database.db.insert(activityEvents).values({
        id: eventId,
        actorType: "system",
        type: "member.removed",
        entityType: "user",
        entityId: user.id,
        entityTitle: "Suite",
        createdAt: new Date(),
      });
      const id = uuidv7();
      await database.db.insert(notifications).values({
        id,
        userId: user.id,
        eventId,
        reason: "membership",
        createdAt: new Date(),
      });
      return id;
    },
  };
}
