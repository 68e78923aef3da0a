import { and, asc, eq, gt, or } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import { user } from "../../platform/auth/schema.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { conflict, DomainError, invalidReference, notFound } from "../../platform/http/errors.ts";
import { decodeCursor, instantKey, type Page, toPage } from "../../platform/http/pagination.ts";
import { recordActivity } from "../activity/service.ts";
import { unassignTasks } from "../tasks/service.ts";
import { assertShared, countOwners, findWorkspace, lockWorkspace, toWorkspace } from "./access.ts";
import type { Member, PageQuery, Workspace } from "./contracts.ts";
import { allows, assertAllowed, outranks } from "./permissions.ts";
import { member, type WorkspaceRole } from "./schema.ts";
import { roleIn } from "./service.ts";

type MemberRow = {
  memberId: string;
  userId: string;
  name: string;
  email: string;
  role: WorkspaceRole;
  joinedAt: Date;
};

const memberColumns = {
  memberId: member.id,
  userId: member.userId,
  name: user.name,
  email: user.email,
  role: member.role,
  joinedAt: member.createdAt,
};

function toMember(row: MemberRow): Member {
  return {
    userId: row.userId,
    name: row.name,
    email: row.email,
    role: row.role,
    joinedAt: row.joinedAt.toISOString(),
  };
}

/** Members of a workspace the acting user belongs to, in joining order. */
export async function listMembers(
  ctx: Context,
  workspaceId: string,
  query: PageQuery,
): Promise<Page<Member>> {
  assertAllowed(await roleIn(ctx, workspaceId), "workspace.read");
  const cursor = decodeCursor(query.cursor, "joinedAt");
  const after = cursor ? { joinedAt: instantKey(cursor), id: cursor.id } : null;
  const rows = await ctx.db
    .select(memberColumns)
    .from(member)
    .innerJoin(user, eq(user.id, member.userId))
    .where(
      and(
        eq(member.organizationId, workspaceId),
        after
          ? or(
              gt(member.createdAt, after.joinedAt),
              and(eq(member.createdAt, after.joinedAt), gt(member.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(asc(member.createdAt), asc(member.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toMember, (row) => ({
    sort: "joinedAt",
    key: row.joinedAt.toISOString(),
    id: row.memberId,
  }));
}

async function findMember(ctx: Context, workspaceId: string, userId: string) {
  const [found] = await ctx.db
    .select(memberColumns)
    .from(member)
    .innerJoin(user, eq(user.id, member.userId))
    .where(and(eq(member.organizationId, workspaceId), eq(member.userId, userId)));
  return found ?? null;
}

/** 409 when `target` is the workspace's only owner and is about to stop being one. */
async function assertNotLastOwner(ctx: Context, workspaceId: string, target: MemberRow) {
  if (target.role !== "owner" || (await countOwners(ctx, workspaceId)) > 1) return;
  throw conflict("A workspace needs an owner: make someone else owner first");
}

/**
 * Owners change roles. The last owner cannot be demoted; a member who
 * becomes a viewer is unassigned from the workspace's tasks (viewers cannot
 * be assigned), in the same transaction, and the event counts them.
 */
export async function changeMemberRole(
  ctx: Context,
  workspaceId: string,
  userId: string,
  input: { role: WorkspaceRole },
): Promise<Member> {
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const { role } = await lockWorkspace(txCtx, workspaceId);
    assertAllowed(role, "member.change_role");
    const target = await findMember(txCtx, workspaceId, userId);
    if (!target) throw notFound("Member");
    if (target.role === input.role) return toMember(target);
    if (input.role !== "owner") await assertNotLastOwner(txCtx, workspaceId, target);
    await tx.update(member).set({ role: input.role }).where(eq(member.id, target.memberId));
    const unassigned = allows(input.role, "task.change_own")
      ? 0
      : await unassignTasks(txCtx, workspaceId, userId);
    await recordActivity(txCtx, {
      type: "member.role_changed",
      workspaceId,
      entity: { type: "user", id: userId, title: target.name },
      changes: {
        role: { from: target.role, to: input.role },
        ...(unassigned > 0 ? { tasksUnassigned: unassigned } : {}),
      },
    });
    return toMember({ ...target, role: input.role });
  });
}

/**
 * Removes a member, or, when the caller names themselves, leaves. Anyone may
 * leave but the last owner; removing someone else needs `member.remove` and
 * a role above theirs. Their task assignments in the workspace end with it.
 */
export async function removeMember(
  ctx: Context,
  workspaceId: string,
  userId: string,
): Promise<void> {
  const me = actingUser(ctx.actor);
  const leaving = userId === me.userId;
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const { row, role } = await lockWorkspace(txCtx, workspaceId);
    if (!leaving) assertAllowed(role, "member.remove");
    const target = await findMember(txCtx, workspaceId, userId);
    if (!target) throw notFound("Member");
    if (!leaving && !outranks(role, target.role)) {
      throw new DomainError("forbidden", `Only owners may remove ${target.role}s`);
    }
    if (leaving && row.personalOwnerId !== null) {
      throw conflict("You cannot leave your personal workspace");
    }
    await assertNotLastOwner(txCtx, workspaceId, target);
    await tx.delete(member).where(eq(member.id, target.memberId));
    const unassigned = await unassignTasks(txCtx, workspaceId, userId);
    await recordActivity(txCtx, {
      type: leaving ? "member.left" : "member.removed",
      workspaceId,
      entity: { type: "user", id: userId, title: target.name },
      changes: { role: target.role, ...(unassigned > 0 ? { tasksUnassigned: unassigned } : {}) },
    });
  });
}

/**
 * Hands ownership to another member: they become owner and the caller, an
 * owner, becomes admin. Personal workspaces have no one to hand them to.
 */
export async function transferOwnership(
  ctx: Context,
  workspaceId: string,
  input: { userId: string },
): Promise<Workspace> {
  const me = actingUser(ctx.actor);
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const { row, role } = await lockWorkspace(txCtx, workspaceId);
    assertAllowed(role, "ownership.transfer");
    assertShared(row, "change hands");
    if (input.userId === me.userId) throw conflict("You already own this workspace", "userId");
    const target = await findMember(txCtx, workspaceId, input.userId);
    if (!target) throw invalidReference("userId", "must be a member of the workspace");
    await tx.update(member).set({ role: "owner" }).where(eq(member.id, target.memberId));
    await tx
      .update(member)
      .set({ role: "admin" })
      .where(and(eq(member.organizationId, workspaceId), eq(member.userId, me.userId)));
    await recordActivity(txCtx, {
      type: "workspace.ownership_transferred",
      workspaceId,
      entity: { type: "workspace", id: workspaceId, title: row.name },
      changes: {
        owner: { from: me.userId, to: input.userId },
        previousOwnerRole: "admin",
        newOwnerPreviousRole: target.role,
      },
    });
  });
  return toWorkspace(await findWorkspace(ctx, workspaceId));
}
