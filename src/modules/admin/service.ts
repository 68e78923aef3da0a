import { eq } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import { type SystemRole, user } from "../../platform/auth/schema.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { forbidden, notFound } from "../../platform/http/errors.ts";
import { recordActivity } from "../activity/service.ts";
import { openTasksForSupport } from "../tasks/support.ts";
import { workspaceForSupport } from "../workspaces/support.ts";
import { type SupportAccessInput, type SupportSnapshot, supportTaskLimit } from "./contracts.ts";

/**
 * The acting user must be a system admin. The role is read from the database
 * on every call, so a demotion applies at once. Non-admins get 403: the admin
 * routes are documented, so hiding them behind 404 would protect nothing.
 */
async function assertSystemAdmin(ctx: Context): Promise<void> {
  const me = actingUser(ctx.actor);
  const [row] = await ctx.db
    .select({ role: user.role, banned: user.banned })
    .from(user)
    .where(eq(user.id, me.userId));
  if (row?.role !== "admin" || row.banned) throw forbidden("Only system admins may do this");
}

/**
 * A system admin looks into a workspace they are not a member of, for a
 * stated reason. The access is written to the workspace's activity (visible
 * to its members) in the same transaction as the read, so there is no look
 * without its trail. Read-only: nothing else is opened to the admin.
 */
export async function openSupportAccess(
  ctx: Context,
  workspaceId: string,
  input: SupportAccessInput,
): Promise<SupportSnapshot> {
  await assertSystemAdmin(ctx);
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const found = await workspaceForSupport(txCtx, workspaceId);
    await recordActivity(txCtx, {
      type: "workspace.support_access",
      workspaceId,
      entity: { type: "workspace", id: workspaceId, title: found.name },
      changes: { reason: input.reason },
    });
    const open = await openTasksForSupport(txCtx, workspaceId, supportTaskLimit);
    return {
      workspace: { id: found.id, name: found.name, createdAt: found.createdAt.toISOString() },
      members: found.members,
      openTaskCount: open.openTaskCount,
      tasks: open.tasks,
    };
  });
}

/**
 * Gives a user (by email) a system role; for the `npm run admin` CLI, run as
 * the system actor. Returns whether anything changed; the change is recorded
 * as activity.
 */
export async function setSystemRole(
  ctx: Context,
  input: { email: string; role: SystemRole },
): Promise<{ userId: string; changed: boolean }> {
  return withTransaction(ctx.db, async (tx) => {
    const [current] = await tx
      .select({ id: user.id, name: user.name, role: user.role })
      .from(user)
      .where(eq(user.email, input.email.trim().toLowerCase()))
      .for("update");
    if (!current) throw notFound("User");
    if (current.role === input.role) return { userId: current.id, changed: false };
    await tx
      .update(user)
      .set({ role: input.role, updatedAt: ctx.now() })
      .where(eq(user.id, current.id));
    await recordActivity(inTransaction(ctx, tx), {
      type: "user.role_changed",
      workspaceId: null,
      entity: { type: "user", id: current.id, title: current.name },
      changes: { role: { from: current.role, to: input.role } },
    });
    return { userId: current.id, changed: true };
  });
}
