import { and, asc, eq, gt, inArray, or, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { type Actor, workspaceRestriction } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { isUniqueViolation } from "../../platform/db/errors.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { conflict, notFound } from "../../platform/http/errors.ts";
import {
  checkVersion,
  type ExpectedVersion,
  LostUpdate,
  retryLostUpdates,
} from "../../platform/http/lost-update.ts";
import { decodeCursor, numberKey, type Page, toPage } from "../../platform/http/pagination.ts";
import { diffChanges, recordActivity } from "../activity/service.ts";
import { countLiveTasksByCategory, uncategoriseTasks } from "../tasks/service.ts";
import { visibleWorkspaceIds } from "../workspaces/membership.ts";
import { assertAllowed } from "../workspaces/permissions.ts";
import { personalWorkspaceId, roleIn } from "../workspaces/service.ts";
import type {
  Category,
  CreateCategoryInput,
  ListCategoriesQuery,
  UpdateCategoryInput,
} from "./contracts.ts";
import { categories } from "./schema.ts";

type CategoryRow = typeof categories.$inferSelect;

function toCategory(row: CategoryRow, taskCount: number): Category {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    color: row.color,
    position: row.position,
    taskCount,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function visibleTo(actor: Actor) {
  return inArray(categories.workspaceId, visibleWorkspaceIds(actor));
}

/** A category the acting user can see, with its row; 404 otherwise. */
async function findVisible(ctx: Context, id: string): Promise<CategoryRow> {
  const [row] = await ctx.db
    .select()
    .from(categories)
    .where(and(eq(categories.id, id), visibleTo(ctx.actor)));
  if (!row) throw notFound("Category");
  return row;
}

/** The workspace of a category the acting user can see, or null when there is none. */
export async function visibleCategoryWorkspace(ctx: Context, id: string): Promise<string | null> {
  const [row] = await ctx.db
    .select({ workspaceId: categories.workspaceId })
    .from(categories)
    .where(and(eq(categories.id, id), visibleTo(ctx.actor)));
  return row?.workspaceId ?? null;
}

/** Case-insensitive name -> category lookup for quick add. */
export async function listCategoryNames(ctx: Context, workspaceId: string) {
  return ctx.db
    .select({ id: categories.id, name: categories.name })
    .from(categories)
    .where(eq(categories.workspaceId, workspaceId));
}

export async function getCategory(ctx: Context, id: string): Promise<Category> {
  return (await getCategoryWithVersion(ctx, id)).category;
}

/** The category plus its version, which the REST adapter needs for ETags. */
export async function getCategoryWithVersion(ctx: Context, id: string) {
  const row = await findVisible(ctx, id);
  const counts = await countLiveTasksByCategory(ctx, [row.id]);
  return { category: toCategory(row, counts.get(row.id) ?? 0), version: row.version };
}

/**
 * The categories with these ids the acting user can see, in one read (a
 * GraphQL page of tasks asks for all of theirs at once). Missing or hidden
 * ids are simply absent.
 */
export async function getCategoriesByIds(ctx: Context, ids: string[]): Promise<Category[]> {
  if (ids.length === 0) return [];
  const rows = await ctx.db
    .select()
    .from(categories)
    .where(and(inArray(categories.id, ids), visibleTo(ctx.actor)));
  const counts = await countLiveTasksByCategory(
    ctx,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toCategory(row, counts.get(row.id) ?? 0));
}

export async function listCategories(
  ctx: Context,
  query: ListCategoriesQuery,
): Promise<Page<Category>> {
  if (query.workspaceId) await roleIn(ctx, query.workspaceId);
  const cursor = decodeCursor(query.cursor, "position");
  const after = cursor ? { position: numberKey(cursor), id: cursor.id } : null;
  const rows = await ctx.db
    .select()
    .from(categories)
    .where(
      and(
        visibleTo(ctx.actor),
        query.workspaceId ? eq(categories.workspaceId, query.workspaceId) : undefined,
        after
          ? or(
              gt(categories.position, after.position),
              and(eq(categories.position, after.position), gt(categories.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(asc(categories.position), asc(categories.id))
    .limit(query.limit + 1);
  const counts = await countLiveTasksByCategory(
    ctx,
    rows.slice(0, query.limit).map((row) => row.id),
  );
  return toPage(
    rows,
    query.limit,
    (row) => toCategory(row, counts.get(row.id) ?? 0),
    (row) => ({ sort: "position", key: row.position, id: row.id }),
  );
}

export async function createCategory(ctx: Context, input: CreateCategoryInput): Promise<Category> {
  const workspaceId =
    input.workspaceId ?? workspaceRestriction(ctx.actor) ?? (await personalWorkspaceId(ctx));
  assertAllowed(await roleIn(ctx, workspaceId), "category.manage");
  return withTransaction(ctx.db, async (tx) => {
    const now = ctx.now();
    const [row] = await tx
      .insert(categories)
      .values({
        id: uuidv7(),
        workspaceId,
        name: input.name,
        color: input.color ?? null,
        position: input.position ?? now.getTime(),
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`A category named "${input.name}" already exists`, "name");
    await recordActivity(inTransaction(ctx, tx), {
      type: "category.created",
      workspaceId,
      entity: { type: "category", id: row.id, title: row.name },
      changes: { name: row.name, color: row.color },
    });
    return toCategory(row, 0);
  });
}

export async function updateCategory(
  ctx: Context,
  id: string,
  input: UpdateCategoryInput,
  expectedVersion?: ExpectedVersion,
): Promise<Category> {
  return retryLostUpdates(expectedVersion, () => updateOnce(ctx, id, input, expectedVersion));
}

async function updateOnce(
  ctx: Context,
  id: string,
  input: UpdateCategoryInput,
  expectedVersion: ExpectedVersion,
): Promise<Category> {
  const current = await findVisible(ctx, id);
  assertAllowed(await roleIn(ctx, current.workspaceId), "category.manage");
  checkVersion(expectedVersion, current.version);
  const changes = diffChanges(current, input);
  if (Object.keys(changes).length === 0) return getCategory(ctx, id);
  const renamed = withTransaction(ctx.db, async (tx) => {
    const [row] = await tx
      .update(categories)
      .set({ ...input, version: sql`${categories.version} + 1`, updatedAt: ctx.now() })
      .where(and(eq(categories.id, id), eq(categories.version, current.version)))
      .returning();
    if (!row) throw new LostUpdate("The category changed while you were editing it");
    const txCtx = inTransaction(ctx, tx);
    await recordActivity(txCtx, {
      type: "category.updated",
      workspaceId: row.workspaceId,
      entity: { type: "category", id: row.id, title: row.name },
      changes,
    });
    const counts = await countLiveTasksByCategory(txCtx, [row.id]);
    return toCategory(row, counts.get(row.id) ?? 0);
  });
  return renamed.catch((error: unknown) => {
    if (isUniqueViolation(error, "categories_workspace_name_unique")) {
      throw conflict(`A category named "${input.name}" already exists`, "name");
    }
    throw error;
  });
}

/** Deletes a category; its tasks stay, uncategorised (and their versions move on). */
export async function deleteCategory(
  ctx: Context,
  id: string,
  expectedVersion?: ExpectedVersion,
): Promise<void> {
  await retryLostUpdates(expectedVersion, () => deleteOnce(ctx, id, expectedVersion));
}

async function deleteOnce(ctx: Context, id: string, expectedVersion: ExpectedVersion) {
  const current = await findVisible(ctx, id);
  assertAllowed(await roleIn(ctx, current.workspaceId), "category.manage");
  checkVersion(expectedVersion, current.version);
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const uncategorised = await uncategoriseTasks(txCtx, id);
    const deleted = await tx
      .delete(categories)
      .where(and(eq(categories.id, id), eq(categories.version, current.version)))
      .returning({ id: categories.id });
    if (deleted.length === 0) throw new LostUpdate("The category changed while you deleted it");
    await recordActivity(txCtx, {
      type: "category.deleted",
      workspaceId: current.workspaceId,
      entity: { type: "category", id, title: current.name },
      changes: { tasksUncategorised: uncategorised },
    });
  });
}
