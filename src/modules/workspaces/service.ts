import { and, asc, eq, gt, inArray, or, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import { DomainError, notFound } from "../../platform/http/errors.ts";
import { checkVersion, type ExpectedVersion } from "../../platform/http/lost-update.ts";
import { decodeCursor, instantKey, type Page, toPage } from "../../platform/http/pagination.ts";
import { recordActivity } from "../activity/service.ts";
import { categories } from "../categories/schema.ts";
import { tasks } from "../tasks/schema.ts";
import {
  assertShared,
  findWorkspace,
  lockWorkspace,
  selectWorkspaces,
  toWorkspace,
} from "./access.ts";
import type { PageQuery, Workspace } from "./contracts.ts";
import { membershipsOf } from "./membership.ts";
import { allows, assertAllowed } from "./permissions.ts";
import { member, type WorkspaceRole, workspace } from "./schema.ts";

export type Membership = { id: string; name: string; role: WorkspaceRole };

/**
 * Gives a user their personal workspace. Safe to call more than once: the
 * unique owner column turns a second call into a no-op.
 */
export async function createPersonalWorkspace(
  db: Executor,
  owner: { id: string; name: string },
  now: Date,
): Promise<string> {
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(workspace)
      .values({
        id: uuidv7(),
        name: "Personal",
        slug: `personal-${owner.id}`,
        personalOwnerId: owner.id,
        // The app's clock, like every other workspace: lists order by it.
        createdAt: now,
        updatedAt: now,
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
  return found?.id ?? createPersonalWorkspace(ctx.db, { id: me.userId, name: me.name }, ctx.now());
}

const membershipsStatement = preparedPerDatabase((db) =>
  db
    .select({ id: workspace.id, name: workspace.name, role: member.role })
    .from(member)
    .innerJoin(workspace, eq(workspace.id, member.organizationId))
    .where(eq(member.userId, sql.placeholder("userId")))
    .orderBy(asc(workspace.createdAt), asc(workspace.id))
    .prepare("memberships_of_user"),
);

export async function listMemberships(ctx: Context): Promise<Membership[]> {
  if (workspaceRestriction(ctx.actor) === null) {
    return membershipsStatement(ctx.db).execute({ userId: actingUser(ctx.actor).userId });
  }
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

/**
 * True when `userId` may be assigned tasks in the workspace: a member whose
 * role may work on their own tasks (so not a viewer).
 */
export async function isAssignable(ctx: Context, workspaceId: string, userId: string) {
  const [found] = await ctx.db
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, workspaceId), eq(member.userId, userId)));
  return found !== undefined && allows(found.role, "task.change_own");
}

/**
 * Holds off membership changes in the workspace until the transaction ends:
 * they take `lockWorkspace` (FOR NO KEY UPDATE), this takes FOR SHARE, so task
 * writes that take it do not wait for each other. A membership checked
 * after it cannot change before the transaction commits, and a change that
 * waited for it then sees what the transaction wrote.
 */
export async function holdMemberships(ctx: Context, id: string): Promise<void> {
  await ctx.db
    .select({ id: workspace.id })
    .from(workspace)
    .where(eq(workspace.id, id))
    .for("share");
}

/** Workspaces the acting user belongs to, oldest first. */
export async function listWorkspaces(ctx: Context, query: PageQuery): Promise<Page<Workspace>> {
  const cursor = decodeCursor(query.cursor, "createdAt");
  const after = cursor ? { createdAt: instantKey(cursor), id: cursor.id } : null;
  const rows = await selectWorkspaces(
    ctx,
    after
      ? or(
          gt(workspace.createdAt, after.createdAt),
          and(eq(workspace.createdAt, after.createdAt), gt(workspace.id, after.id)),
        )
      : undefined,
  )
    .orderBy(asc(workspace.createdAt), asc(workspace.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toWorkspace, ({ row }) => ({
    sort: "createdAt",
    key: row.createdAt.toISOString(),
    id: row.id,
  }));
}

/** The workspace plus its version, which the REST adapter needs for ETags. */
export async function getWorkspaceWithVersion(ctx: Context, id: string) {
  const found = await findWorkspace(ctx, id);
  return { workspace: toWorkspace(found), version: found.row.version };
}

/**
 * A shared workspace; its creator is its owner. A key bound to one
 * workspace sees nothing outside it, so it cannot make another.
 */
export async function createWorkspace(ctx: Context, input: { name: string }): Promise<Workspace> {
  const me = actingUser(ctx.actor);
  if (workspaceRestriction(ctx.actor)) {
    throw new DomainError("forbidden", "A key bound to one workspace cannot create workspaces");
  }
  const id = uuidv7();
  await withTransaction(ctx.db, async (tx) => {
    const now = ctx.now();
    await tx
      .insert(workspace)
      .values({ id, name: input.name, slug: `workspace-${id}`, createdAt: now, updatedAt: now });
    await tx.insert(member).values({
      id: uuidv7(),
      organizationId: id,
      userId: me.userId,
      role: "owner",
      createdAt: now,
    });
    await recordActivity(inTransaction(ctx, tx), {
      type: "workspace.created",
      workspaceId: id,
      entity: { type: "workspace", id, title: input.name },
      changes: { name: input.name },
    });
  });
  return toWorkspace(await findWorkspace(ctx, id));
}

/** Renames a workspace and/or sets its AI redaction (admins and owners). */
export async function updateWorkspace(
  ctx: Context,
  id: string,
  input: { name?: string | undefined; aiRedactPii?: boolean | null | undefined },
  expectedVersion?: ExpectedVersion,
) {
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const { row, role } = await lockWorkspace(txCtx, id);
    assertAllowed(role, "workspace.rename");
    checkVersion(expectedVersion, row.version);
    const rename = input.name !== undefined && input.name !== row.name;
    const redaction = input.aiRedactPii !== undefined && input.aiRedactPii !== row.aiRedactPii;
    if (!rename && !redaction) return;
    await tx
      .update(workspace)
      .set({
        ...(rename ? { name: input.name } : {}),
        ...(redaction ? { aiRedactPii: input.aiRedactPii } : {}),
        version: sql`${workspace.version} + 1`,
        updatedAt: ctx.now(),
      })
      .where(eq(workspace.id, id));
    const title = input.name ?? row.name;
    if (rename) {
      await recordActivity(txCtx, {
        type: "workspace.renamed",
        workspaceId: id,
        entity: { type: "workspace", id, title },
        changes: { name: { from: row.name, to: title } },
      });
    }
    if (redaction) {
      await recordActivity(txCtx, {
        type: "workspace.updated",
        workspaceId: id,
        entity: { type: "workspace", id, title },
        changes: { aiRedactPii: { from: row.aiRedactPii, to: input.aiRedactPii ?? null } },
      });
    }
  });
  return getWorkspaceWithVersion(ctx, id);
}

/**
 * Deletes a shared workspace with its members, invitations, tasks,
 * categories and activity (foreign keys cascade, in this one transaction).
 * Its own event has no workspace, so the deleter's trail keeps it.
 */
export async function deleteWorkspace(
  ctx: Context,
  id: string,
  expectedVersion?: ExpectedVersion,
): Promise<void> {
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const { row, role } = await lockWorkspace(txCtx, id);
    assertAllowed(role, "workspace.delete");
    assertShared(row, "be deleted");
    checkVersion(expectedVersion, row.version);
    // Task and category writes lock their row, then take a key-share lock on
    // the workspace (their activity event references it). Deleting the
    // workspace first and cascading to their rows after would wait for them
    // while they wait for it: a deadlock, 7 of 12 rounds for a task PATCH on
    // Postgres. So their rows first; NO KEY UPDATE, which the foreign key
    // checks of new tasks (key share on a category or parent) pass.
    await tx
      .select({ id: tasks.id })
      .from(tasks)
      .where(eq(tasks.workspaceId, id))
      .for("no key update");
    await tx
      .select({ id: categories.id })
      .from(categories)
      .where(eq(categories.workspaceId, id))
      .for("no key update");
    await tx.delete(workspace).where(eq(workspace.id, id));
    await recordActivity(txCtx, {
      type: "workspace.deleted",
      workspaceId: null,
      entity: { type: "workspace", id, title: row.name },
      changes: { name: row.name },
    });
  });
}

/**
 * The members of each workspace with their roles, now: whom the notifier
 * may tell of a workspace's events, and its owners and admins.
 */
export async function membersOf(
  db: Executor,
  workspaceIds: string[],
): Promise<Map<string, Array<{ userId: string; role: WorkspaceRole }>>> {
  const found = new Map<string, Array<{ userId: string; role: WorkspaceRole }>>();
  if (workspaceIds.length === 0) return found;
  const rows = await db
    .select({ workspaceId: member.organizationId, userId: member.userId, role: member.role })
    .from(member)
    .where(inArray(member.organizationId, [...new Set(workspaceIds)]));
  for (const row of rows) {
    const members = found.get(row.workspaceId) ?? [];
    members.push({ userId: row.userId, role: row.role });
    found.set(row.workspaceId, members);
  }
  return found;
}
