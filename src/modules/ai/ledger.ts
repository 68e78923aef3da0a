import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { v7 as uuidv7 } from "uuid";
import { user } from "../../platform/auth/schema.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { workspace } from "../workspaces/schema.ts";
import { aiUsage, type UsageOutcome } from "./schema.ts";
import type { LedgerSettings, ModelRef, Price } from "./settings.ts";

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

/** A ledger row as it is written (`toRow`), and as the JSON a batch sends. */
type UsageRowValues = {
  id: string;
  user_id: string | null;
  workspace_id: string | null;
  request_id: string;
  feature: string;
  provider: string;
  model: string;
  template_id: string;
  template_version: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  cost_micros: number;
  latency_ms: number;
  cache_hit: boolean;
  outcome: UsageOutcome;
  flags: string[];
  created_at: string;
};

function toRow(entry: UsageEntry): UsageRowValues {
  return {
    // Made when the call ends, so ids still sort in the order of the calls.
    id: uuidv7(),
    user_id: entry.userId,
    workspace_id: entry.workspaceId,
    request_id: entry.requestId,
    feature: entry.feature,
    provider: entry.ref.provider,
    model: entry.ref.model,
    template_id: entry.template.id,
    template_version: entry.template.version,
    input_tokens: entry.inputTokens,
    output_tokens: entry.outputTokens,
    cached_tokens: entry.cachedTokens,
    cost_micros: entry.costMicros,
    latency_ms: Math.max(0, Math.round(entry.latencyMs)),
    cache_hit: entry.outcome === "cache_hit",
    outcome: entry.outcome,
    flags: entry.flags,
    created_at: entry.at.toISOString(),
  };
}

/**
 * One INSERT for many rows, sent as one JSON parameter (no limit on the
 * number of bind parameters). A user or workspace deleted while its rows
 * waited becomes null, as ON DELETE SET NULL would have made it, instead of
 * failing the whole batch; an id already there (a retry of a write that
 * committed after all) is skipped.
 */
async function insertUsageRows(db: Executor, rows: UsageRowValues[]): Promise<void> {
  await db.execute(sql`
    insert into ${aiUsage} (id, user_id, workspace_id, request_id, feature, provider, model,
      template_id, template_version, input_tokens, output_tokens, cached_tokens, cost_micros,
      latency_ms, cache_hit, outcome, flags, created_at)
    select r.id, ${user.id}, ${workspace.id}, r.request_id, r.feature, r.provider, r.model,
      r.template_id, r.template_version, r.input_tokens, r.output_tokens, r.cached_tokens,
      r.cost_micros, r.latency_ms, r.cache_hit, r.outcome, r.flags, r.created_at
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id uuid, user_id uuid,
      workspace_id uuid, request_id text, feature text, provider text, model text,
      template_id text, template_version integer, input_tokens integer, output_tokens integer,
      cached_tokens integer, cost_micros bigint, latency_ms integer, cache_hit boolean,
      outcome text, flags text[], created_at timestamptz)
    left join ${user} on ${user.id} = r.user_id
    left join ${workspace} on ${workspace.id} = r.workspace_id
    on conflict (id) do nothing`);
}

/** Rows per INSERT when a backlog is written (after an outage, at shutdown). */
const maxRowsPerInsert = 1_000;

type WaitingRow = { seq: number; since: number; values: UsageRowValues };

/**
 * Write-behind for the usage ledger: model calls hand their rows over
 * without waiting, and the rows go to the database in one multi-row INSERT
 * per batch: as soon as `batchRows` are waiting, else `flushDelayMs` after
 * the first one came; one write at a time. A failed write is retried after
 * each of `retryDelaysMs`, then its rows are given up and logged at error
 * level with their number. At most `maxBufferedRows` wait (the oldest are
 * dropped, and logged, beyond that), so a dead database cannot eat memory.
 *
 * Budgets do not depend on it: spend is reserved and settled in
 * ai_budget_spend synchronously. What sums the ledger itself (usage
 * reports, a budget's first spend row of the month) calls `flush()` first,
 * so this instance reads its own writes. A crash loses the rows of the last
 * `flushDelayMs`; a graceful shutdown (`flush()` on close) loses none.
 */
export class LedgerWriter {
  readonly #db: Executor;
  readonly #log: FastifyBaseLogger;
  readonly #settings: LedgerSettings;
  #waiting: WaitingRow[] = [];
  /** The batch being written, oldest rows first; older than every waiting row. */
  #writing: WaitingRow[] = [];
  #write: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #recorded = 0;
  #dropped = 0;
  readonly #meter: ((entry: UsageEntry) => void) | undefined;

  constructor(deps: {
    db: Executor;
    log: FastifyBaseLogger;
    settings: LedgerSettings;
    /** Also hands each entry here (the instance's metrics). */
    meter?: ((entry: UsageEntry) => void) | undefined;
  }) {
    this.#db = deps.db;
    this.#log = deps.log;
    this.#settings = deps.settings;
    this.#meter = deps.meter;
  }

  /** Queues one call's row; never waits and never throws. */
  record(entry: UsageEntry): void {
    this.#meter?.(entry);
    if (this.#waiting.length >= this.#settings.maxBufferedRows) {
      this.#waiting.shift();
      if (this.#dropped++ === 0) {
        this.#log.error(
          { maxBufferedRows: this.#settings.maxBufferedRows },
          "AI ledger buffer is full (the database does not take rows): dropping the oldest",
        );
      }
    }
    this.#waiting.push({ seq: ++this.#recorded, since: performance.now(), values: toRow(entry) });
    this.#schedule();
  }

  /** Resolves when every row recorded before the call is written (or given up). */
  async flush(): Promise<void> {
    const last = this.#recorded;
    while (this.#pendingThrough(last)) {
      this.#startWrite();
      await this.#write;
    }
  }

  /** Rows still waiting or being written. */
  get pending(): number {
    return this.#waiting.length + this.#writing.length;
  }

  #pendingThrough(seq: number): boolean {
    const oldest = this.#writing[0] ?? this.#waiting[0];
    return oldest !== undefined && oldest.seq <= seq;
  }

  #schedule(): void {
    // A running write looks again when it ends.
    if (this.#write) return;
    const first = this.#waiting[0];
    if (!first) return;
    if (this.#waiting.length >= this.#settings.batchRows) {
      this.#startWrite();
      return;
    }
    if (this.#timer) return;
    const wait = Math.max(0, first.since + this.#settings.flushDelayMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#startWrite();
    }, wait);
  }

  #startWrite(): void {
    if (this.#write || this.#waiting.length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#waiting.splice(0, maxRowsPerInsert);
    this.#writing = batch;
    this.#write = this.#writeWithRetries(batch).finally(() => {
      this.#writing = [];
      this.#write = undefined;
      this.#schedule();
    });
  }

  async #writeWithRetries(batch: WaitingRow[]): Promise<void> {
    const rows = batch.map((row) => row.values);
    for (let attempt = 0; ; attempt++) {
      try {
        await insertUsageRows(this.#db, rows);
        break;
      } catch (error) {
        const delay = this.#settings.retryDelaysMs[attempt];
        if (delay === undefined) {
          this.#log.error(
            { err: error, rows: rows.length, attempts: attempt + 1 },
            `AI ledger rows lost: ${rows.length} could not be written`,
          );
          break;
        }
        this.#log.warn(
          { err: error, rows: rows.length, attempt: attempt + 1 },
          "AI ledger write failed; retrying",
        );
        await sleep(delay);
      }
    }
    if (this.#dropped > 0) {
      this.#log.error({ rows: this.#dropped }, `AI ledger rows lost: ${this.#dropped} dropped`);
      this.#dropped = 0;
    }
  }
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
