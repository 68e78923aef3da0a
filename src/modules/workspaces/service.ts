import { and, asc, eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { DomainError, notFound } from "../../platform/http/errors.ts";
import { membershipsOf } from "./membership.ts";
import { member, type WorkspaceRole, workspace } from "./schema.ts";

export type Membership = { id: string; name: string; role: WorkspaceRole };

/**
 * Gives a user their personal workspace. Safe to call more than once: the
 * unique owner column turns a second call into a no-op.
 */
export async function createPersonalWorkspace(
  db: Executor,
  owner: { id: string; name: string },
): Promise<string> {
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(workspace)
      .values({
        id: uuidv7(),
        name: "Personal",
        slug: `personal-${owner.id}`,
        personalOwnerId: owner.id,
      })
      .onConflictDoNothing({ target: workspace.personalOwnerId })
      .returning({ id: workspace.id });
    if (!created) {
      const [existing] = await tx
        .select({ id: workspace.id })
        .from(workspace)
        .where(eq(workspace.personalOwnerId, owner.id));
      if (!existing) throw new DomainError("internal", "Personal workspace vanished");
      return existing.id;
    }
    await tx
      .insert(member)
      .values({ id: uuidv7(), organizationId: created.id, userId: owner.id, role: "owner" });
    return created.id;
  });
}

/** The acting user's personal workspace, created on first use if sign-up could not. */
export async function personalWorkspaceId(ctx: Context): Promise<string> {
  const me = actingUser(ctx.actor);
  const [found] = await ctx.db
    .select({ id: workspace.id })
    .from(workspace)
    .where(eq(workspace.personalOwnerId, me.userId));
  return found?.id ?? createPersonalWorkspace(ctx.db, { id: me.userId, name: me.name });
}

export async function listMemberships(ctx: Context): Promise<Membership[]> {
  return ctx.db
    .select({ id: workspace.id, name: workspace.name, role: member.role })
    .from(member)
    .innerJoin(workspace, eq(workspace.id, member.organizationId))
    .where(membershipsOf(ctx.actor))
    .orderBy(asc(workspace.createdAt), asc(workspace.id));
}

/** The acting user's role in a workspace; a workspace they are not in does not exist for them. */
export async function roleIn(ctx: Context, workspaceId: string): Promise<WorkspaceRole> {
  const [found] = await ctx.db
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, workspaceId), membershipsOf(ctx.actor)));
  if (!found) throw notFound("Workspace");
  return found.role;
}

/** True when `userId` may be assigned tasks in the workspace: a member above viewer. */
export async function isAssignable(ctx: Context, workspaceId: string, userId: string) {
  const [found] = await ctx.db
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, workspaceId), eq(member.userId, userId)));
  return found !== undefined && found.role !== "viewer";
}

export function canWrite(role: WorkspaceRole): boolean {
  return role !== "viewer";
}

export function assertCanWrite(role: WorkspaceRole): void {
  if (!canWrite(role)) throw new DomainError("forbidden", "Viewers cannot change this workspace");
}
