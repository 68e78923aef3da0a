import { createHash } from "node:crypto";
import { and, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { LRUCache } from "lru-cache";
import type { Redis } from "../../platform/cache/redis.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { aiCache } from "./schema.ts";
import type { ModelRef } from "./settings.ts";

/** A model answer as replayed from the cache. */
export type CachedAnswer = { text: string; inputTokens: number; outputTokens: number };

export type AnswerCache = {
  get: (key: string) => Promise<CachedAnswer | undefined>;
  set: (key: string, ref: ModelRef, answer: CachedAnswer) => Promise<void>;
};

/** JSON with object keys sorted, so equal inputs always serialise alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The exact-match key: model, template and version, and the normalised input
 * (which carries the task's version, so an edited task misses the cache).
 */
export function cacheKey(
  ref: ModelRef,
  template: { id: string; version: number },
  input: unknown,
): string {
  const material = `${ref.key}\n${template.id}.v${template.version}\n${canonicalJson(input)}`;
  return createHash("sha256").update(material).digest("hex");
}

const redisPrefix = "taskpilot:ai:cache:";

/** Shared by every instance. A Redis failure counts as a miss, never as an error. */
function redisCache(redis: Redis, ttlSeconds: number, log: FastifyBaseLogger): AnswerCache {
  return {
    get: async (key) => {
      try {
        const stored = await redis.get(redisPrefix + key);
        return stored ? (JSON.parse(stored) as CachedAnswer) : undefined;
      } catch (error) {
        log.warn({ err: error }, "AI cache read failed; treating as a miss");
        return undefined;
      }
    },
    set: async (key, _ref, answer) => {
      try {
        await redis.set(redisPrefix + key, JSON.stringify(answer), "EX", ttlSeconds);
      } catch (error) {
        log.warn({ err: error }, "AI cache write failed");
      }
    },
  };
}

/** In-process LRU in front of the `ai_cache` table, for a single instance without Redis. */
function databaseCache(
  db: Executor,
  options: { ttlSeconds: number; maxEntries: number },
  now: () => Date,
): AnswerCache {
  const memory = new LRUCache<string, CachedAnswer>({
    max: options.maxEntries,
    ttl: options.ttlSeconds * 1000,
    // The default (1 ms) caches the clock with a timer per read: dearer than reading it.
    ttlResolution: 0,
  });
  return {
    get: async (key) => {
      const remembered = memory.get(key);
      if (remembered) return remembered;
      const [row] = await db
        .select({ answer: aiCache.answer })
        .from(aiCache)
        .where(and(eq(aiCache.key, key), gt(aiCache.expiresAt, now())));
      if (!row) return undefined;
      const answer = row.answer as CachedAnswer;
      memory.set(key, answer);
      return answer;
    },
    set: async (key, ref, answer) => {
      memory.set(key, answer);
      const expiresAt = new Date(now().getTime() + options.ttlSeconds * 1000);
      await db
        .insert(aiCache)
        .values({ key, provider: ref.provider, model: ref.model, answer, expiresAt })
        .onConflictDoUpdate({
          target: aiCache.key,
          set: { answer, expiresAt, createdAt: sql`now()` },
        });
    },
  };
}

/** Rows deleted per statement, so a long backlog never becomes one huge delete. */
const purgeBatch = 5_000;

/**
 * Deletes expired answers from the `ai_cache` table (with Redis the table
 * stays empty: Redis expires its own keys); returns how many went. A chore
 * (platform/housekeeping.ts) runs it every hour.
 */
export async function purgeExpiredAnswers(db: Executor, now: Date): Promise<number> {
  let removed = 0;
  for (;;) {
    const expired = db
      .select({ key: aiCache.key })
      .from(aiCache)
      .where(lte(aiCache.expiresAt, now))
      .limit(purgeBatch);
    const result = await db.delete(aiCache).where(inArray(aiCache.key, expired));
    const count = result.rowCount ?? 0;
    removed += count;
    if (count < purgeBatch) return removed;
  }
}

export function createAnswerCache(deps: {
  enabled: boolean;
  ttlSeconds: number;
  maxEntries: number;
  redis: Redis | undefined;
  db: Executor;
  now: () => Date;
  log: FastifyBaseLogger;
}): AnswerCache | undefined {
  if (!deps.enabled) return undefined;
  return deps.redis
    ? redisCache(deps.redis, deps.ttlSeconds, deps.log)
    : databaseCache(deps.db, deps, deps.now);
}
