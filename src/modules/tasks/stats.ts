import {
  and,
  eq,
  gte,
  inArray,
  isNull,
  lt,
  lte,
  or,
  type Placeholder,
  type SQL,
  sql,
} from "drizzle-orm";
import { actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { member } from "../workspaces/schema.ts";
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
  const weekAgo = new Date(window.now.getTime() - 7 * 24 * 60 * 60 * 1000);
  const values = { userId: me.userId, ...window, weekAgo };
  const [row] =
    workspaceRestriction(ctx.actor) === null
      ? await statsStatement(ctx.db).execute(values)
      : await statsQuery(ctx.db, {
          visible: visibleTo(ctx.actor),
          me: me.userId,
          now: window.now,
          startOfToday: window.startOfToday,
          endOfToday: window.endOfToday,
          weekAgo,
        });
  return {
    open: row?.open ?? 0,
    overdue: row?.overdue ?? 0,
    dueToday: row?.dueToday ?? 0,
    completedLast7Days: row?.completedLast7Days ?? 0,
  };
}

type StatsInputs = {
  visible: SQL;
  me: string | Placeholder;
  now: Date | Placeholder;
  startOfToday: Date | Placeholder;
  endOfToday: Date | Placeholder;
  weekAgo: Date | Placeholder;
};

/** The counts over "my" tasks; inputs are values or placeholders. */
function statsQuery(db: Executor, input: StatsInputs) {
  const open = eq(tasks.status, "open");
  const countWhere = (condition: SQL | undefined) =>
    sql<number>`count(*) filter (where ${condition})`.mapWith(Number);
  return db
    .select({
      open: countWhere(open),
      overdue: countWhere(and(open, lt(tasks.dueAt, input.now))),
      dueToday: countWhere(
        and(open, gte(tasks.dueAt, input.startOfToday), lte(tasks.dueAt, input.endOfToday)),
      ),
      completedLast7Days: countWhere(
        and(eq(tasks.status, "completed"), gte(tasks.completedAt, input.weekAgo)),
      ),
    })
    .from(tasks)
    .where(
      and(
        input.visible,
        isNull(tasks.deletedAt),
        or(
          eq(tasks.assigneeId, input.me),
          and(isNull(tasks.assigneeId), eq(tasks.createdBy, input.me)),
        ),
      ),
    );
}

/** The profile page's counts for an actor without a workspace restriction, prepared. */
const statsStatement = preparedPerDatabase((db) =>
  statsQuery(db, {
    // visibleTo(actor) for an actor without a workspace restriction.
    visible: inArray(
      tasks.workspaceId,
      sql`(select ${member.organizationId} from ${member} where ${eq(member.userId, sql.placeholder("userId"))})`,
    ),
    me: sql.placeholder("userId"),
    now: sql.placeholder("now"),
    startOfToday: sql.placeholder("startOfToday"),
    endOfToday: sql.placeholder("endOfToday"),
    weekAgo: sql.placeholder("weekAgo"),
  }).prepare("task_stats_of_user"),
);
