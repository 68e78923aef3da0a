import { and, count, eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  deleteTask,
  expectProblem,
  patchTask,
  personalWorkspaceId,
  postgresErrorOf,
  taskAction,
  taskActivity,
} from "../../../test/tasks-helpers.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { type Transaction, withTransaction } from "../../platform/db/transaction.ts";
import { LostUpdate } from "../../platform/http/lost-update.ts";
import { toDomainError } from "../../platform/http/problem.ts";
import { activityEvents } from "../activity/schema.ts";
import { recordActivity } from "../activity/service.ts";
import { completeInTransaction, planCompletion } from "./completion.ts";
import { type TaskStatus, tasks } from "./schema.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

function contextFor(user: TestUser): Context {
  return {
    actor: {
      type: "user",
      via: "session",
      userId: user.id,
      name: "Test User",
      email: user.email,
      timezone: "UTC",
    },
    db: t.database.db,
    requestId: "activity-tx-test",
    now: t.clock.now,
    log: t.app.log,
  };
}

async function eventCount(entityId: string): Promise<number> {
  const [row] = await t.database.db
    .select({ total: count() })
    .from(activityEvents)
    .where(eq(activityEvents.entityId, entityId));
  return row?.total ?? 0;
}

describe("activity is written with the change", () => {
  it("records exactly one event per change, in order", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Traced" });
    const steps: Array<() => Promise<{ statusCode: number }>> = [
      () => patchTask(t.app, user, task.id, { priority: "high" }),
      () => taskAction(t.app, user, task.id, "complete"),
      () => taskAction(t.app, user, task.id, "reopen"),
      () => deleteTask(t.app, user, task.id),
      () => taskAction(t.app, user, task.id, "restore"),
    ];
    for (const [index, step] of steps.entries()) {
      t.clock.advance(1_000);
      expect((await step()).statusCode).toBeLessThan(300);
      expect(await eventCount(task.id)).toBe(index + 2);
    }
    const types = (await taskActivity(t.app, user, task.id)).map((event) => event.type);
    expect(types).toEqual([
      "task.restored",
      "task.deleted",
      "task.reopened",
      "task.completed",
      "task.updated",
      "task.created",
    ]);
  });

  it("records a PATCH's changes as { field: { from, to } } for changed fields only", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Old title",
      priority: "low",
      tags: ["a"],
    });
    const response = await patchTask(t.app, user, task.id, {
      title: "New title",
      priority: "low",
      tags: ["a", "B"],
      dueAt: "2026-03-05T09:00:00Z",
    });
    expect(response.statusCode, response.body).toBe(200);
    const [updated] = await taskActivity(t.app, user, task.id);
    expect(updated).toMatchObject({ type: "task.updated", entity: { title: "New title" } });
    expect(updated?.changes).toEqual({
      title: { from: "Old title", to: "New title" },
      tags: { from: ["a"], to: ["a", "b"] },
      dueAt: { from: null, to: "2026-03-05T09:00:00.000Z" },
    });
  });

  it("records the initial values on creation", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Born", priority: "medium" });
    const [created] = await taskActivity(t.app, user, task.id);
    expect(created?.changes).toMatchObject({ title: "Born", priority: "medium", status: "open" });
  });

  it("records nothing for a PATCH that changes nothing", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Same", priority: "low" });
    const response = await patchTask(t.app, user, task.id, { title: "Same", priority: "low" });
    expect(response.json<{ version: number }>().version).toBe(1);
    expect(await eventCount(task.id)).toBe(1);
  });

  it("leaves the activity count unchanged when a request fails", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Guarded" });
    await patchTask(t.app, user, task.id, { priority: "high" });
    const stale = { "if-match": '"1"' };
    expectProblem(
      await patchTask(t.app, user, task.id, { title: "X" }, stale),
      412,
      "precondition_failed",
    );
    expectProblem(await deleteTask(t.app, user, task.id, stale), 412, "precondition_failed");
    const missingParent = { parentId: "0190f1c2-0000-7000-8000-000000000000" };
    expectProblem(await patchTask(t.app, user, task.id, missingParent), 422, "invalid_reference");
    expectProblem(
      await patchTask(t.app, user, task.id, { due: "whenever" }),
      400,
      "validation_failed",
    );
    expect(await eventCount(task.id)).toBe(2);
  });
});

describe("activity rolls back with a failed transaction", () => {
  it("keeps no event when the same transaction then violates a CHECK constraint", async () => {
    const user = await signUp(t.app);
    const workspaceId = await personalWorkspaceId(t.app, user);
    const ctx = contextFor(user);
    const entityId = uuidv7();
    const failing = withTransaction(ctx.db, async (tx) => {
      await recordActivity(inTransaction(ctx, tx), {
        type: "task.created",
        workspaceId,
        entity: { type: "task", id: entityId, title: "" },
      });
      await tx.insert(tasks).values({ id: entityId, workspaceId, title: "", position: 0 });
    });
    expect(await postgresErrorOf(failing)).toMatchObject({
      code: "23514",
      constraint: "tasks_title_length",
    });
    expect(await eventCount(entityId)).toBe(0);
  });

  it("commits the event when the transaction succeeds (control)", async () => {
    const user = await signUp(t.app);
    const workspaceId = await personalWorkspaceId(t.app, user);
    const ctx = contextFor(user);
    const entityId = uuidv7();
    await withTransaction(ctx.db, async (tx) => {
      await recordActivity(inTransaction(ctx, tx), {
        type: "task.created",
        workspaceId,
        entity: { type: "task", id: entityId, title: "Fine" },
      });
      await tx.insert(tasks).values({ id: entityId, workspaceId, title: "Fine", position: 0 });
    });
    expect(await eventCount(entityId)).toBe(1);
  });

  it("undoes the next occurrence and its event when completing hits a stale version", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Recurring",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const [stale] = await t.database.db.select().from(tasks).where(eq(tasks.id, task.id));
    if (!stale) throw new Error("task row missing");
    await patchTask(t.app, user, task.id, { description: "moved on" });
    const ctx = contextFor(user);
    const plan = await planCompletion(ctx, stale);
    expect(plan.nextDueAt).not.toBeNull();
    const failing = withTransaction(ctx.db, (tx) =>
      completeInTransaction(inTransaction(ctx, tx), stale, plan),
    );
    // The verbs turn this into a retry or a 412 (platform/http/lost-update.ts).
    await expect(failing).rejects.toBeInstanceOf(LostUpdate);
    const rows = await t.database.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(eq(tasks.workspaceId, task.workspaceId));
    expect(rows.map((row) => row.id)).toEqual([task.id]);
    const [events] = await t.database.db
      .select({ total: count() })
      .from(activityEvents)
      .where(
        and(
          eq(activityEvents.workspaceId, task.workspaceId),
          eq(activityEvents.type, "task.completed"),
        ),
      );
    expect(events?.total).toBe(0);
    expect(await eventCount(task.id)).toBe(2);
  });
});

/**
 * Runs a statement in its own transaction. (Outside one, a failed query makes
 * the PGlite-backed pool drop its only connection: see the platform report.)
 */
function inOwnTransaction(statement: (tx: Transaction) => PromiseLike<unknown>) {
  return withTransaction(t.database.db, async (tx) => {
    await statement(tx);
  });
}

describe("database integrity (CHECK constraints)", () => {
  const invalidStatus: string = "archived";
  const invalidPriority: string = "critical";

  it.each([
    ["a title of 201 characters", { title: "a".repeat(201) }, "tasks_title_length"],
    ["an empty title", { title: "" }, "tasks_title_length"],
    ["an untrimmed title", { title: " padded " }, "tasks_title_length"],
    ["a description over 10000", { description: "d".repeat(10_001) }, "tasks_description_length"],
    ["an unknown status", { status: invalidStatus as TaskStatus }, "tasks_status_valid"],
    ["an unknown priority", { priority: invalidPriority as "none" }, "tasks_priority_valid"],
    [
      "completed without completedAt",
      { status: "completed" as const },
      "tasks_completed_at_matches_status",
    ],
    ["open with a completedAt", { completedAt: new Date() }, "tasks_completed_at_matches_status"],
    ["21 tags", { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tasks_tags_count"],
    ["a too-short recurrence", { recurrence: "X" }, "tasks_recurrence_length"],
    ["version 0", { version: 0 }, "tasks_version_positive"],
  ])("rejects a direct insert with %s", async (_label, override, constraint) => {
    const user = await signUp(t.app);
    const workspaceId = await personalWorkspaceId(t.app, user);
    const row = { id: uuidv7(), workspaceId, title: "Valid", position: 0, ...override };
    const insert = inOwnTransaction((tx) => tx.insert(tasks).values(row));
    expect(await postgresErrorOf(insert)).toMatchObject({ code: "23514", constraint });
    expect(await t.database.db.select().from(tasks).where(eq(tasks.id, row.id))).toEqual([]);
  });

  it("rejects a task that is its own parent and accepts a valid row", async () => {
    const user = await signUp(t.app);
    const workspaceId = await personalWorkspaceId(t.app, user);
    const id = uuidv7();
    await t.database.db.insert(tasks).values({ id, workspaceId, title: "Valid", position: 0 });
    const selfParent = inOwnTransaction((tx) =>
      tx.update(tasks).set({ parentId: id }).where(eq(tasks.id, id)),
    );
    expect(await postgresErrorOf(selfParent)).toMatchObject({
      code: "23514",
      constraint: "tasks_not_own_parent",
    });
  });

  it("rejects a task in a workspace that does not exist", async () => {
    const row = { id: uuidv7(), workspaceId: uuidv7(), title: "Orphan", position: 0 };
    const insert = inOwnTransaction((tx) => tx.insert(tasks).values(row));
    expect(await postgresErrorOf(insert)).toMatchObject({ code: "23503" });
  });

  // The services check references first; a category deleted between that
  // check and the write reaches the client as the foreign key's answer.
  it("answers a foreign key violation with 422 naming the field, without its value", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Filed" });
    const goneCategory = uuidv7();
    const update = inOwnTransaction((tx) =>
      tx.update(tasks).set({ categoryId: goneCategory }).where(eq(tasks.id, task.id)),
    );
    const answer = toDomainError(
      await update.then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(answer).toMatchObject({
      code: "invalid_reference",
      status: 422,
      message: "categoryId: does not exist",
      errors: [{ path: "categoryId", message: "does not exist" }],
    });
    const orphan = { id: uuidv7(), workspaceId: uuidv7(), title: "Orphan", position: 0 };
    const insert = inOwnTransaction((tx) => tx.insert(tasks).values(orphan));
    const inserted = toDomainError(
      await insert.then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(inserted.errors).toEqual([{ path: "workspaceId", message: "does not exist" }]);
    expect(JSON.stringify(inserted)).not.toContain(orphan.workspaceId);
  });
});
