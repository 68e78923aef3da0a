import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { workspaceRestriction } from "../../platform/auth/actor.ts";
import { user } from "../../platform/auth/schema.ts";
import type { Context } from "../../platform/context.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { decodeCursor, instantKey, type Page, toPage } from "../../platform/http/pagination.ts";
import type { Activity } from "./contracts.ts";
import { activityEvents } from "./schema.ts";
import type { ActivityType } from "./types.ts";

export type ActivityInput = {
  type: ActivityType;
  workspaceId: string | null;
  entity: { type: string; id: string; title: string | null };
  changes?: Record<string, unknown>;
};

/**
 * Writes one event. Call it with the transaction that makes the change, so
 * the change and its trail commit or roll back together.
 */
export async function recordActivity(ctx: Context, input: ActivityInput): Promise<void> {
  const actor = ctx.actor;
  await ctx.db.insert(activityEvents).values({
    id: uuidv7(),
    workspaceId: input.workspaceId,
    actorType: actor.type,
    actorId: actor.type === "system" ? null : actor.userId,
    type: input.type,
    entityType: input.entity.type,
    entityId: input.entity.id,
    entityTitle: input.entity.title,
    changes: input.changes ?? {},
    createdAt: ctx.now(),
  });
}

/** Field-by-field differences, as `{ field: { from, to } }`. */
export function diffChanges<T extends Record<string, unknown>>(
  before: T,
  after: Partial<T>,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [field, value] of Object.entries(after)) {
    if (value === undefined) continue;
    const previous = before[field];
    if (JSON.stringify(previous) !== JSON.stringify(value)) {
      changes[field] = { from: previous ?? null, to: value };
    }
  }
  return changes;
}

type ActivityPageQuery = { limit: number; cursor?: string | undefined };

/** The first page of what a user did, as shown by /v1/me on every call: prepared. */
const actorActivityStatement = preparedPerDatabase((db) =>
  db
    .select({ event: activityEvents, actorName: user.name })
    .from(activityEvents)
    .leftJoin(user, eq(user.id, activityEvents.actorId))
    .where(eq(activityEvents.actorId, sql.placeholder("userId")))
    .orderBy(desc(activityEvents.createdAt), desc(activityEvents.id))
    .limit(sql.placeholder("limit"))
    .prepare("activity_of_actor"),
);

/** What the acting user did, newest first (in its one workspace for a bound API key). */
export async function listActorActivity(ctx: Context, userId: string, query: ActivityPageQuery) {
  const only = workspaceRestriction(ctx.actor);
  if (only === null && !query.cursor) {
    const rows = await actorActivityStatement(ctx.db).execute({ userId, limit: query.limit + 1 });
    return activityPage(rows, query.limit);
  }
  return listActivity(
    ctx.db,
    and(
      eq(activityEvents.actorId, userId),
      only ? eq(activityEvents.workspaceId, only) : undefined,
    ),
    query,
  );
}

/** What happened to one entity, newest first. The caller checks access to it. */
export function listEntityActivity(
  ctx: Context,
  entity: { type: string; id: string },
  query: ActivityPageQuery,
) {
  return listActivity(
    ctx.db,
    and(eq(activityEvents.entityType, entity.type), eq(activityEvents.entityId, entity.id)),
    query,
  );
}

async function listActivity(
  db: Executor,
  scope: SQL | undefined,
  query: ActivityPageQuery,
): Promise<Page<Activity>> {
  const cursor = decodeCursor(query.cursor, "createdAt");
  const after = cursor ? { createdAt: instantKey(cursor), id: cursor.id } : null;
  const keyset = after
    ? or(
        lt(activityEvents.createdAt, after.createdAt),
        and(eq(activityEvents.createdAt, after.createdAt), lt(activityEvents.id, after.id)),
      )
    : undefined;
  const rows = await db
    .select({ event: activityEvents, actorName: user.name })
    .from(activityEvents)
    .leftJoin(user, eq(user.id, activityEvents.actorId))
    .where(and(scope, keyset))
    .orderBy(desc(activityEvents.createdAt), desc(activityEvents.id))
    .limit(query.limit + 1);
  return activityPage(rows, query.limit);
}

function activityPage(rows: ActivityRow[], limit: number): Page<Activity> {
  return toPage(rows, limit, toActivity, ({ event }) => ({
    sort: "createdAt",
    key: event.createdAt.toISOString(),
    id: event.id,
  }));
}

type ActivityRow = { event: typeof activityEvents.$inferSelect; actorName: string | null };

export function toActivity(row: ActivityRow) {
  const { event } = row;
  return {
    id: event.id,
    type: event.type,
    actor: {
      type: event.actorType,
      id: event.actorId,
      name: event.actorType === "system" ? "Taskpilot" : row.actorName,
    },
    entity: { type: event.entityType, id: event.entityId, title: event.entityTitle },
    changes: event.changes as Record<string, unknown>,
    workspaceId: event.workspaceId,
    createdAt: event.createdAt.toISOString(),
  };
}
