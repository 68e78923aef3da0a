import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  getTask,
  type Page,
  personalWorkspaceId,
  type Task,
} from "../../../test/tasks-helpers.ts";
import type { Activity } from "../activity/contracts.ts";
import {
  accept,
  call,
  createWorkspace,
  type Invitation,
  invite,
  join,
  listMembers,
} from "./test-helpers.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

const day = 24 * 60 * 60 * 1000;

describe("another user's workspace", () => {
  it("answers 404 on every workspace route, exactly like a missing one", async () => {
    const owner = await signUp(t.app);
    const stranger = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const invitation = await invite(t.app, owner, workspace.id, "someone@example.com");
    const missing = randomUUID();
    for (const id of [workspace.id, missing]) {
      const base = `/v1/workspaces/${id}`;
      const requests: Array<[Parameters<typeof call>[2], string, Record<string, unknown>?]> = [
        ["GET", base],
        ["PATCH", base, { name: "Mine now" }],
        ["DELETE", base],
        ["POST", `${base}/transfer`, { userId: stranger.id }],
        ["GET", `${base}/members`],
        ["PATCH", `${base}/members/${owner.id}`, { role: "viewer" }],
        ["DELETE", `${base}/members/${owner.id}`],
        ["DELETE", `${base}/members/${stranger.id}`],
        ["POST", `${base}/invitations`, { email: stranger.email, role: "admin" }],
        ["GET", `${base}/invitations`],
        ["DELETE", `${base}/invitations/${invitation.id}`],
      ];
      for (const [method, url, body] of requests) {
        const response = await call(t.app, stranger, method, url, body);
        const problem = expectProblem(response, 404, "not_found");
        expect(problem.detail, `${method} ${url}`).toBe("Workspace not found");
      }
    }
    const listed = await call(t.app, stranger, "GET", "/v1/workspaces");
    expect(listed.json<Page<{ id: string }>>().data.map((entry) => entry.id)).not.toContain(
      workspace.id,
    );
  });

  it("hides its tasks, categories and activity from non-members", async () => {
    const owner = await signUp(t.app);
    const stranger = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const task = await createTask(t.app, owner, { title: "Private", workspaceId: workspace.id });
    const list = await call(t.app, stranger, "GET", `/v1/categories?workspaceId=${workspace.id}`);
    expectProblem(list, 404, "not_found");
    expectProblem(
      await call(t.app, stranger, "GET", `/v1/tasks/${task.id}/activity`),
      404,
      "not_found",
    );
  });
});

describe("the last owner", () => {
  it("cannot leave, be demoted or be removed; with a second owner they can", async () => {
    const owner = await signUp(t.app);
    const second = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const self = `/v1/workspaces/${workspace.id}/members/${owner.id}`;
    expectProblem(await call(t.app, owner, "DELETE", self), 409, "conflict");
    expectProblem(await call(t.app, owner, "PATCH", self, { role: "admin" }), 409, "conflict");
    await join(t.app, owner, workspace.id, second, "owner");
    // Two owners: either may step down or go, but never the one left.
    expect((await call(t.app, owner, "PATCH", self, { role: "admin" })).statusCode).toBe(200);
    const secondUrl = `/v1/workspaces/${workspace.id}/members/${second.id}`;
    expectProblem(await call(t.app, second, "DELETE", secondUrl), 409, "conflict");
    expectProblem(await call(t.app, owner, "DELETE", secondUrl), 403, "forbidden");
    expect((await call(t.app, owner, "DELETE", self)).statusCode).toBe(204);
    expect((await listMembers(t.app, second, workspace.id)).map((entry) => entry.role)).toEqual([
      "owner",
    ]);
  });

  it("survives two owners leaving at the same moment: one goes, the other stays (409)", async () => {
    const owner = await signUp(t.app);
    const second = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, second, "owner");
    const leave = (user: TestUser) =>
      call(t.app, user, "DELETE", `/v1/workspaces/${workspace.id}/members/${user.id}`);
    const answers = await Promise.all([leave(owner), leave(second)]);
    expect(answers.map((response) => response.statusCode).sort()).toEqual([204, 409]);
    const stayer = answers[0]?.statusCode === 409 ? owner : second;
    expect((await listMembers(t.app, stayer, workspace.id)).map((entry) => entry.role)).toEqual([
      "owner",
    ]);
  });

  it("an owner may remove another owner", async () => {
    const owner = await signUp(t.app);
    const coOwner = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, coOwner, "owner");
    const url = `/v1/workspaces/${workspace.id}/members/${coOwner.id}`;
    expect((await call(t.app, owner, "DELETE", url)).statusCode).toBe(204);
  });
});

describe("personal workspaces", () => {
  it("take no invitations, transfers, leaving or deletion (409), but can be renamed", async () => {
    const owner = await signUp(t.app);
    const friend = await signUp(t.app);
    const personal = await personalWorkspaceId(t.app, owner);
    const base = `/v1/workspaces/${personal}`;
    const refused: Array<[Parameters<typeof call>[2], string, Record<string, unknown>?]> = [
      ["POST", `${base}/invitations`, { email: friend.email, role: "member" }],
      ["POST", `${base}/transfer`, { userId: owner.id }],
      ["DELETE", `${base}/members/${owner.id}`],
      ["DELETE", base],
    ];
    for (const [method, url, body] of refused) {
      expectProblem(await call(t.app, owner, method, url, body), 409, "conflict");
    }
    const renamed = await call(t.app, owner, "PATCH", base, { name: "My stuff" });
    expect(renamed.json()).toMatchObject({ name: "My stuff", personal: true });
  });
});

describe("acting on other people's roles", () => {
  async function team() {
    const owner = await signUp(t.app);
    const admin = await signUp(t.app);
    const otherAdmin = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, admin, "admin");
    await join(t.app, owner, workspace.id, otherAdmin, "admin");
    return { owner, admin, otherAdmin, workspace };
  }

  it("admins invite members and viewers but not admins; owners invite admins", async () => {
    const { owner, admin, workspace } = await team();
    const url = `/v1/workspaces/${workspace.id}/invitations`;
    const refused = await call(t.app, admin, "POST", url, {
      email: "a@example.com",
      role: "admin",
    });
    expect(expectProblem(refused, 403, "forbidden").errors?.[0]?.path).toBe("role");
    await invite(t.app, admin, workspace.id, "m@example.com", "member");
    await invite(t.app, admin, workspace.id, "v@example.com", "viewer");
    const forAdmin = await invite(t.app, owner, workspace.id, "a@example.com", "admin");
    const member = await signUp(t.app);
    await join(t.app, owner, workspace.id, member, "member");
    expectProblem(await call(t.app, member, "GET", url), 403, "forbidden");
    expect((await call(t.app, admin, "GET", url)).statusCode).toBe(200);
    const revoke = `${url}/${forAdmin.id}`;
    expectProblem(await call(t.app, admin, "DELETE", revoke), 403, "forbidden");
    expect((await call(t.app, owner, "DELETE", revoke)).statusCode).toBe(204);
  });

  it("admins remove members below admin, not other admins or owners", async () => {
    const { owner, admin, otherAdmin, workspace } = await team();
    const viewer = await signUp(t.app);
    await join(t.app, owner, workspace.id, viewer, "viewer");
    const url = (user: TestUser) => `/v1/workspaces/${workspace.id}/members/${user.id}`;
    expectProblem(await call(t.app, admin, "DELETE", url(otherAdmin)), 403, "forbidden");
    expectProblem(await call(t.app, admin, "DELETE", url(owner)), 403, "forbidden");
    expectProblem(
      await call(t.app, admin, "PATCH", url(viewer), { role: "member" }),
      403,
      "forbidden",
    );
    expect((await call(t.app, admin, "DELETE", url(viewer))).statusCode).toBe(204);
    expect((await call(t.app, owner, "DELETE", url(otherAdmin))).statusCode).toBe(204);
  });
});

describe("invitations", () => {
  it("expire after 7 days: not listed, not acceptable (409), and the address can be invited again", async () => {
    const owner = await signUp(t.app);
    const invitee = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const invitation = await invite(t.app, owner, workspace.id, invitee.email);
    const url = `/v1/workspaces/${workspace.id}/invitations`;
    t.clock.advance(7 * day - 1_000);
    expect((await call(t.app, owner, "GET", url)).json<Page<Invitation>>().data).toHaveLength(1);
    t.clock.advance(1_000);
    expect((await call(t.app, owner, "GET", url)).json<Page<Invitation>>().data).toEqual([]);
    const late = expectProblem(await accept(t.app, invitee, invitation.id), 409, "conflict");
    expect(late.detail).toContain("expired");
    const fresh = await invite(t.app, owner, workspace.id, invitee.email);
    expect((await accept(t.app, invitee, fresh.id)).statusCode).toBe(200);
  });

  it("answers 404 to anyone but the invited address, and 409 once revoked", async () => {
    const owner = await signUp(t.app);
    const invitee = await signUp(t.app);
    const eavesdropper = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const invitation = await invite(t.app, owner, workspace.id, invitee.email, "admin");
    for (const user of [eavesdropper, owner]) {
      const response = await accept(t.app, user, invitation.id);
      expect(expectProblem(response, 404, "not_found").detail).toBe("Invitation not found");
    }
    expectProblem(await accept(t.app, invitee, randomUUID()), 404, "not_found");
    await call(
      t.app,
      owner,
      "DELETE",
      `/v1/workspaces/${workspace.id}/invitations/${invitation.id}`,
    );
    const revoked = expectProblem(await accept(t.app, invitee, invitation.id), 409, "conflict");
    expect(revoked.detail).toContain("revoked");
    expect((await listMembers(t.app, owner, workspace.id)).map((entry) => entry.userId)).toEqual([
      owner.id,
    ]);
  });

  it("bring a removed member back only through a new invitation", async () => {
    const owner = await signUp(t.app);
    const invitee = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    const first = await invite(t.app, owner, workspace.id, invitee.email, "viewer");
    expect((await accept(t.app, invitee, first.id)).statusCode).toBe(200);
    const url = `/v1/workspaces/${workspace.id}/invitations`;
    const member = await call(t.app, owner, "POST", url, { email: invitee.email, role: "member" });
    expectProblem(member, 409, "conflict");
    await call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}/members/${invitee.id}`);
    expectProblem(await accept(t.app, invitee, first.id), 409, "conflict");
    const second = await invite(t.app, owner, workspace.id, invitee.email, "member");
    const rejoined = await accept(t.app, invitee, second.id);
    expect(rejoined.json()).toMatchObject({ id: workspace.id, role: "member" });
  });
});

describe("sub-tasks that are not a member's own", () => {
  it("keep a member from deleting or restoring the parent with them; an admin may", async () => {
    const owner = await signUp(t.app);
    const memberUser = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, memberUser, "member");
    const parent = await createTask(t.app, memberUser, {
      title: "Member's parent",
      workspaceId: workspace.id,
    });
    const own = await createTask(t.app, memberUser, {
      title: "Member's own sub-task",
      workspaceId: workspace.id,
      parentId: parent.id,
    });
    const theirs = await createTask(t.app, owner, {
      title: "Owner's sub-task",
      workspaceId: workspace.id,
      parentId: own.id,
    });
    const refused = await call(t.app, memberUser, "DELETE", `/v1/tasks/${parent.id}`);
    expect(expectProblem(refused, 403, "forbidden").detail).toBe(
      "Members can delete a task only when its sub-tasks are ones they created or are assigned to",
    );
    for (const task of [parent, own, theirs]) {
      expect((await getTask(t.app, owner, task.id)).version, task.title).toBe(task.version);
    }
    // Assigned to the member, the owner's sub-task is theirs to change too.
    const assigned = await call(t.app, owner, "PATCH", `/v1/tasks/${theirs.id}`, {
      assigneeId: memberUser.id,
    });
    expect(assigned.statusCode, assigned.body).toBe(200);
    const deleted = await call(t.app, memberUser, "DELETE", `/v1/tasks/${parent.id}`);
    expect(deleted.statusCode, deleted.body).toBe(204);
    // Unassigned while in the trash, it keeps the member from restoring.
    await t.database.db.execute(sql`update tasks set assignee_id = null where id = ${theirs.id}`);
    const restore = await call(t.app, memberUser, "POST", `/v1/tasks/${parent.id}/restore`);
    expect(expectProblem(restore, 403, "forbidden").detail).toMatch(/^Members can restore a task/);
    const restored = await call(t.app, owner, "POST", `/v1/tasks/${parent.id}/restore`);
    expect(restored.statusCode, restored.body).toBe(200);
    expect((await getTask(t.app, owner, theirs.id)).title).toBe("Owner's sub-task");
  });
});

describe("sub-tasks under someone else's task", () => {
  it("are refused to a member (403 naming parentId) unless they are assigned to it; an admin may", async () => {
    const owner = await signUp(t.app);
    const author = await signUp(t.app);
    const other = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, author, "member");
    await join(t.app, owner, workspace.id, other, "member");
    const parent = await createTask(t.app, author, {
      title: "Author's",
      workspaceId: workspace.id,
    });
    const loose = await createTask(t.app, other, { title: "Other's", workspaceId: workspace.id });
    const created = await call(t.app, other, "POST", "/v1/tasks", {
      title: "Hung under it",
      workspaceId: workspace.id,
      parentId: parent.id,
    });
    const moved = await call(t.app, other, "PATCH", `/v1/tasks/${loose.id}`, {
      parentId: parent.id,
    });
    for (const refused of [created, moved]) {
      const problem = expectProblem(refused, 403, "forbidden");
      expect(problem.errors).toEqual([
        {
          path: "parentId",
          message: "members can add sub-tasks only under tasks they created or are assigned to",
        },
      ]);
    }
    const children = await call(t.app, author, "GET", `/v1/tasks?parentId=${parent.id}`);
    expect(children.json<{ data: Task[] }>().data).toEqual([]);
    expect((await getTask(t.app, other, loose.id)).parentId).toBeNull();
    // Assigned to the author's task, the other member may change it, and so hang one under it.
    const assign = await call(t.app, owner, "PATCH", `/v1/tasks/${parent.id}`, {
      assigneeId: other.id,
    });
    expect(assign.statusCode, assign.body).toBe(200);
    const assigned = await call(t.app, other, "PATCH", `/v1/tasks/${loose.id}`, {
      parentId: parent.id,
    });
    expect(assigned.statusCode, assigned.body).toBe(200);
    const byOwner = await call(t.app, owner, "POST", "/v1/tasks", {
      title: "Owner's sub-task",
      workspaceId: workspace.id,
      parentId: loose.id,
    });
    expect(byOwner.statusCode, byOwner.body).toBe(201);
  });
});

describe("assignees", () => {
  async function teamWithViewer() {
    const owner = await signUp(t.app);
    const worker = await signUp(t.app);
    const viewer = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, worker, "member");
    await join(t.app, owner, workspace.id, viewer, "viewer");
    return { owner, worker, viewer, workspace };
  }

  it("must be members above viewer, on create and on update (422 naming assigneeId)", async () => {
    const { owner, viewer, workspace } = await teamWithViewer();
    const outsider = await signUp(t.app);
    for (const assigneeId of [viewer.id, outsider.id]) {
      const created = await call(t.app, owner, "POST", "/v1/tasks", {
        title: "Nope",
        workspaceId: workspace.id,
        assigneeId,
      });
      expect(expectProblem(created, 422, "invalid_reference").errors?.[0]?.path).toBe("assigneeId");
    }
    const task = await createTask(t.app, owner, { title: "Later", workspaceId: workspace.id });
    const updated = await call(t.app, owner, "PATCH", `/v1/tasks/${task.id}`, {
      assigneeId: viewer.id,
    });
    expect(expectProblem(updated, 422, "invalid_reference").errors?.[0]?.path).toBe("assigneeId");
  });

  it("lose their assignments when made viewer or removed, and the event counts them", async () => {
    const { owner, worker, workspace } = await teamWithViewer();
    const assigned: Task[] = [];
    for (const title of ["One", "Two"]) {
      assigned.push(
        await createTask(t.app, owner, { title, workspaceId: workspace.id, assigneeId: worker.id }),
      );
    }
    const [first, second] = assigned as [Task, Task];
    await call(t.app, owner, "DELETE", `/v1/tasks/${second.id}`);
    const url = `/v1/workspaces/${workspace.id}/members/${worker.id}`;
    const demoted = await call(t.app, owner, "PATCH", url, { role: "viewer" });
    expect(demoted.statusCode, demoted.body).toBe(200);
    const after = await getTask(t.app, owner, first.id);
    expect(after).toMatchObject({ assigneeId: null, version: first.version + 1 });
    const response = await call(t.app, owner, "GET", "/v1/me/activity?limit=1");
    expect(response.json<Page<Activity>>().data[0]).toMatchObject({
      type: "member.role_changed",
      changes: { role: { from: "member", to: "viewer" }, tasksUnassigned: 2 },
    });
    // Promoted again and re-assigned, then removed: unassigned again.
    await call(t.app, owner, "PATCH", url, { role: "member" });
    await call(t.app, owner, "PATCH", `/v1/tasks/${first.id}`, { assigneeId: worker.id });
    await call(t.app, owner, "DELETE", url);
    expect((await getTask(t.app, owner, first.id)).assigneeId).toBeNull();
  });
});
