import { and, eq, or, sql } from "drizzle-orm";
import { LRUCache } from "lru-cache";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import { DomainError } from "../../platform/http/errors.ts";
import type { LedgerWriter } from "./ledger.ts";
import { aiBudgetSpend, aiBudgets, aiUsage, type BudgetScope } from "./schema.ts";

/**
 * Monthly budgets. A paid call first reserves its maximum cost against every
 * budget that applies (the user's, the workspace's) with one conditional
 * UPDATE each, inside one transaction when there are several: the row lock
 * queues concurrent reservations, so together they can never pass the
 * limit. After the call the reservation is settled with the real cost.
 */

/**
 * A budget a call is charged against. Its limit is read from ai_budgets by
 * the reserving statement itself; `defaultLimitMicros` applies when no row
 * is there (AI_USER_MONTHLY_BUDGET_USD for users; none for workspaces).
 */
export type BudgetTarget = {
  scope: BudgetScope;
  scopeId: string;
  defaultLimitMicros: number | null;
};
export type Reservation = {
  targets: readonly BudgetTarget[];
  period: string;
  amountMicros: number;
};
/** What sums the ledger writes the rows still waiting first (ledger.ts LedgerWriter). */
export type LedgerFlush = Pick<LedgerWriter, "flush">;

/** The calendar month (UTC) an instant belongs to, and when the next one starts. */
export function budgetPeriod(at: Date): { period: string; start: Date; resetsAt: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const resetsAt = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { period: start.toISOString().slice(0, 10), start, resetsAt };
}

export function budgetExceeded(resetsAt: Date, now: Date): DomainError {
  const seconds = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
  return new DomainError(
    "budget_exceeded",
    `The monthly AI budget is used up; it resets at ${resetsAt.toISOString()}`,
    { headers: { "retry-after": String(seconds), "ai-budget-reset": resetsAt.toISOString() } },
  );
}

/**
 * The budgets that apply to a call by `userId` in `workspaceId`; system work
 * (no user, e.g. re-embedding after a restart) only meets the workspace's.
 */
async function applicableBudgets(
  db: Executor,
  input: {
    userId: string | null;
    workspaceId: string | null;
    defaultUserLimitMicros: number | null;
  },
): Promise<BudgetTarget[]> {
  const { userId } = input;
  if (!userId && !input.workspaceId) return [];
  const rows = await db
    .select({ scope: aiBudgets.scope, scopeId: aiBudgets.scopeId })
    .from(aiBudgets)
    .where(
      or(
        userId ? and(eq(aiBudgets.scope, "user"), eq(aiBudgets.scopeId, userId)) : undefined,
        input.workspaceId
          ? and(eq(aiBudgets.scope, "workspace"), eq(aiBudgets.scopeId, input.workspaceId))
          : undefined,
      ),
    );
  const targets: BudgetTarget[] = rows.map((row) => ({
    ...row,
    defaultLimitMicros: row.scope === "user" ? input.defaultUserLimitMicros : null,
  }));
  if (
    userId &&
    !rows.some((row) => row.scope === "user") &&
    input.defaultUserLimitMicros !== null
  ) {
    targets.push({
      scope: "user",
      scopeId: userId,
      defaultLimitMicros: input.defaultUserLimitMicros,
    });
  }
  // Always user before workspace, so concurrent reservations lock rows in one order.
  return targets.sort((a, b) => (a.scope < b.scope ? 1 : -1));
}

/**
 * Which budgets apply to a user in a workspace, remembered for `ttlMs`
 * (most calls meet no budget at all, and then pay no query for it). Only
 * which budget rows exist is remembered, never a limit: the reserving
 * statement reads the limit, so a changed or removed limit applies at once
 * everywhere. A budget set where there was none applies at once on the
 * instance that set it (`forget`) and within `ttlMs` on the others.
 */
export class BudgetLookup {
  readonly #remembered: LRUCache<string, readonly BudgetTarget[]>;
  readonly #defaultUserLimitMicros: number | null;
  /** Moves on every `forget`, so a lookup that raced one is not remembered. */
  #generation = 0;

  constructor(options: { ttlMs: number; defaultUserLimitMicros: number | null }) {
    this.#remembered = new LRUCache({
      max: 10_000,
      ttl: Math.max(1, options.ttlMs),
      // The default (1 ms) caches the clock with a timer per read: dearer than reading it.
      ttlResolution: 0,
    });
    this.#defaultUserLimitMicros = options.defaultUserLimitMicros;
  }

  async targets(
    db: Executor,
    input: { userId: string | null; workspaceId: string | null },
  ): Promise<readonly BudgetTarget[]> {
    const key = `${input.userId ?? ""}/${input.workspaceId ?? ""}`;
    const remembered = this.#remembered.get(key);
    if (remembered) return remembered;
    const generation = this.#generation;
    const targets = await applicableBudgets(db, {
      ...input,
      defaultUserLimitMicros: this.#defaultUserLimitMicros,
    });
    if (generation === this.#generation) this.#remembered.set(key, targets);
    return targets;
  }

  /** A budget of this user or workspace was set or removed here: look it up again. */
  forget(scope: BudgetScope, scopeId: string): void {
    this.#generation++;
    const stale: string[] = [];
    for (const key of this.#remembered.keys()) {
      const [userId, workspaceId] = key.split("/");
      if ((scope === "user" ? userId : workspaceId) === scopeId) stale.push(key);
    }
    for (const key of stale) this.#remembered.delete(key);
  }
}

/** Creates this month's spend row, starting from what the ledger already holds. */
async function ensureSpendRow(db: Executor, target: BudgetTarget, at: Date): Promise<void> {
  const { period, start, resetsAt } = budgetPeriod(at);
  const owner =
    target.scope === "user"
      ? eq(aiUsage.userId, target.scopeId)
      : eq(aiUsage.workspaceId, target.scopeId);
  await db.execute(sql`
    insert into ${aiBudgetSpend} (scope, scope_id, period, spent_micros)
    select ${target.scope}, ${target.scopeId}, ${period}, coalesce(sum(${aiUsage.costMicros}), 0)
    from ${aiUsage}
    where ${owner} and ${aiUsage.createdAt} >= ${start} and ${aiUsage.createdAt} < ${resetsAt}
    on conflict do nothing`);
}

type TargetOutcome = "reserved" | "refused" | "no spend row";

/**
 * One conditional UPDATE against the limit as ai_budgets holds it now (the
 * target's default without a row; no limit at all without either). In the
 * same statement: whether this month's spend row exists, so "refused" and
 * "not started yet" are told apart from one snapshot.
 */
async function reserveAgainst(
  db: Executor,
  target: BudgetTarget,
  input: { period: string; amountMicros: number; neededMicros: number },
): Promise<TargetOutcome> {
  const spendRow = sql`scope = ${target.scope} and scope_id = ${target.scopeId}
    and period = ${input.period}`;
  const limit = sql`(select ${aiBudgets.monthlyLimitMicros} from ${aiBudgets}
    where ${aiBudgets.scope} = ${target.scope} and ${aiBudgets.scopeId} = ${target.scopeId})`;
  const result = await db.execute<{ reserved: boolean; started: boolean }>(sql`
    with reserved as (
      update ${aiBudgetSpend} set reserved_micros = reserved_micros + ${input.amountMicros}
      where ${spendRow} and coalesce(
        spent_micros + reserved_micros + ${input.neededMicros}
          <= coalesce(${limit}, ${target.defaultLimitMicros}::bigint),
        true)
      returning 1
    )
    select exists (select 1 from reserved) as reserved,
      exists (select 1 from ${aiBudgetSpend} where ${spendRow}) as started`);
  const row = result.rows[0];
  if (row?.reserved) return "reserved";
  return row?.started ? "refused" : "no spend row";
}

/**
 * Reserves `amountMicros` against every target, or none of them. A zero
 * amount (a free model) still needs at least one micro-dollar left, so an
 * exhausted budget can also stop the offline provider when so configured.
 * One target is one statement; several are one transaction, user first.
 * A target's first call of the month starts its spend row from the ledger
 * (written up to date first) and tries again.
 */
export async function reserve(
  db: Executor,
  ledger: LedgerFlush,
  targets: readonly BudgetTarget[],
  amountMicros: number,
  at: Date,
): Promise<Reservation | null> {
  if (targets.length === 0) return { targets, period: "", amountMicros: 0 };
  const { period } = budgetPeriod(at);
  const input = { period, amountMicros, neededMicros: Math.max(amountMicros, 1) };
  // Each round either decides or starts one more spend row.
  for (let round = 0; round <= targets.length; round++) {
    let missing: BudgetTarget | undefined;
    try {
      if (targets.length === 1 && targets[0]) {
        const outcome = await reserveAgainst(db, targets[0], input);
        if (outcome === "refused") return null;
        if (outcome === "no spend row") missing = targets[0];
      } else {
        await withTransaction(db, async (tx) => {
          for (const target of targets) {
            const outcome = await reserveAgainst(tx, target, input);
            if (outcome === "refused") throw new BudgetRefused();
            if (outcome === "no spend row") throw new SpendRowMissing(target);
          }
        });
      }
    } catch (error) {
      if (error instanceof BudgetRefused) return null;
      if (!(error instanceof SpendRowMissing)) throw error;
      missing = error.target;
    }
    if (!missing) return { targets, period, amountMicros };
    await ledger.flush();
    await ensureSpendRow(db, missing, at);
  }
  throw new Error("budget spend rows could not be started");
}

class SpendRowMissing extends Error {
  readonly target: BudgetTarget;
  constructor(target: BudgetTarget) {
    super(`no spend row for ${target.scope} ${target.scopeId}`);
    this.target = target;
  }
}

class BudgetRefused extends Error {}

/** Replaces a reservation by the real cost. */
export async function settle(db: Executor, reservation: Reservation, actualMicros: number) {
  for (const target of reservation.targets) {
    await db
      .update(aiBudgetSpend)
      .set({
        spentMicros: sql`${aiBudgetSpend.spentMicros} + ${actualMicros}`,
        reservedMicros: sql`greatest(${aiBudgetSpend.reservedMicros} - ${reservation.amountMicros}, 0)`,
      })
      .where(
        and(
          eq(aiBudgetSpend.scope, target.scope),
          eq(aiBudgetSpend.scopeId, target.scopeId),
          eq(aiBudgetSpend.period, reservation.period),
        ),
      );
  }
}

/** What a budget target has spent and holds in reservations this month. */
export async function spendOf(
  db: Executor,
  ledger: LedgerFlush,
  target: { scope: BudgetScope; scopeId: string },
  at: Date,
): Promise<{ spentMicros: number; reservedMicros: number }> {
  const { period, start, resetsAt } = budgetPeriod(at);
  const [row] = await db
    .select({ spent: aiBudgetSpend.spentMicros, reserved: aiBudgetSpend.reservedMicros })
    .from(aiBudgetSpend)
    .where(
      and(
        eq(aiBudgetSpend.scope, target.scope),
        eq(aiBudgetSpend.scopeId, target.scopeId),
        eq(aiBudgetSpend.period, period),
      ),
    );
  if (row) return { spentMicros: row.spent, reservedMicros: row.reserved };
  await ledger.flush();
  const owner =
    target.scope === "user"
      ? eq(aiUsage.userId, target.scopeId)
      : eq(aiUsage.workspaceId, target.scopeId);
  const [sum] = await db
    .select({ spent: sql<number>`coalesce(sum(${aiUsage.costMicros}), 0)::bigint` })
    .from(aiUsage)
    .where(
      and(owner, sql`${aiUsage.createdAt} >= ${start} and ${aiUsage.createdAt} < ${resetsAt}`),
    );
  return { spentMicros: Number(sum?.spent ?? 0), reservedMicros: 0 };
}
