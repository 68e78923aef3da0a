import type { Context } from "../../platform/context.ts";
import { DomainError } from "../../platform/http/errors.ts";
import {
  type BudgetLookup,
  type BudgetTarget,
  budgetExceeded,
  budgetPeriod,
  type Reservation,
  reserve,
  settle,
} from "./budget.ts";
import type { LedgerWriter } from "./ledger.ts";
import { type Failure, ModelSkipped } from "./retry.ts";
import { type AiSettings, type ModelRef, type Price, priceOf } from "./settings.ts";

export type ModelChainDeps = {
  settings: AiSettings;
  ledger: LedgerWriter;
  budgets: BudgetLookup;
  /** Whose budgets the calls count against. */
  owner: { userId: string | null; workspaceId: string | null };
};

/**
 * One walk down a feature's model chain, shared by the text features
 * (`AiGateway.run`) and embeddings (`EmbeddingRouter.run`). Each model is
 * called under a reservation of its worst-case cost against the budgets
 * that apply (looked up once per walk, and only when a model needs a
 * reservation), settled to what the call spent whatever happened. A model
 * that is skipped (breaker open, retries used up, rejected) passes to the
 * next; one over budget ends the walk with 402, or passes too when
 * `localWhenOverBudget` lets free models answer, which then need no
 * reservation.
 */
export class ModelChain {
  readonly #ctx: Context;
  readonly #deps: ModelChainDeps;
  #budgets: Promise<readonly BudgetTarget[]> | undefined;
  #lastFailure: Failure | undefined;
  #budgetResetsAt: Date | undefined;

  constructor(ctx: Context, deps: ModelChainDeps) {
    this.#ctx = ctx;
    this.#deps = deps;
  }

  /**
   * Calls `ref` under a reservation of `maxCost(price)` micro-dollars; `call`
   * adds what it spends to `spent`. Undefined when the model passed (skipped
   * or over budget); any other error ends the walk.
   */
  async attempt<T>(
    ref: ModelRef,
    maxCost: (price: Price) => number,
    call: (spent: { micros: number }) => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    const { settings, ledger, budgets, owner } = this.#deps;
    const ctx = this.#ctx;
    const price = priceOf(settings, ref);
    const free = price.input === 0 && price.output === 0;
    let reservation: Reservation | null = null;
    if (!free || !settings.localWhenOverBudget) {
      this.#budgets ??= budgets.targets(ctx.db, owner);
      reservation = await reserve(ctx.db, ledger, await this.#budgets, maxCost(price), ctx.now());
      if (!reservation) {
        this.#budgetResetsAt = budgetPeriod(ctx.now()).resetsAt;
        if (!settings.localWhenOverBudget) throw budgetExceeded(this.#budgetResetsAt, ctx.now());
        return undefined;
      }
    }
    const spent = { micros: 0 };
    try {
      return { value: await call(spent) };
    } catch (error) {
      if (!(error instanceof ModelSkipped)) throw error;
      this.#lastFailure = error.failure;
      return undefined;
    } finally {
      if (reservation) await settle(ctx.db, reservation, spent.micros);
    }
  }

  /** Why no model answered: a budget (402), the last model's timeout (504), or failures (502). */
  exhausted(messages: { timeout: string; failed: string }): DomainError {
    if (this.#budgetResetsAt) return budgetExceeded(this.#budgetResetsAt, this.#ctx.now());
    if (this.#lastFailure?.kind === "timeout") {
      return new DomainError("upstream_timeout", messages.timeout);
    }
    return new DomainError("upstream_error", messages.failed);
  }
}
