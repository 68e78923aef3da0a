import { and, eq, isNull, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { conflict } from "../../platform/http/errors.ts";
import {
  checkVersion,
  type ExpectedVersion,
  LostUpdate,
  retryLostUpdates,
} from "../../platform/http/lost-update.ts";
import { recordActivity } from "../activity/service.ts";
import { requestEmbedding } from "../search/service.ts";
import { assertCanChangeTask, findVisibleTask, type TaskRow, taskColumns } from "./access.ts";
import type { Task } from "./contracts.ts";
import { activityView, toTask } from "./mapping.ts";
import { lockTaskTree } from "./references.ts";
import { isValidTimeZone } from "./schedule/index.ts";
import { findNextOccurrence, RecurrenceUnresolvable } from "./schedule/occurrences.ts";
import { type TaskStatus, tasks } from "./schema.ts";

export async function completeTask(ctx: Context, id: string, expected?: ExpectedVersion) {
  return changeStatus(ctx, id, expected, "completed", async (row) => {
    const plan = await planCompletion(ctx, row);
    return async (txCtx) => (await completeInTransaction(txCtx, row, plan)).task;
  });
}

export async function reopenTask(ctx: Context, id: string, expected?: ExpectedVersion) {
  return changeStatus(
    ctx,
    id,
    expected,
    "open",
    async (row) => (txCtx) => reopenInTransaction(txCtx, row),
  );
}

/**
 * Whether moving `row` to `to` changes the task tree: completing a recurring
 * sub-task creates a sub-task (its next occurrence, under the same parent),
 * and reopening a task may trash the next occurrence it created. Such a
 * change takes `lockTaskTree` at the start of its transaction, before any
 * row lock, as every write that gives a task a parent or trashes one does.
 */
export function statusChangeTouchesTree(row: TaskRow, to: TaskStatus): boolean {
  return to === "completed"
    ? row.parentId !== null && row.recurrence !== null
    : row.nextOccurrenceId !== null;
}

async function changeStatus(
  ctx: Context,
  id: string,
  expected: ExpectedVersion,
  to: TaskStatus,
  /** What can be worked out before the transaction, then the change inside it. */
  prepare: (row: TaskRow) => Promise<(txCtx: Context) => Promise<TaskRow>>,
): Promise<Task> {
  return retryLostUpdates(expected, async () => {
    const { row, role } = await findVisibleTask(ctx, id);
    assertCanChangeTask(ctx, role, row);
    checkVersion(expected, row.version);
    const change = await prepare(row);
    return withTransaction(ctx.db, async (tx) => {
      const txCtx = inTransaction(ctx, tx);
      if (statusChangeTouchesTree(row, to)) await lockTaskTree(txCtx, row.workspaceId);
      return toTask(await change(txCtx));
    });
  });
}

/** The moment of a completion and when the next occurrence falls due (null: none). */
export type CompletionPlan = { now: Date; nextDueAt: Date | null };

/**
 * Works out a completion before its transaction: the next occurrence of a
 * recurring task is due at the rule's next date after both its due date and
 * now (in the user's zone), found within `occurrenceBudgetMs`. A stored rule
 * that cannot be evaluated (too slow, or no occurrence within its caps) is a
 * 409 naming `recurrence`.
 */
export async function planCompletion(ctx: Context, row: TaskRow): Promise<CompletionPlan> {
  const now = ctx.now();
  if (row.status === "completed" || !row.recurrence) return { now, nextDueAt: null };
  const zone = actingUser(ctx.actor).timezone;
  const anchor = row.dueAt ?? now;
  const after = new Date(Math.max(anchor.getTime(), now.getTime()));
  const options = { anchor, after, timeZone: isValidTimeZone(zone) ? zone : "UTC" };
  try {
    return { now, nextDueAt: await findNextOccurrence(row.recurrence, options) };
  } catch (error) {
    if (!(error instanceof RecurrenceUnresolvable)) throw error;
    throw conflict(
      `This task's repeat rule cannot be evaluated (${error.reason}); change or remove its recurrence, then complete it`,
      "recurrence",
    );
  }
}

/**
 * Completes a task inside the caller's transaction, as planned by
 * `planCompletion`. A recurring task stays completed as history and its next
 * occurrence (if the series goes on) is created beside it. The caller takes
 * `lockTaskTree` first when `statusChangeTouchesTree`.
 */
export async function completeInTransaction(
  ctx: Context,
  current: TaskRow,
  { now, nextDueAt }: CompletionPlan,
): Promise<{ task: TaskRow; next: TaskRow | null }> {
  if (current.status === "completed") return { task: current, next: null };
  const next = nextDueAt ? await createNextOccurrence(ctx, current, nextDueAt, now) : null;
  const [row] = await ctx.db
    .update(tasks)
    .set({
      status: "completed",
      completedAt: now,
      nextOccurrenceId: next?.id ?? null,
      updatedAt: now,
      version: sql`${tasks.version} + 1`,
    })
    .where(and(eq(tasks.id, current.id), eq(tasks.version, current.version)))
    .returning(taskColumns);
  if (!row) throw new LostUpdate("The task changed while you completed it");
  await recordActivity(ctx, {
    type: "task.completed",
    workspaceId: row.workspaceId,
    entity: { type: "task", id: row.id, title: row.title },
    changes: {
      status: { from: "open", to: "completed" },
      ...(next ? { nextOccurrenceId: { from: null, to: next.id } } : {}),
    },
  });
  return { task: row, next };
}

async function createNextOccurrence(ctx: Context, current: TaskRow, dueAt: Date, now: Date) {
  const [next] = await ctx.db
    .insert(tasks)
    .values({
      id: uuidv7(),
      workspaceId: current.workspaceId,
      title: current.title,
      description: current.description,
      priority: current.priority,
      categoryId: current.categoryId,
      tags: current.tags,
      dueAt,
      allDay: current.allDay,
      recurrence: current.recurrence,
      parentId: current.parentId,
      assigneeId: current.assigneeId,
      position: current.position,
      createdBy: current.createdBy,
      createdAt: now,
      updatedAt: now,
    })
    .returning(taskColumns);
  if (!next) throw new Error("insert returned no row");
  await recordActivity(ctx, {
    type: "task.created",
    workspaceId: next.workspaceId,
    entity: { type: "task", id: next.id, title: next.title },
    changes: { ...activityView(next), previousOccurrenceId: current.id },
  });
  // Same text as the completed one: the worker reuses its vector instead of a model call.
  await requestEmbedding(ctx, [next.id]);
  return next;
}

/**
 * Reopens a task inside the caller's transaction. If completing it had
 * created a next occurrence that nobody has touched since (unchanged, and
 * no sub-tasks under it), that occurrence goes to the trash, so undoing a
 * completion does not leave a duplicate. The caller takes `lockTaskTree`
 * first when `statusChangeTouchesTree`.
 */
export async function reopenInTransaction(ctx: Context, current: TaskRow): Promise<TaskRow> {
  if (current.status === "open") return current;
  const now = ctx.now();
  let withdrawn: string | null = null;
  if (current.nextOccurrenceId) {
    const [trashed] = await ctx.db
      .update(tasks)
      .set({ deletedAt: now, updatedAt: now, version: sql`${tasks.version} + 1` })
      .where(
        and(
          eq(tasks.id, current.nextOccurrenceId),
          eq(tasks.version, 1),
          eq(tasks.status, "open"),
          isNull(tasks.deletedAt),
          sql`not exists (select 1 from ${tasks} as sub where sub.parent_id = ${current.nextOccurrenceId} and sub.deleted_at is null)`,
        ),
      )
      .returning({ id: tasks.id });
    withdrawn = trashed?.id ?? null;
  }
  const [row] = await ctx.db
    .update(tasks)
    .set({
      status: "open",
      completedAt: null,
      nextOccurrenceId: withdrawn ? null : current.nextOccurrenceId,
      updatedAt: now,
      version: sql`${tasks.version} + 1`,
    })
    .where(and(eq(tasks.id, current.id), eq(tasks.version, current.version)))
    .returning(taskColumns);
  if (!row) throw new LostUpdate("The task changed while you reopened it");
  await recordActivity(ctx, {
    type: "task.reopened",
    workspaceId: row.workspaceId,
    entity: { type: "task", id: row.id, title: row.title },
    changes: {
      status: { from: "completed", to: "open" },
      ...(withdrawn ? { nextOccurrenceWithdrawn: withdrawn } : {}),
    },
  });
  return row;
}
