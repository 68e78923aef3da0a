import { and, count, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import { notFound } from "../../platform/http/errors.ts";
import {
  checkVersion,
  type ExpectedVersion,
  LostUpdate,
  retryLostUpdates,
} from "../../platform/http/lost-update.ts";
import { diffChanges, listEntityActivity, recordActivity } from "../activity/service.ts";
import { listCategoryNames } from "../categories/service.ts";
import { requestEmbedding } from "../search/service.ts";
import { assertAllowed } from "../workspaces/permissions.ts";
import { personalWorkspaceId, roleIn } from "../workspaces/service.ts";
import {
  assertCanChangeSubtasks,
  assertCanChangeTask,
  findVisibleTask,
  type TaskRow,
  taskColumns,
  visibleTaskStatement,
  visibleTaskStatementName,
} from "./access.ts";
import {
  completeInTransaction,
  planCompletion,
  reopenInTransaction,
  statusChangeTouchesTree,
} from "./completion.ts";
import type { CreateTaskInput, Task, UpdateTaskInput } from "./contracts.ts";
import { activityView, normaliseTags, toTask } from "./mapping.ts";
import { assertParentLive, checkReferences, lockTaskTree, resolveSchedule } from "./references.ts";
import { queryCells, taskRowFromCells } from "./rows.ts";
import { applyQuickAddSplit, parseQuickAdd, type QuickAddSplit } from "./schedule/index.ts";
import { tasks } from "./schema.ts";

export { completeTask, reopenTask } from "./completion.ts";
export { listTasks } from "./list.ts";

export async function getTask(ctx: Context, id: string): Promise<Task> {
  if (workspaceRestriction(ctx.actor) === null) {
    const statement = visibleTaskStatement(ctx.db);
    const rows = await queryCells(ctx, visibleTaskStatementName, statement.query, {
      userId: actingUser(ctx.actor).userId,
      id,
    });
    if (rows) {
      const [cells] = rows;
      if (!cells) throw notFound("Task");
      return toTask(taskRowFromCells(cells));
    }
  }
  const { row } = await findVisibleTask(ctx, id);
  return toTask(row);
}

export async function createTask(ctx: Context, input: CreateTaskInput): Promise<Task> {
  const me = actingUser(ctx.actor);
  const workspaceId =
    input.workspaceId ?? workspaceRestriction(ctx.actor) ?? (await personalWorkspaceId(ctx));
  assertAllowed(await roleIn(ctx, workspaceId), "task.create");
  const schedule = await resolveSchedule(ctx, me.timezone, input);
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    await checkReferences(txCtx, workspaceId, input, undefined, { locked: true });
    const now = ctx.now();
    const [row] = await tx
      .insert(tasks)
      .values({
        id: uuidv7(),
        workspaceId,
        title: input.title,
        description: input.description ?? null,
        priority: input.priority ?? "none",
        categoryId: input.categoryId ?? null,
        tags: normaliseTags(input.tags ?? []),
        dueAt: schedule.dueAt ?? null,
        allDay: schedule.allDay ?? false,
        recurrence: schedule.recurrence ?? null,
        parentId: input.parentId ?? null,
        assigneeId: input.assigneeId ?? null,
        position: input.position ?? now.getTime(),
        createdBy: me.userId,
        createdAt: now,
        updatedAt: now,
      })
      .returning(taskColumns);
    if (!row) throw new Error("insert returned no row");
    await recordActivity(txCtx, {
      type: "task.created",
      workspaceId,
      entity: { type: "task", id: row.id, title: row.title },
      changes: activityView(row),
    });
    await requestEmbedding(txCtx, [row.id]);
    return toTask(row);
  });
}

/**
 * Splits quick-add text with a model (the AI layer's `quickadd` chain); null
 * when no model answered usefully, and the offline parser does it alone.
 */
export type QuickAddSplitter = (
  ctx: Context,
  input: { text: string; workspaceId: string; categories: string[] },
) => Promise<QuickAddSplit | null>;

/** Quick add: one line of text becomes a task ("Pay rent every 1st at 9am #Home @finance p1"). */
export async function quickAddTask(
  ctx: Context,
  input: { text: string; workspaceId?: string | undefined },
  splitter?: QuickAddSplitter,
): Promise<Task> {
  const me = actingUser(ctx.actor);
  const workspaceId =
    input.workspaceId ?? workspaceRestriction(ctx.actor) ?? (await personalWorkspaceId(ctx));
  // Checked before the model is asked, so a viewer spends no tokens on a refusal.
  assertAllowed(await roleIn(ctx, workspaceId), "task.create");
  const categories = await listCategoryNames(ctx, workspaceId);
  const options = { now: ctx.now(), timeZone: me.timezone, categories };
  const split = splitter
    ? await splitter(ctx, {
        text: input.text,
        workspaceId,
        categories: categories.map((c) => c.name),
      })
    : null;
  const parsed = split
    ? applyQuickAddSplit(input.text, split, options)
    : parseQuickAdd(input.text, options);
  return createTask(ctx, {
    // Cut to the column's 200 characters without leaving a trailing space behind.
    title: parsed.title.slice(0, 200).trimEnd(),
    workspaceId,
    categoryId: parsed.categoryId,
    tags: parsed.tags,
    priority: parsed.priority ?? undefined,
    dueAt: parsed.dueAt?.toISOString() ?? null,
    allDay: parsed.allDay,
    recurrence: parsed.recurrence,
  });
}

export async function updateTask(
  ctx: Context,
  id: string,
  input: UpdateTaskInput,
  expectedVersion?: ExpectedVersion,
): Promise<Task> {
  return retryLostUpdates(expectedVersion, () => updateOnce(ctx, id, input, expectedVersion));
}

async function updateOnce(
  ctx: Context,
  id: string,
  input: UpdateTaskInput,
  expectedVersion: ExpectedVersion,
): Promise<Task> {
  const me = actingUser(ctx.actor);
  const { row: current, role } = await findVisibleTask(ctx, id);
  assertCanChangeTask(ctx, role, current);
  checkVersion(expectedVersion, current.version);
  await checkReferences(ctx, current.workspaceId, input, id);
  const {
    status,
    due: _due,
    dueAt: _dueAt,
    allDay: _allDay,
    recurrence: _recurrence,
    ...fields
  } = input;
  const values: Partial<typeof tasks.$inferInsert> = {
    ...fields,
    ...(fields.tags ? { tags: normaliseTags(fields.tags) } : {}),
    ...(await resolveSchedule(ctx, me.timezone, input, current)),
  };
  const changes = diffChanges(
    activityView(current),
    activityView({ ...current, ...values } as TaskRow),
  );
  const statusChanges = status !== undefined && status !== current.status;
  if (Object.keys(changes).length === 0 && !statusChanges) return toTask(current);
  const completion =
    statusChanges && status === "completed"
      ? await planCompletion(ctx, { ...current, ...values } as TaskRow)
      : null;
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    if (statusChanges && statusChangeTouchesTree({ ...current, ...values } as TaskRow, status)) {
      await lockTaskTree(txCtx, current.workspaceId);
    }
    const moved = {
      parentId: "parentId" in changes ? input.parentId : undefined,
      assigneeId: "assigneeId" in changes ? input.assigneeId : undefined,
    };
    // Checked above for a quick answer; the moved ones again under their locks.
    await checkReferences(txCtx, current.workspaceId, moved, id, { locked: true });
    let row = current;
    if (Object.keys(changes).length > 0) {
      const [updated] = await tx
        .update(tasks)
        .set({ ...values, version: sql`${tasks.version} + 1`, updatedAt: ctx.now() })
        .where(and(eq(tasks.id, id), eq(tasks.version, current.version)))
        .returning(taskColumns);
      if (!updated) throw new LostUpdate("The task changed while you were editing it");
      row = updated;
      await recordActivity(txCtx, {
        type: "task.updated",
        workspaceId: row.workspaceId,
        entity: { type: "task", id: row.id, title: row.title },
        changes,
      });
      if ("title" in changes || "description" in changes) await requestEmbedding(txCtx, [row.id]);
    }
    if (completion) row = (await completeInTransaction(txCtx, row, completion)).task;
    else if (statusChanges) row = await reopenInTransaction(txCtx, row);
    return toTask(row);
  });
}

/**
 * Sub-tasks of a task at every depth: the live ones (`trashedAt` null), or
 * those that went to the trash together with it at `trashedAt`.
 */
function subtaskIds(id: string, trashedAt: Date | null): SQL {
  const state = trashedAt ? sql`t.deleted_at = ${trashedAt}` : sql`t.deleted_at is null`;
  return sql`(with recursive subtree(id) as (
      select t.id from ${tasks} t where t.parent_id = ${id} and ${state}
      union
      select t.id from ${tasks} t join subtree on t.parent_id = subtree.id where ${state}
    ) select id from subtree)`;
}

/** Soft delete. Sub-tasks at every depth go to the trash with it and come back with it. */
export async function deleteTask(ctx: Context, id: string, expectedVersion?: ExpectedVersion) {
  await retryLostUpdates(expectedVersion, () => deleteOnce(ctx, id, expectedVersion));
}

async function deleteOnce(ctx: Context, id: string, expectedVersion: ExpectedVersion) {
  const { row: current, role } = await findVisibleTask(ctx, id);
  assertCanChangeTask(ctx, role, current);
  checkVersion(expectedVersion, current.version);
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    // Sub-tasks created or moved under it meanwhile are committed, and trashed with it.
    await lockTaskTree(txCtx, current.workspaceId);
    await assertCanChangeSubtasks(txCtx, role, subtaskIds(id, null), "delete");
    const now = ctx.now();
    const trashed = { deletedAt: now, updatedAt: now, version: sql`${tasks.version} + 1` };
    const [row] = await tx
      .update(tasks)
      .set(trashed)
      .where(and(eq(tasks.id, id), eq(tasks.version, current.version), isNull(tasks.deletedAt)))
      .returning({ id: tasks.id });
    if (!row) throw new LostUpdate("The task changed while you deleted it");
    const children = await tx
      .update(tasks)
      .set(trashed)
      .where(inArray(tasks.id, subtaskIds(id, null)))
      .returning({ id: tasks.id });
    await recordActivity(txCtx, {
      type: "task.deleted",
      workspaceId: current.workspaceId,
      entity: { type: "task", id, title: current.title },
      changes: children.length > 0 ? { subtasksDeleted: children.length } : {},
    });
  });
}

export async function restoreTask(
  ctx: Context,
  id: string,
  expectedVersion?: ExpectedVersion,
): Promise<Task> {
  return retryLostUpdates(expectedVersion, () => restoreOnce(ctx, id, expectedVersion));
}

async function restoreOnce(ctx: Context, id: string, expectedVersion: ExpectedVersion) {
  const { row: current, role } = await findVisibleTask(ctx, id, { deleted: true });
  assertCanChangeTask(ctx, role, current);
  checkVersion(expectedVersion, current.version);
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    if (current.parentId) {
      // Under the tree lock, so the parent cannot go to the trash meanwhile.
      await lockTaskTree(txCtx, current.workspaceId);
      await assertParentLive(txCtx, current.parentId);
    }
    await assertCanChangeSubtasks(txCtx, role, subtaskIds(id, current.deletedAt), "restore");
    const now = ctx.now();
    const restored = { deletedAt: null, updatedAt: now, version: sql`${tasks.version} + 1` };
    const [row] = await tx
      .update(tasks)
      .set(restored)
      .where(and(eq(tasks.id, id), eq(tasks.version, current.version)))
      .returning(taskColumns);
    if (!row) throw new LostUpdate("The task changed while you restored it");
    if (current.deletedAt) {
      await tx
        .update(tasks)
        .set(restored)
        .where(inArray(tasks.id, subtaskIds(id, current.deletedAt)));
    }
    await recordActivity(txCtx, {
      type: "task.restored",
      workspaceId: row.workspaceId,
      entity: { type: "task", id, title: row.title },
    });
    return toTask(row);
  });
}

export async function listTaskActivity(
  ctx: Context,
  id: string,
  query: { limit: number; cursor?: string | undefined },
) {
  await findVisibleTask(ctx, id);
  return listEntityActivity(ctx, { type: "task", id }, query);
}

/** Live tasks per category, for the categories module's taskCount. */
export async function countLiveTasksByCategory(
  ctx: Context,
  categoryIds: string[],
): Promise<Map<string, number>> {
  if (categoryIds.length === 0) return new Map();
  const rows = await ctx.db
    .select({ categoryId: tasks.categoryId, total: count() })
    .from(tasks)
    .where(and(inArray(tasks.categoryId, categoryIds), isNull(tasks.deletedAt)))
    .groupBy(tasks.categoryId);
  return new Map(rows.map((row) => [row.categoryId ?? "", row.total]));
}

/** Detaches every task from a category about to be deleted; returns how many. */
export async function uncategoriseTasks(ctx: Context, categoryId: string): Promise<number> {
  const rows = await ctx.db
    .update(tasks)
    .set({ categoryId: null, updatedAt: ctx.now(), version: sql`${tasks.version} + 1` })
    .where(eq(tasks.categoryId, categoryId))
    .returning({ id: tasks.id });
  return rows.length;
}

/**
 * Unassigns a user from every task of a workspace (they left, were removed or
 * became a viewer: only members above viewer may be assigned); returns how many.
 */
export async function unassignTasks(
  ctx: Context,
  workspaceId: string,
  userId: string,
): Promise<number> {
  const rows = await ctx.db
    .update(tasks)
    .set({ assigneeId: null, updatedAt: ctx.now(), version: sql`${tasks.version} + 1` })
    .where(and(eq(tasks.workspaceId, workspaceId), eq(tasks.assigneeId, userId)))
    .returning({ id: tasks.id });
  return rows.length;
}

/**
 * Who a task concerns (its assignee and its maker), for tasks by id: what
 * the notifier reads to tell them of changes others make. Acts for no one.
 */
export async function peopleOfTasks(
  db: Executor,
  ids: string[],
): Promise<Map<string, { assigneeId: string | null; createdBy: string | null }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: tasks.id, assigneeId: tasks.assigneeId, createdBy: tasks.createdBy })
    .from(tasks)
    .where(inArray(tasks.id, ids));
  return new Map(rows.map((row) => [row.id, row]));
}
