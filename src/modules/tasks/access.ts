import { and, eq, getTableColumns, inArray, isNull, sql } from "drizzle-orm";
import { type Actor, actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { DomainError, notFound } from "../../platform/http/errors.ts";
import { membershipsOf, visibleWorkspaceIds } from "../workspaces/membership.ts";
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
 * A task the acting user can see, with their role in its workspace, in one
 * query. Another user's task answers 404, exactly like a missing one.
 */
export async function findVisibleTask(
  ctx: Context,
  id: string,
  options: { deleted?: boolean; forUpdate?: boolean } = {},
): Promise<{ row: TaskRow; role: WorkspaceRole }> {
  const query = ctx.db
    .select({ row: taskColumns, role: member.role })
    .from(tasks)
    .innerJoin(member, and(eq(member.organizationId, tasks.workspaceId), membershipsOf(ctx.actor)))
    .where(
      and(
        eq(tasks.id, id),
        options.deleted ? sql`${tasks.deletedAt} is not null` : isNull(tasks.deletedAt),
      ),
    );
  const [found] = options.forUpdate ? await query.for("update", { of: tasks }) : await query;
  if (!found) throw notFound("Task");
  return found;
}

/**
 * Viewers read; members change tasks they created or are assigned to; admins
 * and owners change any task in their workspace.
 */
export function assertCanChangeTask(ctx: Context, role: WorkspaceRole, row: TaskRow): void {
  const me = actingUser(ctx.actor);
  if (role === "owner" || role === "admin") return;
  if (role === "member" && (row.createdBy === me.userId || row.assigneeId === me.userId)) return;
  throw new DomainError(
    "forbidden",
    role === "viewer"
      ? "Viewers cannot change tasks"
      : "Members can change only tasks they created or are assigned to",
  );
}
