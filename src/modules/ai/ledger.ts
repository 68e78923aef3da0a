import { and, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import type { Executor } from "../../platform/db/transaction.ts";
import { aiUsage, type UsageOutcome } from "./schema.ts";
import type { ModelRef, Price } from "./settings.ts";

export type UsageEntry = {
  /** Null for system work (background re-embedding of a task nobody is editing). */
  userId: string | null;
  workspaceId: string | null;
  requestId: string;
  feature: string;
  ref: Pick<ModelRef, "provider" | "model">;
  template: { id: string; version: number };
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costMicros: number;
  latencyMs: number;
  outcome: UsageOutcome;
  flags: string[];
  at: Date;
};

/**
 * A call's cost in integer micro-dollars: prices are USD per million tokens,
 * so tokens x price is micro-dollars. Rounded up: the ledger never undercharges.
 */
export function costMicros(
  price: Price,
  usage: { inputTokens: number; outputTokens: number; cachedTokens?: number },
): number {
  const cached = Math.min(usage.cachedTokens ?? 0, usage.inputTokens);
  const cost =
    (usage.inputTokens - cached) * price.input +
    cached * (price.cachedInput ?? price.input) +
    usage.outputTokens * price.output;
  return Math.ceil(cost - 1e-9);
}

export async function recordUsage(db: Executor, entry: UsageEntry): Promise<void> {
  await db.insert(aiUsage).values({
    id: uuidv7(),
    userId: entry.userId,
    workspaceId: entry.workspaceId,
    requestId: entry.requestId,
    feature: entry.feature,
    provider: entry.ref.provider,
    model: entry.ref.model,
    templateId: entry.template.id,
    templateVersion: entry.template.version,
    inputTokens: entry.inputTokens,
    outputTokens: entry.outputTokens,
    cachedTokens: entry.cachedTokens,
    costMicros: entry.costMicros,
    latencyMs: Math.max(0, Math.round(entry.latencyMs)),
    cacheHit: entry.outcome === "cache_hit",
    outcome: entry.outcome,
    flags: entry.flags,
    createdAt: entry.at,
  });
}

export type UsageGroupBy = "day" | "model" | "feature";

export type UsageRow = {
  key: string;
  calls: number;
  cacheHits: number;
  failures: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costMicros: number;
};

/** Usage of one user (or, with `workspaceId`, of a whole workspace) between two instants. */
export async function usageReport(
  db: Executor,
  query: { userId?: string; workspaceId?: string; from: Date; to: Date; groupBy: UsageGroupBy },
): Promise<UsageRow[]> {
  const keys: Record<UsageGroupBy, SQL<string>> = {
    day: sql<string>`to_char(${aiUsage.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`,
    model: sql<string>`${aiUsage.provider} || ':' || ${aiUsage.model}`,
    feature: sql<string>`${aiUsage.feature}`,
  };
  const key = keys[query.groupBy];
  const rows = await db
    .select({
      key,
      calls: sql<number>`count(*)::int`,
      cacheHits: sql<number>`(count(*) filter (where ${aiUsage.cacheHit}))::int`,
      failures: sql<number>`(count(*) filter (where ${aiUsage.outcome} not in ('ok', 'cache_hit')))::int`,
      inputTokens: sql<number>`coalesce(sum(${aiUsage.inputTokens}), 0)::bigint`,
      outputTokens: sql<number>`coalesce(sum(${aiUsage.outputTokens}), 0)::bigint`,
      cachedTokens: sql<number>`coalesce(sum(${aiUsage.cachedTokens}), 0)::bigint`,
      costMicros: sql<number>`coalesce(sum(${aiUsage.costMicros}), 0)::bigint`,
    })
    .from(aiUsage)
    .where(
      and(
        query.userId ? eq(aiUsage.userId, query.userId) : undefined,
        query.workspaceId ? eq(aiUsage.workspaceId, query.workspaceId) : undefined,
        gte(aiUsage.createdAt, query.from),
        lte(aiUsage.createdAt, query.to),
      ),
    )
    .groupBy(key)
    .orderBy(key);
  return rows.map((row) => ({
    ...row,
    inputTokens: Number(row.inputTokens),
    outputTokens: Number(row.outputTokens),
    cachedTokens: Number(row.cachedTokens),
    costMicros: Number(row.costMicros),
  }));
}
