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

/** `exhausted`'s messages for the text features and the assistant's agent. */
export const noTextModel = {
  timeout: "No AI provider answered in time; retry later",
  failed: "No AI provider could answer; retry later",
};

/**
 * One walk down a feature's model chain, shared by the text features
 * (`AiGateway.run`) and embeddings (`EmbeddingRouter.run`). Each model is
 * called under a reservation of its worst-case cost against the budgets
 * that apply (looked up once per walk, and only when a model needs a
 * reservation), settled to what the call spent whatever happened. A model
 * that is skipped (breaker open, retries used up, rejected) passes to the
 * next; one over budget ends the walk with 429 budget_exceeded, or passes too when
 * `localWhenOverBudget` lets free models answer, which then need no
 * reservation. `attempt` is the whole step for a call that is over when it
 * returns; the agent's streamed calls, which settle when their stream ends,
 * use its parts (`reserve`, `settle`, `passed`) themselves.
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
   * Holds `maxCost(price)` micro-dollars for a call to `ref` against the
   * budgets that apply. Null: the model needs no reservation (free, and free
   * models may answer over budget). "refused": over budget, and the walk may
   * go on to a free model; without `localWhenOverBudget` that is a 429 instead.
   */
  async reserve(
    ref: ModelRef,
    maxCost: (price: Price) => number,
  ): Promise<Reservation | null | "refused"> {
    const { settings, ledger, budgets, owner } = this.#deps;
    const ctx = this.#ctx;
    const price = priceOf(settings, ref);
    if (price.input === 0 && price.output === 0 && settings.localWhenOverBudget) return null;
    this.#budgets ??= budgets.targets(ctx.db, owner);
    const reservation = await reserve(
      ctx.db,
      ledger,
      await this.#budgets,
      maxCost(price),
      ctx.now(),
    );
    if (reservation) return reservation;
    this.#budgetResetsAt = budgetPeriod(ctx.now()).resetsAt;
    if (!settings.localWhenOverBudget) throw budgetExceeded(this.#budgetResetsAt, ctx.now());
    return "refused";
  }

  /** Gives back what a reservation held beyond `micros`, what the call spent. */
  async settle(reservation: Reservation | null, micros: number): Promise<void> {
    if (reservation) await settle(this.#ctx.db, reservation, micros);
  }

  /**
   * A model's call threw: a `ModelSkipped` (breaker open, retries used up,
   * rejected) is remembered and the walk goes on; anything else is rethrown.
   */
  passed(error: unknown): void {
    if (!(error instanceof ModelSkipped)) throw error;
    this.#lastFailure = error.failure;
  }

  /** Why the last model that was tried passed. */
  get lastFailure(): Failure | undefined {
    return this.#lastFailure;
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
    const reservation = await this.reserve(ref, maxCost);
    if (reservation === "refused") return undefined;
    const spent = { micros: 0 };
    try {
      return { value: await call(spent) };
    } catch (error) {
      this.passed(error);
      return undefined;
    } finally {
      await this.settle(reservation, spent.micros);
    }
  }

  /** Why no model answered: a budget (429), the last model's timeout (504), or failures (502). */
  exhausted(messages: { timeout: string; failed: string }): DomainError {
    if (this.#budgetResetsAt) return budgetExceeded(this.#budgetResetsAt, this.#ctx.now());
    if (this.#lastFailure?.kind === "timeout") {
      return new DomainError("upstream_timeout", messages.timeout);
    }
    return new DomainError("upstream_error", messages.failed);
  }
}
