import { randomBytes } from "node:crypto";
import { and, asc, eq, gt, inArray, lte, or } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser } from "../../platform/auth/actor.ts";
import { user } from "../../platform/auth/schema.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import { conflict, DomainError, notFound } from "../../platform/http/errors.ts";
import { decodeCursor, instantKey, type Page, toPage } from "../../platform/http/pagination.ts";
import { recordActivity } from "../activity/service.ts";
import { assertShared, findWorkspace, lockWorkspace, toWorkspace } from "./access.ts";
import type {
  CreatedInvitation,
  CreateInvitationInput,
  Invitation,
  PageQuery,
  Workspace,
} from "./contracts.ts";
import { deliverInvitation, type InvitationDelivery } from "./delivery.ts";
import { assertAllowed, outranks } from "./permissions.ts";
import { type InvitationStatus, invitation, member, workspace } from "./schema.ts";
import { roleIn } from "./service.ts";

const invitationLifetimeMs = 7 * 24 * 60 * 60 * 1000;

type InvitationRow = typeof invitation.$inferSelect;

/** A pending invitation past its time reads as expired, whatever its row says yet. */
function statusAt(row: InvitationRow, now: Date): InvitationStatus {
  return row.status === "pending" && row.expiresAt <= now ? "expired" : row.status;
}

function toInvitation(row: InvitationRow, now: Date): Invitation {
  return {
    id: row.id,
    workspaceId: row.organizationId,
    email: row.email,
    role: row.role,
    status: statusAt(row, now),
    expiresAt: row.expiresAt.toISOString(),
    inviterId: row.inviterId,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * Invites an address into a shared workspace with a role below the
 * inviter's own (owners may grant admin). The invitation, and its event,
 * commit first; then it is mailed, or its link is handed back.
 */
export async function inviteMember(
  ctx: Context,
  workspaceId: string,
  input: CreateInvitationInput,
  delivery: InvitationDelivery,
): Promise<CreatedInvitation> {
  const me = actingUser(ctx.actor);
  const { row, workspaceName } = await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const locked = await lockWorkspace(txCtx, workspaceId);
    assertAllowed(locked.role, "invitation.manage");
    if (!outranks(locked.role, input.role)) {
      throw new DomainError("forbidden", `Only owners may invite ${input.role}s`, {
        errors: [{ path: "role", message: "must be below your own role" }],
      });
    }
    assertShared(locked.row, "have other members");
    const now = ctx.now();
    const [existing] = await tx
      .select({ id: member.id })
      .from(member)
      .innerJoin(user, eq(user.id, member.userId))
      .where(and(eq(member.organizationId, workspaceId), eq(user.email, input.email)));
    if (existing) throw conflict(`${input.email} is already a member`, "email");
    // A lapsed invitation no longer holds the address's one pending slot.
    await tx
      .update(invitation)
      .set({ status: "expired" })
      .where(
        and(
          eq(invitation.organizationId, workspaceId),
          eq(invitation.email, input.email),
          eq(invitation.status, "pending"),
          lte(invitation.expiresAt, now),
        ),
      );
    const [created] = await tx
      .insert(invitation)
      .values({
        // The id is the secret in the accept link: give it fresh randomness
        // (73 bits) instead of the generator's per-millisecond counter.
        id: uuidv7({ random: randomBytes(16) }),
        organizationId: workspaceId,
        email: input.email,
        role: input.role,
        expiresAt: new Date(now.getTime() + invitationLifetimeMs),
        inviterId: me.userId,
        createdAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!created) throw conflict(`${input.email} already has a pending invitation`, "email");
    await recordActivity(txCtx, {
      type: "member.invited",
      workspaceId,
      entity: { type: "invitation", id: created.id, title: input.email },
      changes: { email: input.email, role: input.role },
    });
    return { row: created, workspaceName: locked.row.name };
  });
  const result = await deliverInvitation(ctx, delivery, {
    id: row.id,
    email: row.email,
    role: row.role,
    workspaceName,
    inviterName: me.name,
    expiresAt: row.expiresAt,
  });
  return { ...toInvitation(row, ctx.now()), ...result };
}

/** Invitations still waiting for an answer, oldest first. */
export async function listInvitations(
  ctx: Context,
  workspaceId: string,
  query: PageQuery,
): Promise<Page<Invitation>> {
  assertAllowed(await roleIn(ctx, workspaceId), "invitation.manage");
  const now = ctx.now();
  const cursor = decodeCursor(query.cursor, "createdAt");
  const after = cursor ? { createdAt: instantKey(cursor), id: cursor.id } : null;
  const rows = await ctx.db
    .select()
    .from(invitation)
    .where(
      and(
        eq(invitation.organizationId, workspaceId),
        eq(invitation.status, "pending"),
        gt(invitation.expiresAt, now),
        after
          ? or(
              gt(invitation.createdAt, after.createdAt),
              and(eq(invitation.createdAt, after.createdAt), gt(invitation.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(asc(invitation.createdAt), asc(invitation.id))
    .limit(query.limit + 1);
  return toPage(
    rows,
    query.limit,
    (row) => toInvitation(row, now),
    (row) => ({ sort: "createdAt", key: row.createdAt.toISOString(), id: row.id }),
  );
}

/** Withdraws a pending invitation; the same people who may send it may revoke it. */
export async function revokeInvitation(
  ctx: Context,
  workspaceId: string,
  invitationId: string,
): Promise<void> {
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const { role } = await lockWorkspace(txCtx, workspaceId);
    assertAllowed(role, "invitation.manage");
    const [row] = await tx
      .select()
      .from(invitation)
      .where(and(eq(invitation.id, invitationId), eq(invitation.organizationId, workspaceId)))
      .for("update");
    if (!row) throw notFound("Invitation");
    if (!outranks(role, row.role)) {
      throw new DomainError("forbidden", `Only owners may revoke invitations for ${row.role}s`);
    }
    const status = statusAt(row, ctx.now());
    if (status !== "pending") throw conflict(`The invitation is already ${status}`);
    await tx.update(invitation).set({ status: "revoked" }).where(eq(invitation.id, invitationId));
    await recordActivity(txCtx, {
      type: "invitation.revoked",
      workspaceId,
      entity: { type: "invitation", id: invitationId, title: row.email },
      changes: { email: row.email, role: row.role },
    });
  });
}

/**
 * Joins the workspace an invitation is for. Only the invited address may
 * accept: anyone else gets 404, as if there were no such invitation, so
 * the link reveals nothing to a stranger. An answered, revoked or expired
 * invitation is a 409 saying which.
 */
export async function acceptInvitation(ctx: Context, invitationId: string): Promise<Workspace> {
  const me = actingUser(ctx.actor);
  const mine = and(eq(invitation.id, invitationId), eq(invitation.email, me.email.toLowerCase()));
  const [found] = await ctx.db
    .select({ workspaceId: invitation.organizationId })
    .from(invitation)
    .where(mine);
  if (!found) throw notFound("Invitation");
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    // Lock order as in every membership change: the workspace, then the invitation.
    await tx
      .select({ id: workspace.id })
      .from(workspace)
      .where(eq(workspace.id, found.workspaceId))
      .for("no key update");
    const [row] = await tx.select().from(invitation).where(mine).for("update");
    if (!row) throw notFound("Invitation");
    const status = statusAt(row, ctx.now());
    if (status !== "pending") throw conflict(`The invitation was already ${status}`);
    const now = ctx.now();
    const [joined] = await tx
      .insert(member)
      .values({
        id: uuidv7(),
        organizationId: row.organizationId,
        userId: me.userId,
        role: row.role,
        createdAt: now,
      })
      .onConflictDoNothing()
      .returning({ id: member.id });
    if (!joined) throw conflict("You are already a member of this workspace");
    await tx.update(invitation).set({ status: "accepted" }).where(eq(invitation.id, row.id));
    await recordActivity(txCtx, {
      type: "member.joined",
      workspaceId: row.organizationId,
      entity: { type: "user", id: me.userId, title: me.name },
      changes: { role: row.role, invitationId: row.id },
    });
  });
  return toWorkspace(await findWorkspace(ctx, found.workspaceId));
}

/**
 * The accounts of these invited addresses, by address (both are stored
 * lower-case): who already has an account to be told of an invitation.
 */
export async function accountsByEmail(
  db: Executor,
  emails: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (emails.length === 0) return found;
  const rows = await db
    .select({ id: user.id, email: user.email })
    .from(user)
    .where(inArray(user.email, [...new Set(emails)]));
  for (const row of rows) found.set(row.email, row.id);
  return found;
}
