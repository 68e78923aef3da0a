import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createCategory,
  createTask,
  deleteTask,
  expectProblem,
  getTask,
  patchTask,
  type Task,
  taskAction,
} from "../../../test/tasks-helpers.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

function get(user: TestUser, id: string, headers: Record<string, string> = {}) {
  return t.app.inject({ url: `/v1/tasks/${id}`, headers: { ...user.headers, ...headers } });
}

async function etagOf(user: TestUser, id: string): Promise<string> {
  const response = await get(user, id);
  expect(response.statusCode).toBe(200);
  const etag = response.headers.etag;
  if (typeof etag !== "string") throw new Error("GET sent no ETag");
  return etag;
}

describe("ETag and conditional requests on /v1/tasks/{id}", () => {
  it("sends a quoted ETag on GET", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Tagged" });
    expect(await etagOf(user, task.id)).toMatch(/^"[^"]+"$/);
  });

  it("answers 304 with an empty body when If-None-Match carries the current ETag", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Cached" });
    const etag = await etagOf(user, task.id);
    const response = await get(user, task.id, { "if-none-match": etag });
    expect(response.statusCode).toBe(304);
    expect(response.body).toBe("");
    expect(response.headers.etag).toBe(etag);
  });

  it("matches If-None-Match against a list of tags and against a weak form", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Listed" });
    const etag = await etagOf(user, task.id);
    expect((await get(user, task.id, { "if-none-match": `"nope", ${etag}` })).statusCode).toBe(304);
    expect((await get(user, task.id, { "if-none-match": `W/${etag}` })).statusCode).toBe(304);
  });

  it("compares If-Match strongly: a weak form of the current tag is a 412", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Strong" });
    const etag = await etagOf(user, task.id);
    const weak = await patchTask(
      t.app,
      user,
      task.id,
      { title: "Weak" },
      { "if-match": `W/${etag}` },
    );
    expectProblem(weak, 412, "precondition_failed");
    const strong = await patchTask(t.app, user, task.id, { title: "Strong" }, { "if-match": etag });
    expect(strong.statusCode).toBe(200);
  });

  it("answers 200 again once a PATCH changed the task", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Before" });
    const before = await etagOf(user, task.id);
    const patched = await patchTask(t.app, user, task.id, { title: "After" });
    expect(patched.statusCode).toBe(200);
    expect(patched.headers.etag).not.toBe(before);
    const response = await get(user, task.id, { "if-none-match": before });
    expect(response.statusCode).toBe(200);
    expect(response.json<Task>().title).toBe("After");
    expect(response.headers.etag).toBe(patched.headers.etag);
  });

  it("changes the ETag when the task is completed", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Finish" });
    const before = await etagOf(user, task.id);
    await taskAction(t.app, user, task.id, "complete");
    expect((await get(user, task.id, { "if-none-match": before })).statusCode).toBe(200);
  });

  it("rejects a PATCH with a stale If-Match with 412 and keeps the task", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Original" });
    const stale = await etagOf(user, task.id);
    await patchTask(t.app, user, task.id, { description: "someone else's edit" });
    const response = await patchTask(
      t.app,
      user,
      task.id,
      { title: "Mine" },
      { "if-match": stale },
    );
    expectProblem(response, 412, "precondition_failed");
    expect(await getTask(t.app, user, task.id)).toMatchObject({ title: "Original", version: 2 });
  });

  it("applies a PATCH whose If-Match is current", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Original" });
    const current = await etagOf(user, task.id);
    const response = await patchTask(
      t.app,
      user,
      task.id,
      { title: "Mine" },
      { "if-match": current },
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Task>()).toMatchObject({ title: "Mine", version: 2 });
  });

  it("applies a PATCH with If-Match: *", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Original" });
    await patchTask(t.app, user, task.id, { priority: "low" });
    const response = await patchTask(t.app, user, task.id, { title: "Any" }, { "if-match": "*" });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Task>().title).toBe("Any");
  });

  it("rejects an If-Match tag it never issued with 412", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Original" });
    const response = await patchTask(t.app, user, task.id, { title: "X" }, { "if-match": '"abc"' });
    expectProblem(response, 412, "precondition_failed");
  });

  it("applies a change when any tag of an If-Match list is current, and refuses one when none is", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Original" });
    const first = await etagOf(user, task.id);
    await patchTask(t.app, user, task.id, { priority: "low" });
    const second = await etagOf(user, task.id);
    expect([first, second]).toEqual(['"1"', '"2"']);
    const listed = await patchTask(
      t.app,
      user,
      task.id,
      { title: "Listed" },
      { "if-match": `"abc", ${first}, W/${second}, ${second}` },
    );
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json<Task>()).toMatchObject({ title: "Listed", version: 3 });
    // A weak tag never matches (strong comparison), so this list names no current version.
    const stale = await patchTask(
      t.app,
      user,
      task.id,
      { title: "Stale" },
      { "if-match": `${first}, ${second}, W/"3"` },
    );
    expectProblem(stale, 412, "precondition_failed");
    expect(await getTask(t.app, user, task.id)).toMatchObject({ title: "Listed", version: 3 });
  });

  it("answers 404, not 412, for a task that is missing or not the caller's, whatever If-Match says", async () => {
    // RFC 9110 13.2.1: a request that fails without its preconditions ignores them.
    const user = await signUp(t.app);
    const stranger = await signUp(t.app);
    const theirs = await createTask(t.app, stranger, { title: "Theirs" });
    for (const id of [theirs.id, crypto.randomUUID()]) {
      for (const tag of ['"abc"', '"1"']) {
        const response = await patchTask(t.app, user, id, { title: "X" }, { "if-match": tag });
        expectProblem(response, 404, "not_found");
      }
    }
    expect((await getTask(t.app, stranger, theirs.id)).title).toBe("Theirs");
  });

  it("rejects a DELETE with a stale If-Match with 412 and keeps the task alive", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Survivor" });
    const stale = await etagOf(user, task.id);
    await patchTask(t.app, user, task.id, { priority: "high" });
    expectProblem(
      await deleteTask(t.app, user, task.id, { "if-match": stale }),
      412,
      "precondition_failed",
    );
    expect((await getTask(t.app, user, task.id)).title).toBe("Survivor");
  });

  it("deletes with a current If-Match and with If-Match: *", async () => {
    const user = await signUp(t.app);
    const first = await createTask(t.app, user, { title: "First" });
    const second = await createTask(t.app, user, { title: "Second" });
    const current = await etagOf(user, first.id);
    expect((await deleteTask(t.app, user, first.id, { "if-match": current })).statusCode).toBe(204);
    expect((await deleteTask(t.app, user, second.id, { "if-match": "*" })).statusCode).toBe(204);
    expectProblem(await get(user, first.id), 404, "not_found");
    expectProblem(await get(user, second.id), 404, "not_found");
  });

  it("honours If-Match on complete", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Guarded" });
    const stale = await etagOf(user, task.id);
    await patchTask(t.app, user, task.id, { priority: "high" });
    const response = await taskAction(t.app, user, task.id, "complete", { "if-match": stale });
    expectProblem(response, 412, "precondition_failed");
    expect((await getTask(t.app, user, task.id)).status).toBe("open");
  });

  it("honours If-Match on restore: the version the task went to the trash with", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Back again" });
    // Deleting moves the version on: the trashed task is at version + 1.
    expect((await deleteTask(t.app, user, task.id)).statusCode).toBe(204);
    const stale = `"${task.version}"`;
    const current = `"${task.version + 1}"`;
    const refused = await taskAction(t.app, user, task.id, "restore", { "if-match": stale });
    expectProblem(refused, 412, "precondition_failed");
    expectProblem(await get(user, task.id), 404, "not_found");
    const restored = await taskAction(t.app, user, task.id, "restore", { "if-match": current });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json<{ version: number }>().version).toBe(task.version + 2);
  });
});

describe("ETags of /v1/tasks pages", () => {
  const list = (user: TestUser, query: string, headers: Record<string, string> = {}) =>
    t.app.inject({ url: `/v1/tasks${query}`, headers: { ...user.headers, ...headers } });

  it("move when a task on the page changes, and only then", async () => {
    const user = await signUp(t.app);
    const first = await createTask(t.app, user, { title: "First" });
    await createTask(t.app, user, { title: "Second" });
    const before = await list(user, "?limit=2");
    const etag = String(before.headers.etag);
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
    expect((await list(user, "?limit=2", { "if-none-match": etag })).statusCode).toBe(304);

    await patchTask(t.app, user, first.id, { description: "a change of a field" });
    const after = await list(user, "?limit=2", { "if-none-match": etag });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
  });

  it("move when the page gains a next page, though its tasks are the same", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "A", dueAt: "2026-03-02T09:00:00Z" });
    const only = await list(user, "?sort=dueAt&limit=1");
    expect(only.json().nextCursor).toBeNull();
    // Due later, so it sorts after the page's task: the page's data stays the same.
    await createTask(t.app, user, { title: "B", dueAt: "2026-03-09T09:00:00Z" });
    const more = await list(user, "?sort=dueAt&limit=1", {
      "if-none-match": String(only.headers.etag),
    });
    expect(more.statusCode).toBe(200);
    expect(more.json().data).toEqual(only.json().data);
    expect(more.json().nextCursor).not.toBeNull();
  });

  it("move when the database clears a task's category behind the verbs' back", async () => {
    const user = await signUp(t.app);
    const category = await createCategory(t.app, user, "Errands");
    const task = await createTask(t.app, user, { title: "Post office", categoryId: category.id });
    const single = await etagOf(user, task.id);
    const page = String((await list(user, "")).headers.etag);

    // A hand-written DELETE: ON DELETE SET NULL clears category_id (migration 0011's trigger).
    await t.database.pool.query("delete from categories where id = $1", [category.id]);

    const now = await get(user, task.id, { "if-none-match": single });
    expect(now.statusCode).toBe(200);
    expect(now.json()).toMatchObject({ categoryId: null, version: task.version + 1 });
    expect((await list(user, "", { "if-none-match": page })).statusCode).toBe(200);
  });
});
