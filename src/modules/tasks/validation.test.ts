import { v7 as uuidv7 } from "uuid";
import { beforeAll, describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createCategory,
  createTask,
  expectProblem,
  expectValidationError,
  getTask,
  listResponse,
  listTasks,
  listTitles,
  patchTask,
} from "../../../test/tasks-helpers.ts";
import { tasks } from "./schema.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

function post(user: TestUser, payload: Record<string, unknown>) {
  return t.app.inject({ method: "POST", url: "/v1/tasks", headers: user.headers, payload });
}

describe("task body validation (400 validation_failed)", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await signUp(t.app);
  });

  it.each([
    ["an empty title", { title: "" }, "title"],
    ["a whitespace-only title", { title: "   \t " }, "title"],
    ["a title over 200 characters after trimming", { title: ` ${"a".repeat(201)} ` }, "title"],
    ["a missing title", { description: "no title" }, "title"],
    [
      "a description over 10000 characters",
      { title: "T", description: "d".repeat(10_001) },
      "description",
    ],
    ["an unknown priority", { title: "T", priority: "critical" }, "priority"],
    [
      "more than 20 tags",
      { title: "T", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      "tags",
    ],
    ["a tag over 50 characters", { title: "T", tags: ["ok", "x".repeat(51)] }, "tags"],
    ["an empty tag", { title: "T", tags: [" "] }, "tags"],
    ["a dueAt that is not ISO 8601", { title: "T", dueAt: "next friday" }, "dueAt"],
    ["a dueAt without an offset", { title: "T", dueAt: "2026-03-05T09:00:00" }, "dueAt"],
    // V8 reads Postgres' "0001-01-01 00:00:00+00" back as 2001 (Drizzle's mapping).
    ["a dueAt in the year 1", { title: "T", dueAt: "0001-01-01T00:00:00Z" }, "dueAt"],
    ["a dueAt in the year 999", { title: "T", dueAt: "0999-12-31T23:59:59Z" }, "dueAt"],
    ["a dueAt in the year 0", { title: "T", dueAt: "0000-01-01T00:00:00Z" }, "dueAt"],
    ["an unparseable due", { title: "T", due: "when pigs fly" }, "due"],
    ["both due and dueAt", { title: "T", due: "tomorrow", dueAt: "2026-03-05T09:00:00Z" }, "due"],
    ["an unparseable recurrence", { title: "T", recurrence: "now and then" }, "recurrence"],
    ["an invalid RRULE", { title: "T", recurrence: "FREQ=SOMETIMES" }, "recurrence"],
    ["a non-UUID categoryId", { title: "T", categoryId: "home" }, "categoryId"],
  ])("rejects %s", async (_label, payload, path) => {
    expectValidationError(await post(user, payload), path);
  });

  it("gives back the earliest dueAt it takes unchanged, from the write and from a read", async () => {
    const task = await createTask(t.app, user, { title: "T", dueAt: "1000-01-01T00:00:00+01:00" });
    expect(task.dueAt).toBe("0999-12-31T23:00:00.000Z");
    const read = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    expect(read.json<{ dueAt: string }>().dueAt).toBe("0999-12-31T23:00:00.000Z");
  });

  it("accepts a title of exactly 200 characters once trimmed", async () => {
    const task = await createTask(t.app, user, { title: `  ${"a".repeat(200)}  ` });
    expect(task.title).toHaveLength(200);
  });

  it("rejects an unknown body field and stores nothing", async () => {
    const fresh = await signUp(t.app);
    const response = await post(fresh, { title: "Sneaky", ownerId: fresh.id });
    const problem = expectValidationError(response, "ownerId");
    expect(problem.errors).toContainEqual({ path: "ownerId", message: "unknown field" });
    expect(await listTitles(t.app, fresh, { status: "all" })).toEqual([]);
  });

  it("rejects an unknown field on PATCH and leaves the task unchanged", async () => {
    const task = await createTask(t.app, user, { title: "Keep" });
    const response = await patchTask(t.app, user, task.id, { title: "Changed", version: 7 });
    expectValidationError(response, "version");
    const get = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    expect(get.json<{ title: string; version: number }>()).toMatchObject({
      title: "Keep",
      version: 1,
    });
  });

  it.each([
    ["an empty title", { title: " " }, "title"],
    ["an unparseable due", { due: "someday maybe" }, "due"],
    ["an unparseable recurrence", { recurrence: "every blue moon" }, "recurrence"],
    ["an unknown status", { status: "archived" }, "status"],
  ])("rejects %s on PATCH", async (_label, payload, path) => {
    const task = await createTask(t.app, user, { title: "Patch target" });
    expectValidationError(await patchTask(t.app, user, task.id, payload), path);
  });

  it.each([
    ["GET", ""],
    ["PATCH", ""],
    ["DELETE", ""],
    ["POST", "/complete"],
    ["POST", "/reopen"],
    ["POST", "/restore"],
    ["GET", "/activity"],
  ] as const)("rejects a non-UUID id on %s /v1/tasks/{id}%s", async (method, suffix) => {
    const response = await t.app.inject({
      method,
      url: `/v1/tasks/not-a-uuid${suffix}`,
      headers: user.headers,
      ...(method === "PATCH" ? { payload: { title: "x" } } : {}),
    });
    expectValidationError(response, "id");
  });

  it("rejects an empty quick-add text", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks/quick",
      headers: user.headers,
      payload: { text: "   " },
    });
    expectValidationError(response, "text");
  });
});

describe("list query validation (400 validation_failed)", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await signUp(t.app);
  });

  it.each([
    ["limit=0", { limit: "0" }, "limit"],
    ["limit=101", { limit: "101" }, "limit"],
    ["limit=abc", { limit: "abc" }, "limit"],
    ["limit=2.5", { limit: "2.5" }, "limit"],
    // Number() reads all of these as numbers; a whole number is plain digits.
    ["an empty limit", { limit: "" }, "limit"],
    ["limit=1e1", { limit: "1e1" }, "limit"],
    ["limit=0x10", { limit: "0x10" }, "limit"],
    ["limit=+5", { limit: "+5" }, "limit"],
    ["limit=05", { limit: "05" }, "limit"],
    ["limit=5.0", { limit: "5.0" }, "limit"],
    ["limit=' 5'", { limit: " 5" }, "limit"],
    ["an unknown query parameter", { colour: "red" }, "colour"],
    ["status=done", { status: "done" }, "status"],
    ["sort=random", { sort: "random" }, "sort"],
    ["order=up", { order: "up" }, "order"],
    ["a priority list with an unknown entry", { priority: "high,critical" }, "priority"],
    ["overdue=yes", { overdue: "yes" }, "overdue"],
    ["deleted=1", { deleted: "1" }, "deleted"],
    ["a non-UUID categoryId", { categoryId: "home" }, "categoryId"],
    ["assigneeId=you", { assigneeId: "you" }, "assigneeId"],
    ["a dueBefore that is not ISO 8601", { dueBefore: "tomorrow" }, "dueBefore"],
    ["a dueAfter in the year 0", { dueAfter: "0000-01-01T00:00:00Z" }, "dueAfter"],
    ["a malformed cursor", { cursor: "not-a-cursor" }, "cursor"],
    ["a cursor of valid base64 JSON with the wrong shape", { cursor: "eyJhIjoxfQ" }, "cursor"],
  ])("rejects %s", async (_label, params, path) => {
    expectValidationError(await listResponse(t.app, user, params), path);
  });

  it.each([
    ["createdAt", "not a date"],
    ["position", "abc"],
    ["title", null],
    ["priority", "high"],
  ])("rejects a forged %s cursor whose key has the wrong type (%s)", async (sort, key) => {
    const forged = { sort: `${sort}:asc`, key, id: "0190f1c2-0000-7000-8000-000000000000" };
    const cursor = Buffer.from(JSON.stringify(forged)).toString("base64url");
    expectValidationError(await listResponse(t.app, user, { sort, cursor }), "cursor");
    expect((await listResponse(t.app, user, { sort })).statusCode).toBe(200);
  });

  it("rejects a cursor issued for another sort or order", async () => {
    for (const title of ["a", "b", "c"]) await createTask(t.app, user, { title });
    const page = await listTasks(t.app, user, { sort: "title", limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    const cursor = page.nextCursor ?? "";
    expectValidationError(await listResponse(t.app, user, { sort: "dueAt", cursor }), "cursor");
    expectValidationError(
      await listResponse(t.app, user, { sort: "title", order: "desc", cursor }),
      "cursor",
    );
  });
});

describe("references (422 invalid_reference)", () => {
  it("rejects another user's category and a nonexistent one", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const foreign = await createCategory(t.app, other, "Theirs");
    for (const categoryId of [foreign.id, "0190f1c2-0000-7000-8000-000000000000"]) {
      const problem = expectProblem(
        await post(user, { title: "T", categoryId }),
        422,
        "invalid_reference",
      );
      expect(problem.errors?.[0]?.path).toBe("categoryId");
    }
    expect(await listTitles(t.app, user, { status: "all" })).toEqual([]);
  });

  it("rejects another user's task and a nonexistent one as parent", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const foreign = await createTask(t.app, other, { title: "Theirs" });
    for (const parentId of [foreign.id, "0190f1c2-0000-7000-8000-000000000000"]) {
      const problem = expectProblem(
        await post(user, { title: "T", parentId }),
        422,
        "invalid_reference",
      );
      expect(problem.errors?.[0]?.path).toBe("parentId");
    }
  });

  it("rejects a PATCH that would make a parent cycle", async () => {
    const user = await signUp(t.app);
    const a = await createTask(t.app, user, { title: "A" });
    const b = await createTask(t.app, user, { title: "B", parentId: a.id });
    const c = await createTask(t.app, user, { title: "C", parentId: b.id });
    for (const [id, parentId] of [
      [a.id, c.id],
      [a.id, b.id],
      [a.id, a.id],
    ] as const) {
      const problem = expectProblem(
        await patchTask(t.app, user, id, { parentId }),
        422,
        "invalid_reference",
      );
      expect(problem.errors?.[0]?.path).toBe("parentId");
    }
    const moved = await patchTask(t.app, user, c.id, { parentId: a.id });
    expect(moved.statusCode, moved.body).toBe(200);
  });

  it("rejects a cycle however long the chain of sub-tasks is", async () => {
    const user = await signUp(t.app);
    const root = await createTask(t.app, user, { title: "Root" });
    // 150 levels below the root, written straight to the table.
    const chain = Array.from({ length: 150 }, () => uuidv7());
    await t.database.db.insert(tasks).values(
      chain.map((id, index) => ({
        id,
        workspaceId: root.workspaceId,
        title: `Level ${index + 1}`,
        position: index,
        parentId: index === 0 ? root.id : (chain[index - 1] as string),
      })),
    );
    const leaf = chain.at(-1) as string;
    const problem = expectProblem(
      await patchTask(t.app, user, root.id, { parentId: leaf }),
      422,
      "invalid_reference",
    );
    expect(problem.errors).toEqual([
      { path: "parentId", message: "would make a task its own ancestor" },
    ]);
    expect((await getTask(t.app, user, root.id)).parentId).toBeNull();
  });

  it("rejects assigning someone who is not a member of the workspace", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const problem = expectProblem(
      await post(user, { title: "T", assigneeId: other.id }),
      422,
      "invalid_reference",
    );
    expect(problem.errors?.[0]?.path).toBe("assigneeId");
  });
});
