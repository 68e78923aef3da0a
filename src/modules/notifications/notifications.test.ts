import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { gql } from "../../../test/graphql-helpers.ts";
import { signUp, type TestUser, useSecondInstance, useTestApp } from "../../../test/harness.ts";
import { createTask, expectValidationError } from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";
import { createApiKey, keyHeaders } from "../api-keys/test-helpers.ts";
import type { WorkspaceRole } from "../workspaces/schema.ts";
import { accept, call, createWorkspace, invite, join } from "../workspaces/test-helpers.ts";
import type { Notification } from "./contracts.ts";
import { eventsWaiting } from "./notifier.ts";
import { peopleAtEachEvent, recipientsOf } from "./recipients.ts";
import { writeNotifications } from "./service.ts";

const t = useTestApp({ notifications: { pollMs: 50 } });
// A second instance notifying from the same feed: every event still once.
const second = useSecondInstance(t, { notifications: { pollMs: 50 } });

type Page = { data: Notification[]; nextCursor: string | null; unreadCount: number };

/**
 * GET /v1/notifications. Without `invites`, the invitation every joinTeam()
 * made is left out of the page (joinTeam marked it read, so counts of the
 * unread are untouched); the test of invitations asks for them.
 */
async function list(app: App, user: TestUser, query = "", invites = false): Promise<Page> {
  const response = await call(app, user, "GET", `/v1/notifications${query}`);
  expect(response.statusCode, response.body).toBe(200);
  const page = response.json<Page>();
  if (invites) return page;
  return { ...page, data: page.data.filter((entry) => entry.activity.type !== "member.invited") };
}

/** Polls until `user` has `count` notifications (the notifier runs every 50 ms). */
async function notified(user: TestUser, count: number, invites = false): Promise<Notification[]> {
  let page: Page = { data: [], nextCursor: null, unreadCount: 0 };
  await expect
    .poll(
      async () => {
        page = await list(t.app, user, "?limit=100", invites);
        return page.data.length;
      },
      { timeout: 10_000 },
    )
    .toBeGreaterThanOrEqual(count);
  return page.data;
}

/**
 * join(), then waits for the joiner's invitation notification and marks it
 * read, so each test sees only the notifications it is about.
 */
async function joinTeam(owner: TestUser, workspaceId: string, user: TestUser, role: WorkspaceRole) {
  await join(t.app, owner, workspaceId, user, role);
  await notified(user, 1, true);
  const read = await call(t.app, user, "POST", "/v1/notifications/read-all", {});
  expect(read.json()).toEqual({ marked: 1 });
}

/** A team: the owner and one member. */
async function team() {
  const owner = await signUp(t.app, "Owner");
  const member = await signUp(t.app, "Member");
  const workspace = await createWorkspace(t.app, owner);
  await joinTeam(owner, workspace.id, member, "member");
  return { owner, member, workspace };
}

/** Lets the notifier pass every event written so far, so what is absent is really absent. */
async function settle(marker: TestUser, owner: TestUser, workspaceId: string) {
  const before = (await list(t.app, marker, "?limit=100")).data.length;
  await createTask(t.app, owner, { title: "marker", workspaceId, assigneeId: marker.id });
  await notified(marker, before + 1);
}

describe("who is told", () => {
  it("tells a member of a task assigned to them, and of changes others make to it, never of their own", async () => {
    const { owner, member, workspace } = await team();
    const task = await createTask(t.app, owner, {
      title: "Ship it",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    const [assigned] = await notified(member, 1);
    expect(assigned).toMatchObject({
      reason: "assigned",
      read: false,
      readAt: null,
      activity: {
        type: "task.created",
        actor: { type: "user", id: owner.id, name: "Owner" },
        entity: { type: "task", id: task.id, title: "Ship it" },
        workspaceId: workspace.id,
      },
    });

    // The member's own change tells the owner (who made the task), not the member.
    const done = await call(t.app, member, "POST", `/v1/tasks/${task.id}/complete`);
    expect(done.statusCode, done.body).toBe(200);
    const [completed] = await notified(owner, 1);
    expect(completed).toMatchObject({
      reason: "task_activity",
      activity: { type: "task.completed", actor: { id: member.id } },
    });
    // The owner renames it: the member hears; the owner does not hear of their own act.
    await call(t.app, owner, "PATCH", `/v1/tasks/${task.id}`, { title: "Shipped" });
    const memberSees = await notified(member, 2);
    expect(memberSees.map((entry) => [entry.reason, entry.activity.type])).toEqual([
      ["task_activity", "task.updated"],
      ["assigned", "task.created"],
    ]);
    await settle(owner, member, workspace.id);
    const ownerSees = (await list(t.app, owner)).data.map((entry) => entry.activity.type);
    expect(ownerSees).not.toContain("task.updated");
    expect(ownerSees.filter((type) => type === "task.completed")).toHaveLength(1);
  });

  it("tells the assignee of a recurring task completed by someone else of the completion, not of an assignment", async () => {
    const { owner, member, workspace } = await team();
    const task = await createTask(t.app, owner, {
      title: "Water the plants",
      workspaceId: workspace.id,
      assigneeId: member.id,
      recurrence: "every monday",
    });
    await notified(member, 1);
    const done = await call(t.app, owner, "POST", `/v1/tasks/${task.id}/complete`);
    expect(done.statusCode, done.body).toBe(200);
    await notified(member, 2);
    await settle(member, owner, workspace.id);
    const seen = (await list(t.app, member)).data.filter(
      (entry) => entry.activity.entity.title !== "marker",
    );
    expect(seen.map((entry) => [entry.reason, entry.activity.type])).toEqual([
      ["task_activity", "task.completed"],
      ["assigned", "task.created"],
    ]);
  });

  it("tells someone with an account that they were invited, and they accept from the notification", async () => {
    const { owner, member, workspace } = await team();
    const invitee = await signUp(t.app, "Invitee");
    await invite(t.app, owner, workspace.id, invitee.email, "viewer");
    const [invited] = await notified(invitee, 1, true);
    expect(invited).toMatchObject({
      reason: "membership",
      activity: {
        type: "member.invited",
        actor: { id: owner.id },
        entity: { type: "invitation", title: invitee.email },
        workspaceId: workspace.id,
        changes: { role: "viewer" },
      },
    });
    const joined = await accept(t.app, invitee, invited?.activity.entity.id ?? "");
    expect(joined.statusCode, joined.body).toBe(200);
    // An address without an account tells nobody; the members hear nothing of either.
    await invite(t.app, owner, workspace.id, "nobody-yet@example.com");
    await settle(member, owner, workspace.id);
    const memberSees = (await list(t.app, member)).data.map((entry) => entry.activity.type);
    expect(memberSees).not.toContain("member.invited");
  });

  it("tells the one a task is taken from and the one it is given to", async () => {
    const { owner, member, workspace } = await team();
    const other = await signUp(t.app, "Other");
    await joinTeam(owner, workspace.id, other, "member");
    const task = await createTask(t.app, owner, {
      title: "Hand over",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    await notified(member, 1);
    const moved = await call(t.app, owner, "PATCH", `/v1/tasks/${task.id}`, {
      assigneeId: other.id,
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const [given] = await notified(other, 1);
    expect(given).toMatchObject({ reason: "assigned", activity: { type: "task.updated" } });
    const [taken] = await notified(member, 2);
    expect(taken).toMatchObject({
      reason: "task_activity",
      activity: { changes: { assigneeId: { from: member.id, to: other.id } } },
    });
  });

  it("tells a member whose role changes or who is removed, and hides the workspace's other news after", async () => {
    const { owner, member, workspace } = await team();
    await createTask(t.app, owner, {
      title: "Before",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    await notified(member, 1);
    const promoted = await call(
      t.app,
      owner,
      "PATCH",
      `/v1/workspaces/${workspace.id}/members/${member.id}`,
      { role: "admin" },
    );
    expect(promoted.statusCode, promoted.body).toBe(200);
    const [roleChanged] = await notified(member, 2);
    expect(roleChanged).toMatchObject({
      reason: "membership",
      activity: { type: "member.role_changed", entity: { id: member.id } },
    });
    const removed = await call(
      t.app,
      owner,
      "DELETE",
      `/v1/workspaces/${workspace.id}/members/${member.id}`,
    );
    expect(removed.statusCode, removed.body).toBe(204);
    await expect
      .poll(async () => (await list(t.app, member)).data.map((entry) => entry.activity.type), {
        timeout: 10_000,
      })
      .toEqual(["member.removed", "member.role_changed"]);
    expect((await list(t.app, member)).unreadCount).toBe(2);
  });

  it("tells the new owner of a transfer", async () => {
    const { owner, member, workspace } = await team();
    const moved = await call(t.app, owner, "POST", `/v1/workspaces/${workspace.id}/transfer`, {
      userId: member.id,
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const [told] = await notified(member, 1);
    expect(told).toMatchObject({
      reason: "membership",
      activity: { type: "workspace.ownership_transferred", actor: { id: owner.id } },
    });
  });

  it("tells owners and admins when the server turns a webhook off", () => {
    const event = {
      type: "webhook.updated",
      actorType: "system",
      actorId: null,
      entityId: "00000000-0000-7000-8000-000000000001",
      changes: { active: { from: true, to: false } },
    };
    expect(recipientsOf(event, { administrators: ["a", "b"] })).toEqual([
      { userId: "a", reason: "webhook_disabled" },
      { userId: "b", reason: "webhook_disabled" },
    ]);
    // A person pausing it is their own business.
    expect(
      recipientsOf({ ...event, actorType: "user", actorId: "a" }, { administrators: ["a", "b"] }),
    ).toEqual([]);
  });
});

describe("after someone leaves", () => {
  it("tells a removed member nothing more of the workspace, on any credential", async () => {
    const { owner, member, workspace } = await team();
    const made = await createTask(t.app, member, { title: "Theirs", workspaceId: workspace.id });
    const bound = await createApiKey(t.app, member, {
      name: "bound",
      scopes: ["tasks:read"],
      workspaceId: workspace.id,
    });
    await call(t.app, owner, "PATCH", `/v1/tasks/${made.id}`, { title: "Renamed once" });
    await notified(member, 1);
    const removed = await call(
      t.app,
      owner,
      "DELETE",
      `/v1/workspaces/${workspace.id}/members/${member.id}`,
    );
    expect(removed.statusCode, removed.body).toBe(204);
    await call(t.app, owner, "PATCH", `/v1/tasks/${made.id}`, { title: "Renamed after" });
    // Let the notifier pass the rename.
    const admin = await signUp(t.app, "Admin");
    await joinTeam(owner, workspace.id, admin, "admin");
    await settle(admin, owner, workspace.id);
    const stored = await t.database.db.execute<{ count: number }>(
      sql`select count(*)::int as count from notifications n join activity_events e on e.id = n.event_id
          where n.user_id = ${member.id} and e.type = 'task.updated'`,
    );
    expect(stored.rows[0]?.count).toBe(1);
    expect((await list(t.app, member)).data.map((entry) => entry.activity.type)).toEqual([
      "member.removed",
    ]);
    const keyed = await t.app.inject({ url: "/v1/notifications", headers: keyHeaders(bound) });
    expect(keyed.statusCode).toBe(200);
    expect(keyed.json<Page>().data).toEqual([]);
  });

  it("skips a recipient whose account is gone instead of failing every round after", async () => {
    const { owner, member, workspace } = await team();
    const task = await createTask(t.app, owner, {
      title: "Orphan",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    const [event] = (
      await t.database.db.execute<{ id: string }>(
        sql`select id from activity_events where entity_id = ${task.id} limit 1`,
      )
    ).rows;
    if (!event) throw new Error("no event");
    const written = await writeNotifications(
      t.database.db,
      [
        {
          id: "01a25000-0000-7000-8000-00000000dead",
          userId: "01a25000-0000-7000-8000-00000000beef",
          eventId: event.id,
          workspaceId: workspace.id,
          reason: "assigned",
        },
      ],
      new Date(),
    );
    expect(written).toBe(0);
  });

  it("tells of each change the one who had the task when it happened", () => {
    const now = new Map([["task", { assigneeId: "other", createdBy: "owner" }]]);
    const events = [
      {
        id: "edit",
        type: "task.updated",
        entity_id: "task",
        changes: { description: { from: null, to: "x" } },
      },
      {
        id: "move",
        type: "task.updated",
        entity_id: "task",
        changes: { assigneeId: { from: "member", to: "other" } },
      },
    ];
    const at = peopleAtEachEvent(events, now);
    expect(at.get("edit")).toEqual({ assigneeId: "member", createdBy: "owner" });
    expect(at.get("move")).toEqual({ assigneeId: "other", createdBy: "owner" });
    const edit = events[0];
    if (!edit) throw new Error("no edit");
    expect(
      recipientsOf(
        { ...edit, actorType: "user", actorId: "owner", entityId: "task" },
        { task: at.get("edit") },
      ),
    ).toEqual([{ userId: "member", reason: "task_activity" }]);
  });
});

describe("reading", () => {
  it("marks one read, all read up to one, and filters the unread", async () => {
    const { owner, member, workspace } = await team();
    for (const title of ["One", "Two", "Three"]) {
      await createTask(t.app, owner, { title, workspaceId: workspace.id, assigneeId: member.id });
    }
    const [three, two, one] = await notified(member, 3);
    if (!one || !two || !three) throw new Error("missing notifications");
    expect(three.activity.entity.title).toBe("Three");

    const read = await call(t.app, member, "POST", `/v1/notifications/${one.id}/read`);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json<Notification>()).toMatchObject({ id: one.id, read: true });
    const readAt = read.json<Notification>().readAt;
    const again = await call(t.app, member, "POST", `/v1/notifications/${one.id}/read`);
    expect(again.json<Notification>().readAt).toBe(readAt);

    const unread = await list(t.app, member, "?unread=true");
    expect(unread.data.map((entry) => entry.id)).toEqual([three.id, two.id]);
    expect(unread.unreadCount).toBe(2);

    const upTo = await call(t.app, member, "POST", "/v1/notifications/read-all", { upTo: two.id });
    expect(upTo.json()).toEqual({ marked: 1 });
    expect((await list(t.app, member, "?unread=true")).data.map((entry) => entry.id)).toEqual([
      three.id,
    ]);
    const all = await call(t.app, member, "POST", "/v1/notifications/read-all", {});
    expect(all.json()).toEqual({ marked: 1 });
    expect((await list(t.app, member)).unreadCount).toBe(0);
    // An empty page still brings its count (the page is joined to it).
    expect(await list(t.app, member, "?unread=true")).toEqual({
      data: [],
      nextCursor: null,
      unreadCount: 0,
    });
  });

  it("pages newest first with a cursor", async () => {
    const { owner, member, workspace } = await team();
    for (let index = 0; index < 5; index++) {
      await createTask(t.app, owner, {
        title: `n${index}`,
        workspaceId: workspace.id,
        assigneeId: member.id,
      });
    }
    await notified(member, 5);
    const first = await list(t.app, member, "?limit=2");
    const secondPage = await list(t.app, member, `?limit=2&cursor=${first.nextCursor}`);
    const third = await list(t.app, member, `?limit=2&cursor=${secondPage.nextCursor}`);
    const titles = [...first.data, ...secondPage.data, ...third.data].map(
      (entry) => entry.activity.entity.title,
    );
    expect(titles).toEqual(["n4", "n3", "n2", "n1", "n0"]);
    expect(third.nextCursor).toBeNull();
  });

  it("keeps each user's notifications to them, and names every bad input", async () => {
    const { owner, member, workspace } = await team();
    await createTask(t.app, owner, {
      title: "Private",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    const [mine] = await notified(member, 1);
    const stranger = await signUp(t.app);
    const theirs = await call(t.app, stranger, "POST", `/v1/notifications/${mine?.id}/read`);
    expect(theirs.statusCode).toBe(404);
    expect((await list(t.app, stranger)).data).toEqual([]);
    expect((await list(t.app, member, "?unread=true")).data).toHaveLength(1);

    expectValidationError(await call(t.app, member, "POST", "/v1/notifications/nope/read"), "id");
    expectValidationError(
      await call(t.app, member, "GET", "/v1/notifications?unread=maybe"),
      "unread",
    );
    expectValidationError(await call(t.app, member, "GET", "/v1/notifications?limit=0"), "limit");
    expectValidationError(
      await call(t.app, member, "POST", "/v1/notifications/read-all", { upTo: "x" }),
      "upTo",
    );
    expectValidationError(
      await call(t.app, member, "POST", "/v1/notifications/read-all", { all: true }),
      "all",
    );
  });

  it("lets a read-only API key list but not mark read", async () => {
    const { owner, member, workspace } = await team();
    await createTask(t.app, owner, {
      title: "Keyed",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    const [entry] = await notified(member, 1);
    const key = await createApiKey(t.app, member, { name: "reader", scopes: ["tasks:read"] });
    const listed = await t.app.inject({
      url: "/v1/notifications?unread=true",
      headers: keyHeaders(key),
    });
    expect(listed.json<Page>().data.map((item) => item.id)).toEqual([entry?.id]);
    const marked = await t.app.inject({
      method: "POST",
      url: `/v1/notifications/${entry?.id}/read`,
      headers: keyHeaders(key),
    });
    expect(marked.statusCode).toBe(403);
  });
});

describe("over GraphQL", () => {
  it("lists and marks them through the same verbs", async () => {
    const { owner, member, workspace } = await team();
    await createTask(t.app, owner, {
      title: "Graph",
      workspaceId: workspace.id,
      assigneeId: member.id,
    });
    const [entry] = await notified(member, 1);
    const ask = async (query: string) => {
      const answer = await gql(t.app, member.headers, query);
      expect(answer.status).toBe(200);
      return answer;
    };
    const listed = await ask(
      "{ notifications(unread: true) { unreadCount data { id reason read activity { type entity { title } } } } }",
    );
    expect(listed.data?.notifications).toEqual({
      unreadCount: 1,
      data: [
        {
          id: entry?.id,
          reason: "assigned",
          read: false,
          activity: { type: "task.created", entity: { title: "Graph" } },
        },
      ],
    });
    const marked = await ask(`mutation { markNotificationRead(id: "${entry?.id}") { read } }`);
    expect(marked.data?.markNotificationRead).toEqual({ read: true });
    const all = await ask("mutation { markAllNotificationsRead }");
    expect(all.data?.markAllNotificationsRead).toBe(0);
    const bad = await ask(`mutation { markAllNotificationsRead(upTo: "nope") }`);
    expect(bad.errors).toMatchObject([
      { extensions: { code: "validation_failed", errors: [{ path: "upTo" }] } },
    ]);
  });
});

describe("the notifier", () => {
  it("writes each notification once with two instances at work", async () => {
    expect(second.app).toBeDefined();
    const { owner, member, workspace } = await team();
    await Promise.all(
      Array.from({ length: 15 }, (_, index) =>
        createTask(t.app, owner, {
          title: `busy ${index}`,
          workspaceId: workspace.id,
          assigneeId: member.id,
        }),
      ),
    );
    await notified(member, 15);
    await settle(member, owner, workspace.id);
    const counted = await t.database.db.execute<{ count: number; events: number }>(
      sql`select count(*)::int as count, count(distinct event_id)::int as events
          from notifications where user_id = ${member.id}`,
    );
    // 15 tasks, the settling marker and the invitation that made the team.
    expect(counted.rows[0]).toEqual({ count: 17, events: 17 });
  });

  it("locks and writes nothing while no event is waiting", async () => {
    const { owner, member, workspace } = await team();
    await settle(member, owner, workspace.id);
    const version = async () =>
      (
        await t.database.db.execute<{ xmin: string; xmax: string }>(
          sql`select xmin::text, xmax::text from notifier_position`,
        )
      ).rows[0];
    const before = await version();
    // Ten of each instance's rounds (pollMs 50).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await version()).toEqual(before);
  });
});

describe("the probe each round makes", () => {
  it("finds the next event through the feed index, with the place in the index condition", async () => {
    const plan = await t.database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      const result = await tx.execute<{ "QUERY PLAN": unknown }>(
        sql`explain (format json) ${eventsWaiting}`,
      );
      return JSON.stringify(result.rows[0]?.["QUERY PLAN"]);
    });
    // A join filter here read every event of the table each second.
    expect(plan).toMatch(
      /"Relation Name":"activity_events".*"Index Cond":"\(ROW\(tx, id\) > ROW\(p\.position_tx, p\.position_id\)\)"/,
    );
    expect(plan).not.toMatch(/Join Filter/);
  });
});
