import { eq, sql } from "drizzle-orm";
import { DateTime } from "luxon";
import type { Context } from "../../platform/context.ts";
import {
  conflict,
  DomainError,
  invalidReference,
  validationFailed,
} from "../../platform/http/errors.ts";
import { visibleCategoryWorkspace } from "../categories/service.ts";
import { holdMemberships, isAssignable } from "../workspaces/service.ts";
import { canChangeTask, findVisibleTask } from "./access.ts";
import { isValidTimeZone, parseDue, parseRecurrence, ruleHasTime } from "./schedule/index.ts";
import { findNextOccurrence, RecurrenceUnresolvable } from "./schedule/occurrences.ts";
import { tasks } from "./schema.ts";

type References = {
  categoryId?: string | null | undefined;
  parentId?: string | null | undefined;
  assigneeId?: string | null | undefined;
};

/**
 * Checks that what a task points at exists, is visible and lives in the same
 * workspace: a category, a parent task (without making a cycle) and an
 * assignee who is a member. A bad reference is a 422 naming the field.
 *
 * Inside the write's transaction, pass `{ locked: true }`: the parent is
 * then checked under `lockTaskTree` and the assignee after
 * `holdMemberships`, which keep them right until the write commits (a
 * delete may trash a parent, a simultaneous move turn it into a cycle, a
 * removal or demotion take an assignee out). A category needs no lock: its
 * foreign key refuses a deleted one (422 naming categoryId).
 */
export async function checkReferences(
  ctx: Context,
  workspaceId: string,
  input: References,
  taskId?: string,
  options: { locked?: boolean } = {},
): Promise<void> {
  if (input.categoryId) {
    const categoryWorkspace = await visibleCategoryWorkspace(ctx, input.categoryId);
    if (categoryWorkspace !== workspaceId) {
      throw invalidReference("categoryId", "no such category in this workspace");
    }
  }
  if (input.parentId) {
    if (options.locked) await lockTaskTree(ctx, workspaceId);
    await checkParent(ctx, workspaceId, input.parentId, taskId);
  }
  if (input.assigneeId) {
    if (options.locked) await holdMemberships(ctx, workspaceId);
    await checkAssignee(ctx, workspaceId, input.assigneeId);
  }
}

/**
 * An assignee must be a member above viewer. A removal or demotion
 * unassigns the member's tasks, but not a task whose assignment has not
 * committed yet: hence the check under `holdMemberships`.
 */
async function checkAssignee(ctx: Context, workspaceId: string, assigneeId: string): Promise<void> {
  if (!(await isAssignable(ctx, workspaceId, assigneeId))) {
    throw invalidReference("assigneeId", "must be a member (not a viewer) of the workspace");
  }
}

/**
 * A parent must be a live task of the same workspace that is not the task
 * itself or below it, and one the caller may change: a sub-task goes to the
 * trash and comes back with its parent, so hanging one under a task changes
 * that task. Before, a member could hang one under anyone's task, and its
 * owner, if a member, could then no longer delete it (403: a sub-task not
 * theirs would go along).
 */
async function checkParent(
  ctx: Context,
  workspaceId: string,
  parentId: string,
  taskId?: string,
): Promise<void> {
  if (parentId === taskId) throw invalidReference("parentId", "a task cannot be its own parent");
  const parent = await findVisibleTask(ctx, parentId).catch(() => null);
  if (!parent || parent.row.workspaceId !== workspaceId) {
    throw invalidReference("parentId", "no such task in this workspace");
  }
  if (!canChangeTask(ctx, parent.role, parent.row)) {
    const message = "members can add sub-tasks only under tasks they created or are assigned to";
    throw new DomainError("forbidden", `parentId: ${message}`, {
      errors: [{ path: "parentId", message }],
    });
  }
  if (taskId && (await isAncestor(ctx, taskId, parentId))) {
    throw invalidReference("parentId", "would make a task its own ancestor");
  }
}

/**
 * A sub-task comes back from the trash only to a live parent: restoring the
 * parent brings back the sub-tasks that went with it, and a sub-task
 * restored alone under a parent still in the trash would be a live task
 * whose parent answers 404.
 */
export async function assertParentLive(ctx: Context, parentId: string): Promise<void> {
  const [parent] = await ctx.db
    .select({ deletedAt: tasks.deletedAt })
    .from(tasks)
    .where(eq(tasks.id, parentId));
  if (parent?.deletedAt) {
    throw conflict("Its parent task is in the trash; restore the parent first");
  }
}

/** The lock class of `lockTaskTree` ("task"), in pg_advisory_xact_lock's (int, int) key space. */
const taskTreeLock = 0x7461736b;

/**
 * Serialises changes to one workspace's task tree for the rest of the
 * transaction: every write that gives a task a parent and every delete
 * (which trashes the live subtree) takes it first, and then checks the
 * parent, or collects the subtree, with what the others committed. Without
 * it, two simultaneous PATCHes putting A under B and B under A both passed
 * the cycle check, and a sub-task created while its parent was being
 * deleted stayed live under a parent in the trash.
 */
export async function lockTaskTree(ctx: Context, workspaceId: string): Promise<void> {
  await ctx.db.execute(
    sql`select pg_advisory_xact_lock(${taskTreeLock}, hashtext(${workspaceId}))`,
  );
}

/**
 * Whether `ancestorId` is `taskId` or above it, however deep: the walk up the
 * parents has no depth bound (a bounded one lets a long enough chain be
 * closed into a cycle), and `union` ends it even on a cycle already in the
 * data.
 */
async function isAncestor(ctx: Context, ancestorId: string, taskId: string): Promise<boolean> {
  const result = await ctx.db.execute<{ found: boolean }>(sql`
    with recursive chain(id, parent_id) as (
      select ${tasks.id}, ${tasks.parentId} from ${tasks} where ${tasks.id} = ${taskId}
      union
      select t.id, t.parent_id from ${tasks} t join chain on t.id = chain.parent_id
    )
    select exists(select 1 from chain where id = ${ancestorId}) as found`);
  return result.rows[0]?.found === true;
}

export type ScheduleInput = {
  dueAt?: string | null | undefined;
  allDay?: boolean | undefined;
  due?: string | undefined;
  recurrence?: string | null | undefined;
};

export type Schedule = { dueAt?: Date | null; allDay?: boolean; recurrence?: string | null };

/**
 * Turns the schedule fields of a request into column values: natural
 * language read in the user's time zone, recurrence stored as an RRULE, and
 * a recurring task without a date due at its first occurrence. Whenever the
 * rule or the date of a recurring task changes, the rule is evaluated from
 * that date, so a rule whose next occurrence cannot be found in time is
 * refused here (400 naming `recurrence`), not when the task is completed.
 * Call it before a transaction: that may take up to `occurrenceBudgetMs`.
 */
export async function resolveSchedule(
  ctx: Context,
  timeZone: string,
  input: ScheduleInput,
  current: { dueAt: Date | null; recurrence: string | null } = { dueAt: null, recurrence: null },
): Promise<Schedule> {
  const zone = isValidTimeZone(timeZone) ? timeZone : "UTC";
  const schedule: Schedule = {};
  if (input.due !== undefined) {
    const parsed = parseDue(input.due, { now: ctx.now(), timeZone: zone });
    if (!parsed) throw validationFailed("due", `could not read "${input.due}" as a date`);
    schedule.dueAt = parsed.dueAt;
    schedule.allDay = parsed.allDay;
  } else if (input.dueAt !== undefined) {
    schedule.dueAt = input.dueAt === null ? null : new Date(input.dueAt);
    schedule.allDay = input.dueAt !== null && input.allDay === true;
  } else if (input.allDay !== undefined) {
    schedule.allDay = input.allDay && current.dueAt !== null;
  }
  if (input.recurrence === null) schedule.recurrence = null;
  else if (input.recurrence !== undefined) {
    const rule = parseRecurrence(input.recurrence);
    if (!rule) {
      throw validationFailed("recurrence", `could not read "${input.recurrence}" as a repeat rule`);
    }
    schedule.recurrence = rule;
  }
  const rule = schedule.recurrence === undefined ? current.recurrence : schedule.recurrence;
  if (rule && (schedule.recurrence || schedule.dueAt !== undefined)) {
    const dueAt = schedule.dueAt === undefined ? current.dueAt : schedule.dueAt;
    // Untimed rules make all-day tasks, due at the end of their local day like parseDue's.
    const now = ctx.now();
    const allDay = !ruleHasTime(rule);
    const anchor =
      dueAt ?? (allDay ? DateTime.fromJSDate(now, { zone }).endOf("day").toJSDate() : now);
    const after = dueAt ? new Date(dueAt.getTime() - 1) : now;
    const first = await evaluateRule(rule, { anchor, after, timeZone: zone });
    if (dueAt === null && schedule.recurrence) {
      schedule.dueAt = first;
      schedule.allDay = allDay;
    }
  }
  return schedule;
}

async function evaluateRule(
  rule: string,
  options: { anchor: Date; after: Date; timeZone: string },
): Promise<Date | null> {
  try {
    return await findNextOccurrence(rule, options);
  } catch (error) {
    if (!(error instanceof RecurrenceUnresolvable)) throw error;
    throw validationFailed(
      "recurrence",
      `could not work out when "${rule}" next occurs (${error.reason}); use a simpler rule`,
    );
  }
}
