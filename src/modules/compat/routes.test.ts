import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { createTask, expectProblem, expectValidationError } from "../../../test/tasks-helpers.ts";
import type { CompatChatAnswer, CompatTask } from "./contracts.ts";

const t = useTestApp();

function call(
  user: TestUser | null,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  url: string,
  payload?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers: user?.headers ?? {},
    payload: payload as never,
  });
}

async function create(user: TestUser, body: Record<string, unknown>): Promise<CompatTask> {
  const response = await call(user, "POST", `/api/${user.id}/tasks`, body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json<CompatTask>();
}

async function list(user: TestUser, query = ""): Promise<CompatTask[]> {
  const response = await call(user, "GET", `/api/${user.id}/tasks${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<CompatTask[]>();
}

describe("hackathon surface /api/{user_id}/tasks", () => {
  it("creates, reads, replaces, toggles and deletes a task in the spec's shape", async () => {
    const user = await signUp(t.app);
    const created = await create(user, { title: "Buy milk", description: "2 litres" });
    expect(created).toMatchObject({
      user_id: user.id,
      title: "Buy milk",
      description: "2 litres",
      completed: false,
      priority: "none",
      due_date: null,
      tags: [],
    });
    expect(Object.keys(created).sort()).toEqual(
      [
        "completed",
        "created_at",
        "description",
        "due_date",
        "id",
        "priority",
        "tags",
        "title",
        "updated_at",
        "user_id",
      ].sort(),
    );

    const fetched = await call(user, "GET", `/api/${user.id}/tasks/${created.id}`);
    expect(fetched.json()).toEqual(created);

    const replaced = await call(user, "PUT", `/api/${user.id}/tasks/${created.id}`, {
      title: "Buy oat milk",
      due_date: "2026-12-01T09:00:00Z",
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({
      title: "Buy oat milk",
      description: null,
      due_date: "2026-12-01T09:00:00.000Z",
      completed: false,
    });

    const toggled = await call(user, "PATCH", `/api/${user.id}/tasks/${created.id}/complete`);
    expect(toggled.json<CompatTask>().completed).toBe(true);
    const back = await call(user, "PATCH", `/api/${user.id}/tasks/${created.id}/complete`);
    expect(back.json<CompatTask>().completed).toBe(false);

    const removed = await call(user, "DELETE", `/api/${user.id}/tasks/${created.id}`);
    expect(removed.statusCode).toBe(204);
    expectProblem(await call(user, "GET", `/api/${user.id}/tasks/${created.id}`), 404, "not_found");
  });

  it("filters by status and sorts by created, title and due date", async () => {
    const user = await signUp(t.app);
    const b = await create(user, { title: "B", due_date: "2026-12-03T00:00:00Z" });
    const a = await create(user, { title: "A", due_date: "2026-12-05T00:00:00Z" });
    const c = await create(user, { title: "C", due_date: "2026-12-01T00:00:00Z" });
    await call(user, "PATCH", `/api/${user.id}/tasks/${a.id}/complete`);

    expect((await list(user)).map((task) => task.title)).toEqual(["C", "A", "B"]);
    expect((await list(user, "?sort=title")).map((task) => task.title)).toEqual(["A", "B", "C"]);
    expect((await list(user, "?sort=due_date")).map((task) => task.id)).toEqual([c.id, b.id, a.id]);
    expect((await list(user, "?status=pending&sort=title")).map((task) => task.title)).toEqual([
      "B",
      "C",
    ]);
    expect((await list(user, "?status=completed")).map((task) => task.id)).toEqual([a.id]);
    expectValidationError(await call(user, "GET", `/api/${user.id}/tasks?status=done`), "status");
    expectValidationError(await call(user, "GET", `/api/${user.id}/tasks?sort=priority`), "sort");
  });

  it("lists only the caller's personal workspace, also tasks made through /v1", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await createTask(t.app, user, { title: "Made through v1" });
    await create(other, { title: "Someone else's" });
    expect((await list(user)).map((task) => task.title)).toEqual(["Made through v1"]);
    // The caller's id in capitals is still the caller, as ids are everywhere else.
    const upper = await call(user, "GET", `/api/${user.id.toUpperCase()}/tasks`);
    expect(upper.statusCode, upper.body).toBe(200);
    expect(upper.json<Array<{ title: string }>>().map((task) => task.title)).toEqual([
      "Made through v1",
    ]);
  });

  it("answers 403 when the path names another user, and 404 for another user's task", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const theirs = await create(other, { title: "Private" });
    expectProblem(await call(user, "GET", `/api/${other.id}/tasks`), 403, "forbidden");
    expectProblem(
      await call(user, "POST", `/api/${other.id}/tasks`, { title: "Sneaky" }),
      403,
      "forbidden",
    );
    expectProblem(
      await call(user, "PATCH", `/api/${other.id}/tasks/${theirs.id}/complete`),
      403,
      "forbidden",
    );
    // Naming themselves in the path does not reach someone else's task either.
    expectProblem(await call(user, "GET", `/api/${user.id}/tasks/${theirs.id}`), 404, "not_found");
    expectProblem(
      await call(user, "DELETE", `/api/${user.id}/tasks/${theirs.id}`),
      404,
      "not_found",
    );
    expect((await list(other)).map((task) => task.completed)).toEqual([false]);
  });

  it("requires credentials and validates bodies and ids, naming the field", async () => {
    const user = await signUp(t.app);
    expectProblem(await call(null, "GET", `/api/${user.id}/tasks`), 401, "unauthenticated");
    expectValidationError(
      await call(user, "POST", `/api/${user.id}/tasks`, { title: " " }),
      "title",
    );
    expectValidationError(
      await call(user, "POST", `/api/${user.id}/tasks`, { title: "x", user_id: user.id }),
      "user_id",
    );
    expectValidationError(
      await call(user, "POST", `/api/${user.id}/tasks`, { title: "x", due_date: "friday" }),
      "due_date",
    );
    expectValidationError(await call(user, "GET", `/api/${user.id}/tasks/42`), "id");
    expectValidationError(await call(user, "GET", "/api/not-a-user/tasks"), "user_id");
  });

  it("chats with the assistant in the spec's shape, after checking the user", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const added = await call(user, "POST", `/api/${user.id}/chat`, { message: "add buy milk" });
    expect(added.statusCode, added.body).toBe(200);
    const answer = added.json<CompatChatAnswer>();
    expect(answer).toMatchObject({
      conversation_id: expect.any(String),
      response: "Added “buy milk”.",
      tool_calls: [{ name: "add_task", status: "succeeded" }],
      pending_approval: null,
    });
    expect((await list(user)).map((task) => task.title)).toEqual(["buy milk"]);

    const more = await call(user, "POST", `/api/${user.id}/chat`, {
      conversation_id: answer.conversation_id,
      message: "delete buy milk",
    });
    expect(more.statusCode, more.body).toBe(200);
    expect(more.json<CompatChatAnswer>()).toMatchObject({
      conversation_id: answer.conversation_id,
      pending_approval: { summary: "Delete “buy milk”" },
    });
    const history = await call(user, "GET", `/v1/conversations/${answer.conversation_id}/messages`);
    expect(history.json<{ data: unknown[] }>().data).toHaveLength(4);

    expectProblem(
      await call(user, "POST", `/api/${other.id}/chat`, { message: "hello" }),
      403,
      "forbidden",
    );
    expectProblem(
      await call(other, "POST", `/api/${other.id}/chat`, {
        conversation_id: answer.conversation_id,
        message: "hello",
      }),
      404,
      "not_found",
    );
    expectValidationError(
      await call(user, "POST", `/api/${user.id}/chat`, { message: "hi", conversation_id: "x" }),
      "conversation_id",
    );
  });
});
