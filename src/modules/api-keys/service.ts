import { createHash, randomBytes } from "node:crypto";
import { and, count, desc, eq, isNull, lt, lte, or } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { type ApiKeyLookup, actingUser } from "../../platform/auth/actor.ts";
import { user } from "../../platform/auth/schema.ts";
import type { Scope } from "../../platform/auth/scopes.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import {
  conflict,
  DomainError,
  forbidden,
  invalidReference,
  notFound,
} from "../../platform/http/errors.ts";
import { decodeCursor, type Page, toPage } from "../../platform/http/pagination.ts";
import { recordActivity } from "../activity/service.ts";
import { roleIn } from "../workspaces/service.ts";
import type { ApiKey, CreateApiKeyInput, CreatedApiKey, ListApiKeysQuery } from "./contracts.ts";
import { apiKeys } from "./schema.ts";

type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Keys are `tp_` and 32 random bytes in base64url: 256 bits nobody can guess. */
const keyPrefix = "tp_";
const keyShape = /^tp_[\w-]{43}$/;
const maxKeysPerUser = 100;
const lastUsedResolutionMs = 60_000;
const dayMs = 24 * 60 * 60 * 1000;

function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    start: row.start,
    scopes: row.scopes as Scope[],
    workspaceId: row.workspaceId,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}

/** Keys manage keys never: a leaked key must not be able to mint more. */
function assertSignedIn(ctx: Context): void {
  if (ctx.actor.type === "apiKey") throw forbidden("API keys cannot manage API keys; sign in");
}

async function assertMemberOf(ctx: Context, workspaceId: string): Promise<void> {
  try {
    await roleIn(ctx, workspaceId);
  } catch (error) {
    if (error instanceof DomainError && error.code === "not_found") {
      throw invalidReference("workspaceId", "must be a workspace you belong to");
    }
    throw error;
  }
}

export async function createApiKey(ctx: Context, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  assertSignedIn(ctx);
  const me = actingUser(ctx.actor);
  if (input.workspaceId) await assertMemberOf(ctx, input.workspaceId);
  const key = `${keyPrefix}${randomBytes(32).toString("base64url")}`;
  const now = ctx.now();
  return withTransaction(ctx.db, async (tx) => {
    // One creation per user at a time, so simultaneous ones cannot all count
    // 99 keys and end at 103. NO KEY UPDATE: the user's other writes, which
    // only reference the row, do not wait for it.
    await tx.select({ id: user.id }).from(user).where(eq(user.id, me.userId)).for("no key update");
    const [owned] = await tx
      .select({ count: count() })
      .from(apiKeys)
      .where(eq(apiKeys.userId, me.userId));
    if ((owned?.count ?? 0) >= maxKeysPerUser) {
      throw conflict(`You have ${maxKeysPerUser} API keys; revoke one first`);
    }
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id: uuidv7(),
        userId: me.userId,
        workspaceId: input.workspaceId ?? null,
        name: input.name,
        start: key.slice(0, 8),
        keyHash: hashKey(key),
        scopes: input.scopes,
        expiresAt: input.expiresInDays
          ? new Date(now.getTime() + input.expiresInDays * dayMs)
          : null,
        createdAt: now,
      })
      .returning();
    if (!row) throw new Error("insert returned no row");
    await recordActivity(inTransaction(ctx, tx), {
      type: "api_key.created",
      workspaceId: null,
      entity: { type: "api_key", id: row.id, title: row.name },
      changes: { scopes: row.scopes, workspaceId: row.workspaceId, expiresAt: row.expiresAt },
    });
    return { ...toApiKey(row), key };
  });
}

/** The acting user's keys, newest first; never the keys themselves. */
export async function listApiKeys(ctx: Context, query: ListApiKeysQuery): Promise<Page<ApiKey>> {
  assertSignedIn(ctx);
  const me = actingUser(ctx.actor);
  const cursor = decodeCursor(query.cursor, "id:desc");
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.userId, me.userId), cursor ? lt(apiKeys.id, cursor.id) : undefined))
    .orderBy(desc(apiKeys.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toApiKey, (row) => ({ sort: "id:desc", key: null, id: row.id }));
}

/** Revokes a key at once, on every instance: keys are looked up on every request. */
export async function revokeApiKey(ctx: Context, id: string): Promise<void> {
  assertSignedIn(ctx);
  const me = actingUser(ctx.actor);
  await withTransaction(ctx.db, async (tx) => {
    const [row] = await tx
      .delete(apiKeys)
      .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, me.userId)))
      .returning();
    if (!row) throw notFound("API key");
    await recordActivity(inTransaction(ctx, tx), {
      type: "api_key.revoked",
      workspaceId: null,
      entity: { type: "api_key", id: row.id, title: row.name },
      changes: {},
    });
  });
}

/**
 * The lookup the authentication hook uses for `x-api-key`. Nothing is cached:
 * one indexed read per request, so a revoked or expired key fails at once on
 * every instance. `lastUsedAt` is written at most once a minute per key.
 */
export function apiKeyLookup(db: Executor): ApiKeyLookup {
  return async (presented, now) => {
    if (!keyShape.test(presented)) return null;
    const [row] = await db
      .select({
        id: apiKeys.id,
        userId: apiKeys.userId,
        scopes: apiKeys.scopes,
        workspaceId: apiKeys.workspaceId,
        expiresAt: apiKeys.expiresAt,
        lastUsedAt: apiKeys.lastUsedAt,
      })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashKey(presented)));
    if (!row || (row.expiresAt && row.expiresAt <= now)) return null;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= lastUsedResolutionMs) {
      await markUsed(db, row.id, now);
    }
    return {
      keyId: row.id,
      userId: row.userId,
      scopes: row.scopes as Scope[],
      workspaceId: row.workspaceId,
    };
  };
}

/** Conditional, so instances racing on the same key write once. */
async function markUsed(db: Executor, id: string, now: Date): Promise<void> {
  const staleBefore = new Date(now.getTime() - lastUsedResolutionMs);
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lte(apiKeys.lastUsedAt, staleBefore))),
    );
}
