import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import {
  type Activity,
  createTask,
  createTaskVariety,
  deleteTask,
  expectProblem,
  getTask,
  listTasks,
  listTitles,
  type Page,
  patchTask,
  type Task,
  taskAction,
  taskActivity,
  withAndWithoutFastRows,
} from "../../../test/tasks-helpers.ts";
import { visibleTaskStatementName } from "./access.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

describe("tasks routes: happy paths", () => {
  it("creates a task with 201, a Location header and the stored fields", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: user.headers,
      payload: {
        title: "  Write the report  ",
        description: "Quarterly numbers",
        priority: "high",
        tags: ["Work", "work", " Q1 "],
        dueAt: "2026-03-05T09:00:00+01:00",
      },
    });
    expect(response.statusCode).toBe(201);
    const task = response.json<Task>();
    expect(response.headers.location).toBe(`/v1/tasks/${task.id}`);
    expect(response.headers.etag).toBe(`"${task.version}"`);
    expect(task).toMatchObject({
      title: "Write the report",
      description: "Quarterly numbers",
      status: "open",
      priority: "high",
      tags: ["work", "q1"],
      dueAt: "2026-03-05T08:00:00.000Z",
      allDay: false,
      recurrence: null,
      completedAt: null,
      nextOccurrenceId: null,
      createdBy: user.id,
      createdAt: "2026-03-01T12:00:00.000Z",
      version: 1,
    });
  });

  it("lists the user's open tasks", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "First" });
    await createTask(t.app, user, { title: "Second" });
    const page = await listTasks(t.app, user);
    expect(page.data.map((task) => task.title).sort()).toEqual(["First", "Second"]);
    expect(page.nextCursor).toBeNull();
  });

  it("gets one task by id", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Fetch me" });
    expect(await getTask(t.app, user, created.id)).toEqual(created);
  });

  it("updates the fields a PATCH names and bumps the version", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Old", priority: "low" });
    t.clock.advance(60_000);
    const response = await patchTask(t.app, user, created.id, { title: "New", tags: ["x"] });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Task>()).toMatchObject({
      title: "New",
      priority: "low",
      tags: ["x"],
      version: 2,
      updatedAt: t.clock.now().toISOString(),
    });
    expect((await getTask(t.app, user, created.id)).title).toBe("New");
  });

  it("soft-deletes with 204; the task then answers 404 and sits in the trash", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Bin me" });
    const response = await deleteTask(t.app, user, created.id);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe("");
    const get = await t.app.inject({ url: `/v1/tasks/${created.id}`, headers: user.headers });
    expectProblem(get, 404, "not_found");
    expect(await listTitles(t.app, user)).toEqual([]);
    expect(await listTitles(t.app, user, { deleted: true })).toEqual(["Bin me"]);
  });

  it("restores a deleted task together with its sub-tasks", async () => {
    const user = await signUp(t.app);
    const parent = await createTask(t.app, user, { title: "Parent" });
    const child = await createTask(t.app, user, { title: "Child", parentId: parent.id });
    expect((await deleteTask(t.app, user, parent.id)).statusCode).toBe(204);
    expect((await listTitles(t.app, user, { deleted: true })).sort()).toEqual(["Child", "Parent"]);

    const response = await taskAction(t.app, user, parent.id, "restore");
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Task>()).toMatchObject({ id: parent.id, title: "Parent" });
    expect((await getTask(t.app, user, child.id)).parentId).toBe(parent.id);
    expect((await listTitles(t.app, user)).sort()).toEqual(["Child", "Parent"]);
    expect(await listTitles(t.app, user, { deleted: true })).toEqual([]);
  });

  it("trashes and restores a whole tree of sub-tasks, not only direct children", async () => {
    const user = await signUp(t.app);
    const root = await createTask(t.app, user, { title: "Root" });
    const child = await createTask(t.app, user, { title: "Child", parentId: root.id });
    await createTask(t.app, user, { title: "Grandchild", parentId: child.id });
    expect((await deleteTask(t.app, user, root.id)).statusCode).toBe(204);
    expect(await listTitles(t.app, user)).toEqual([]);
    expect((await taskAction(t.app, user, root.id, "restore")).statusCode).toBe(200);
    expect((await listTitles(t.app, user)).sort()).toEqual(["Child", "Grandchild", "Root"]);
  });

  it("restores a sub-task alone only once its parent is out of the trash (409 before)", async () => {
    const user = await signUp(t.app);
    const parent = await createTask(t.app, user, { title: "Parent" });
    const child = await createTask(t.app, user, { title: "Child", parentId: parent.id });
    // Trashed on its own first, so restoring the parent does not bring it back.
    expect((await deleteTask(t.app, user, child.id)).statusCode).toBe(204);
    t.clock.advance(60_000);
    expect((await deleteTask(t.app, user, parent.id)).statusCode).toBe(204);
    const early = expectProblem(
      await taskAction(t.app, user, child.id, "restore"),
      409,
      "conflict",
    );
    expect(early.detail).toBe("Its parent task is in the trash; restore the parent first");
    expect((await listTitles(t.app, user, { deleted: true })).sort()).toEqual(["Child", "Parent"]);
    expect((await taskAction(t.app, user, parent.id, "restore")).statusCode).toBe(200);
    expect(await listTitles(t.app, user)).toEqual(["Parent"]);
    const restored = await taskAction(t.app, user, child.id, "restore");
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json<Task>()).toMatchObject({ id: child.id, parentId: parent.id });
  });

  it("answers 404 when restoring a task that is not in the trash", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Alive" });
    expectProblem(await taskAction(t.app, user, created.id, "restore"), 404, "not_found");
  });

  it("completes a task and reopens it", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Do it" });
    const completed = await taskAction(t.app, user, created.id, "complete");
    expect(completed.statusCode, completed.body).toBe(200);
    expect(completed.json<Task>()).toMatchObject({
      status: "completed",
      completedAt: t.clock.now().toISOString(),
      nextOccurrenceId: null,
      version: 2,
    });
    expect(completed.headers.etag).toBe('"2"');
    expect(await listTitles(t.app, user, { status: "completed" })).toEqual(["Do it"]);

    const reopened = await taskAction(t.app, user, created.id, "reopen");
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json<Task>()).toMatchObject({ status: "open", completedAt: null, version: 3 });
  });

  it("completes through PATCH status as well", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Patch done" });
    const response = await patchTask(t.app, user, created.id, { status: "completed" });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Task>()).toMatchObject({ status: "completed", version: 2 });
  });

  it("lists a task's activity, newest first", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Tracked" });
    t.clock.advance(1_000);
    await patchTask(t.app, user, created.id, { priority: "urgent" });
    t.clock.advance(1_000);
    await taskAction(t.app, user, created.id, "complete");
    const events = await taskActivity(t.app, user, created.id);
    expect(events.map((event) => event.type)).toEqual([
      "task.completed",
      "task.updated",
      "task.created",
    ]);
    expect(events[0]).toMatchObject<Partial<Activity>>({
      actor: { type: "user", id: user.id, name: "Test User" },
      entity: { type: "task", id: created.id, title: "Tracked" },
      workspaceId: created.workspaceId,
    });
  });

  it("answers 401 without credentials", async () => {
    expectProblem(await t.app.inject({ url: "/v1/tasks" }), 401, "unauthenticated");
  });
});

describe("GET /v1/tasks/{id} rows", () => {
  /** Each response's status, ETag and body, with the pool's fast path on and then off. */
  async function bothPaths(user: Awaited<ReturnType<typeof signUp>>, ids: string[]) {
    const read = async () =>
      Promise.all(
        ids.map(async (id) => {
          const response = await t.app.inject({ url: `/v1/tasks/${id}`, headers: user.headers });
          return {
            status: response.statusCode,
            etag: response.headers.etag,
            body: response.json(),
          };
        }),
      );
    return withAndWithoutFastRows(t.database.pool, read, {
      named: (name) => name === visibleTaskStatementName,
      count: ids.length,
    });
  }

  it("reads the same task by column position as through Drizzle's mapping", async () => {
    const user = await signUp(t.app);
    const { full, child, allDay } = await createTaskVariety(t.app, user);
    const completion = await taskAction(t.app, user, full.id, "complete");
    expect(completion.statusCode, completion.body).toBe(200);
    const ids = [full.id, child.id, allDay.id];
    const { fast, drizzle } = await bothPaths(user, ids);
    expect(fast).toEqual(drizzle);
    const [completed] = fast;
    expect(completed?.status).toBe(200);
    expect(completed?.body).toMatchObject({
      title: "Plan the launch",
      status: "completed",
      tags: ["launch", "q2"],
      dueAt: "2026-03-05T09:30:00.123Z",
      completedAt: completion.json<Task>().completedAt,
      recurrence: expect.stringContaining("FREQ=WEEKLY"),
    });
    expect(completed?.body.nextOccurrenceId).toEqual(expect.any(String));
  });

  it("answers 404 the same way on both paths for a stranger's and a trashed task", async () => {
    const owner = await signUp(t.app, "Owner");
    const stranger = await signUp(t.app, "Stranger");
    const theirs = await createTask(t.app, owner, { title: "Private" });
    const trashed = await createTask(t.app, stranger, { title: "Gone" });
    expect((await deleteTask(t.app, stranger, trashed.id)).statusCode).toBe(204);
    const { fast, drizzle } = await bothPaths(stranger, [theirs.id, trashed.id]);
    // Every problem carries its own request id; the rest must match.
    const withoutRequestId = (responses: typeof fast) =>
      responses.map(({ body: { requestId: _id, ...body }, ...rest }) => ({ ...rest, body }));
    expect(withoutRequestId(fast)).toEqual(withoutRequestId(drizzle));
    expect(fast.map((response) => response.status)).toEqual([404, 404]);
  });
});

describe("another user's task", () => {
  async function foreignTask() {
    const owner = await signUp(t.app, "Owner");
    const stranger = await signUp(t.app, "Stranger");
    const task = await createTask(t.app, owner, { title: "Private" });
    return { owner, stranger, task };
  }

  it("answers 404 on GET, exactly like a missing task", async () => {
    const { stranger, task } = await foreignTask();
    const response = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: stranger.headers });
    const missing = await t.app.inject({
      url: "/v1/tasks/0190f1c2-0000-7000-8000-000000000000",
      headers: stranger.headers,
    });
    expect(expectProblem(response, 404, "not_found").detail).toBe(
      expectProblem(missing, 404, "not_found").detail,
    );
  });

  it("answers 404 on PATCH and leaves the task unchanged", async () => {
    const { owner, stranger, task } = await foreignTask();
    expectProblem(
      await patchTask(t.app, stranger, task.id, { title: "Hijacked" }),
      404,
      "not_found",
    );
    expect((await getTask(t.app, owner, task.id)).title).toBe("Private");
  });

  it("answers 404 on DELETE and leaves the task alive", async () => {
    const { owner, stranger, task } = await foreignTask();
    expectProblem(await deleteTask(t.app, stranger, task.id), 404, "not_found");
    expect((await getTask(t.app, owner, task.id)).id).toBe(task.id);
  });

  it("answers 404 on restore of their trashed task", async () => {
    const { owner, stranger, task } = await foreignTask();
    expect((await deleteTask(t.app, owner, task.id)).statusCode).toBe(204);
    expectProblem(await taskAction(t.app, stranger, task.id, "restore"), 404, "not_found");
    expect(await listTitles(t.app, owner, { deleted: true })).toEqual(["Private"]);
  });

  it("answers 404 on complete and reopen", async () => {
    const { owner, stranger, task } = await foreignTask();
    expectProblem(await taskAction(t.app, stranger, task.id, "complete"), 404, "not_found");
    expect((await getTask(t.app, owner, task.id)).status).toBe("open");
    expect((await taskAction(t.app, owner, task.id, "complete")).statusCode).toBe(200);
    expectProblem(await taskAction(t.app, stranger, task.id, "reopen"), 404, "not_found");
    expect((await getTask(t.app, owner, task.id)).status).toBe("completed");
  });

  it("answers 404 on its activity", async () => {
    const { stranger, task } = await foreignTask();
    const response = await t.app.inject({
      url: `/v1/tasks/${task.id}/activity`,
      headers: stranger.headers,
    });
    expectProblem(response, 404, "not_found");
  });

  it("never appears in their list, live, completed or trashed", async () => {
    const { owner, stranger, task } = await foreignTask();
    await createTask(t.app, stranger, { title: "Mine" });
    const done = await createTask(t.app, owner, { title: "Owner done" });
    await taskAction(t.app, owner, done.id, "complete");
    const trashed = await createTask(t.app, owner, { title: "Owner trash" });
    await deleteTask(t.app, owner, trashed.id);
    expect(await listTitles(t.app, stranger, { status: "all" })).toEqual(["Mine"]);
    expect(await listTitles(t.app, stranger, { deleted: true, status: "all" })).toEqual([]);
    const byParent = await t.app.inject({
      url: `/v1/tasks?parentId=${task.id}`,
      headers: stranger.headers,
    });
    expect(byParent.json<Page<Task>>().data).toEqual([]);
  });
});
