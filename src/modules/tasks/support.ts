import { and, asc, count, eq, isNull } from "drizzle-orm";
import type { Context } from "../../platform/context.ts";
import { taskColumns } from "./access.ts";
import type { Task } from "./contracts.ts";
import { toTask } from "./mapping.ts";
import { tasks } from "./schema.ts";

/**
 * A workspace's open tasks for a system admin's support access: the count and
 * the first `limit` in list order. No membership check here; the caller
 * (`openSupportAccess`) authorizes and audits the read.
 */
export async function openTasksForSupport(
  ctx: Context,
  workspaceId: string,
  limit: number,
): Promise<{ openTaskCount: number; tasks: Task[] }> {
  const open = and(
    eq(tasks.workspaceId, workspaceId),
    eq(tasks.status, "open"),
    isNull(tasks.deletedAt),
  );
  const [counted] = await ctx.db.select({ value: count() }).from(tasks).where(open);
  const rows = await ctx.db
    .select(taskColumns)
    .from(tasks)
    .where(open)
    .orderBy(asc(tasks.position), asc(tasks.id))
    .limit(limit);
  return { openTaskCount: counted?.value ?? 0, tasks: rows.map(toTask) };
}
