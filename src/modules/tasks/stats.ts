import { and, eq, gte, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { visibleTo } from "./access.ts";
import { tasks } from "./schema.ts";

/**
 * Counts for the profile page over "my" tasks: those assigned to me, or
 * unassigned ones I created, in workspaces I belong to. One query.
 */
export async function taskStats(
  ctx: Context,
  window: { now: Date; startOfToday: Date; endOfToday: Date },
) {
  const me = actingUser(ctx.actor);
  const open = eq(tasks.status, "open");
  const countWhere = (condition: SQL | undefined) =>
    sql<number>`count(*) filter (where ${condition})`.mapWith(Number);
  const weekAgo = new Date(window.now.getTime() - 7 * 24 * 60 * 60 * 1000);
  const [row] = await ctx.db
    .select({
      open: countWhere(open),
      overdue: countWhere(and(open, lt(tasks.dueAt, window.now))),
      dueToday: countWhere(
        and(open, gte(tasks.dueAt, window.startOfToday), lte(tasks.dueAt, window.endOfToday)),
      ),
      completedLast7Days: countWhere(
        and(eq(tasks.status, "completed"), gte(tasks.completedAt, weekAgo)),
      ),
    })
    .from(tasks)
    .where(
      and(
        visibleTo(ctx.actor),
        isNull(tasks.deletedAt),
        or(
          eq(tasks.assigneeId, me.userId),
          and(isNull(tasks.assigneeId), eq(tasks.createdBy, me.userId)),
        ),
      ),
    );
  return {
    open: row?.open ?? 0,
    overdue: row?.overdue ?? 0,
    dueToday: row?.dueToday ?? 0,
    completedLast7Days: row?.completedLast7Days ?? 0,
  };
}
