import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Context } from "../../platform/context.ts";
import { conflict, notFound } from "../../platform/http/errors.ts";
import type { Workspace } from "./contracts.ts";
import { membershipsOf } from "./membership.ts";
import { member, type WorkspaceRole, workspace } from "./schema.ts";

export type WorkspaceRow = typeof workspace.$inferSelect;

/** Members of the workspace row in the same statement (aliased: the outer query joins member too). */
const memberCount =
  sql<number>`(select count(*) from ${member} m where m.organization_id = ${workspace.id})`.mapWith(
    Number,
  );

// The acting user's memberships are read here (selectWorkspaces,
// lockWorkspace) and in service.ts (roleIn, listMemberships), all through
// membershipsOf, so a workspace-bound API key reaches only its workspace.

/** The acting user's view of a workspace they belong to, from one joined row. */
export function selectWorkspaces(ctx: Context, where: SQL | undefined) {
  return ctx.db
    .select({ row: workspace, role: member.role, memberCount })
    .from(workspace)
    .innerJoin(member, and(eq(member.organizationId, workspace.id), membershipsOf(ctx.actor)))
    .where(where);
}

export function toWorkspace(found: {
  row: WorkspaceRow;
  role: WorkspaceRole;
  memberCount: number;
}): Workspace {
  return {
    id: found.row.id,
    name: found.row.name,
    personal: found.row.personalOwnerId !== null,
    role: found.role,
    memberCount: found.memberCount,
    aiRedactPii: found.row.aiRedactPii,
    createdAt: found.row.createdAt.toISOString(),
    updatedAt: found.row.updatedAt.toISOString(),
  };
}

/** A workspace the acting user belongs to, as they see it; 404 for everyone else. */
export async function findWorkspace(ctx: Context, id: string) {
  const [found] = await selectWorkspaces(ctx, eq(workspace.id, id));
  if (!found) throw notFound("Workspace");
  return found;
}

/**
 * Locks a workspace the acting user belongs to and reads their role in it.
 * Every membership change takes this lock first, so two of them in one
 * workspace run one after the other: "is this the last owner?" and the
 * caller's own role cannot change underneath a check. Call it inside a
 * transaction; 404 when the user is not a member.
 *
 * FOR NO KEY UPDATE, not FOR UPDATE: rows that only reference the workspace
 * (a task, an activity event) take a key-share lock on it when written, and
 * must not wait for a membership change that itself waits for one of their
 * rows. With FOR UPDATE, a task PATCH racing the removal of its assignee
 * deadlocked every time (one of them 409 after Postgres's 1 s detection).
 *
 * The role is read in a statement of its own, after the lock is held. The
 * locking statement, when it had to wait, returns the workspace row as the
 * other transaction left it but the caller's membership as it was when the
 * statement began (Postgres re-checks only the locked row): an owner
 * demoted by that transaction would still act as owner.
 */
export async function lockWorkspace(
  ctx: Context,
  id: string,
): Promise<{ row: WorkspaceRow; role: WorkspaceRole }> {
  const [locked] = await ctx.db
    .select({ row: workspace })
    .from(workspace)
    .innerJoin(member, and(eq(member.organizationId, workspace.id), membershipsOf(ctx.actor)))
    .where(eq(workspace.id, id))
    .for("no key update", { of: workspace });
  if (!locked) throw notFound("Workspace");
  const [current] = await ctx.db
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, id), membershipsOf(ctx.actor)));
  if (!current) throw notFound("Workspace");
  return { row: locked.row, role: current.role };
}

/** Personal workspaces belong to one user: no invitations, transfers or deletion. */
export function assertShared(row: WorkspaceRow, action: string): void {
  if (row.personalOwnerId !== null) {
    throw conflict(`A personal workspace cannot ${action}; create a shared workspace instead`);
  }
}

/** How many owners the workspace has; read under lockWorkspace. */
export async function countOwners(ctx: Context, workspaceId: string): Promise<number> {
  const rows = await ctx.db
    .select({ userId: member.userId })
    .from(member)
    .where(and(eq(member.organizationId, workspaceId), eq(member.role, "owner")));
  return rows.length;
}
