import { and, eq, getTableColumns, inArray, isNull, type SQL, sql } from "drizzle-orm";
import { type Actor, actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import { DomainError, notFound } from "../../platform/http/errors.ts";
import { membershipsOf, visibleWorkspaceIds } from "../workspaces/membership.ts";
import { allows } from "../workspaces/permissions.ts";
import { member, type WorkspaceRole } from "../workspaces/schema.ts";
import { tasks } from "./schema.ts";

/**
 * Every task column but the search vector: it is only ever compared in SQL,
 * and reading it back costs ~10% of a list page.
 */
export const taskColumns = (() => {
  const { search: _search, ...columns } = getTableColumns(tasks);
  return columns;
})();

export type TaskRow = Omit<typeof tasks.$inferSelect, "search">;

/** Tasks in workspaces the actor may see; everything else does not exist for them. */
export function visibleTo(actor: Actor) {
  return inArray(tasks.workspaceId, visibleWorkspaceIds(actor));
}

/**
 * The most frequent read, `GET /v1/tasks/{id}`, as a prepared statement
 * (see preparedPerDatabase): the task's columns in `taskColumns` order, then
 * the user's role in its workspace. `getTask` sends its text straight to the
 * pool (rows.ts); the query is kept for that.
 */
export const visibleTaskStatementName = "task_visible_to_user";

export const visibleTaskStatement = preparedPerDatabase((db) => {
  const prepared = db
    .select({ row: taskColumns, role: member.role })
    .from(tasks)
    .innerJoin(
      member,
      and(
        eq(member.organizationId, tasks.workspaceId),
        eq(member.userId, sql.placeholder("userId")),
      ),
    )
    .where(and(eq(tasks.id, sql.placeholder("id")), isNull(tasks.deletedAt)))
    .prepare(visibleTaskStatementName);
  return { prepared, query: prepared.getQuery() };
});

/**
 * A task the acting user can see, with their role in its workspace, in one
 * query. Another user's task answers 404, exactly like a missing one.
 */
export async function findVisibleTask(
  ctx: Context,
  id: string,
  options: { deleted?: boolean } = {},
): Promise<{ row: TaskRow; role: WorkspaceRole }> {
  if (!options.deleted && workspaceRestriction(ctx.actor) === null) {
    const [found] = await visibleTaskStatement(ctx.db).prepared.execute({
      userId: actingUser(ctx.actor).userId,
      id,
    });
    if (!found) throw notFound("Task");
    return found;
  }
  const [found] = await ctx.db
    .select({ row: taskColumns, role: member.role })
    .from(tasks)
    .innerJoin(member, and(eq(member.organizationId, tasks.workspaceId), membershipsOf(ctx.actor)))
    .where(
      and(
        eq(tasks.id, id),
        options.deleted ? sql`${tasks.deletedAt} is not null` : isNull(tasks.deletedAt),
      ),
    );
  if (!found) throw notFound("Task");
  return found;
}

/**
 * The task rules of the permission matrix (workspaces/permissions.ts): a
 * role with `task.change_any` changes every task of its workspace; one with
 * `task.change_own` only the tasks its user created or is assigned to.
 */
export function assertCanChangeTask(ctx: Context, role: WorkspaceRole, row: TaskRow): void {
  if (canChangeTask(ctx, role, row)) return;
  throw new DomainError(
    "forbidden",
    allows(role, "task.change_own")
      ? "Members can change only tasks they created or are assigned to"
      : "Viewers cannot change tasks",
  );
}

/** `assertCanChangeTask`'s rule as a yes or no. */
export function canChangeTask(ctx: Context, role: WorkspaceRole, row: TaskRow): boolean {
  if (allows(role, "task.change_any")) return true;
  const me = actingUser(ctx.actor).userId;
  const own = row.createdBy === me || row.assigneeId === me;
  return own && allows(role, "task.change_own");
}

/**
 * The same rule for the sub-tasks that go to the trash and come back with
 * a task (`subtasks`: their ids): a role without `task.change_any` may
 * delete or restore a task only when each of them is its user's own too.
 * Before, a member deleting their own parent trashed someone else's.
 */
export async function assertCanChangeSubtasks(
  ctx: Context,
  role: WorkspaceRole,
  subtasks: SQL,
  verb: "delete" | "restore",
): Promise<void> {
  if (allows(role, "task.change_any")) return;
  const me = actingUser(ctx.actor).userId;
  const [foreign] = await ctx.db
    .select({ id: tasks.id })
    .from(tasks)
    .where(
      and(
        inArray(tasks.id, subtasks),
        sql`${tasks.createdBy} is distinct from ${me}`,
        sql`${tasks.assigneeId} is distinct from ${me}`,
      ),
    )
    .limit(1);
  if (foreign) {
    throw new DomainError(
      "forbidden",
      `Members can ${verb} a task only when its sub-tasks are ones they created or are assigned to`,
    );
  }
}
