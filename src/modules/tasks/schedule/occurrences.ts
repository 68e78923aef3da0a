import { BudgetExceeded, budgetedPool } from "../../../platform/worker-pool.ts";
import type { Evaluation } from "./occurrence-worker.ts";

/**
 * How long a rule may take to yield its next occurrence, counted from when
 * it is handed to a started pool (the first worker takes ~0.3 s to start,
 * not counted; a replacement after a stop is). An everyday rule takes well
 * under a millisecond.
 */
export const occurrenceBudgetMs = 2_000;

/**
 * Rules a request sends or a task stores are evaluated here, in a worker
 * thread that is stopped when the budget runs out, so the event loop never
 * waits on one. rrule-temporal gives up by itself on a rule that finds no
 * occurrence within 10,000 of its periods (300 ms at worst, measured:
 * FREQ=YEARLY;BYSETPOS=-366); the budget is for whatever its caps miss.
 * rrule, used before, looped forever on FREQ=HOURLY;INTERVAL=24;BYHOUR=5
 * (its issue #468) and searched to the year 9999 for rules that never
 * match. Natural phrases in quick add yield rules that cannot do this and
 * are evaluated in place.
 */
const evaluate = budgetedPool<
  { rule: string; anchor: Date; after: Date; timeZone: string },
  Evaluation
>({
  filename: new URL("./occurrence-worker.ts", import.meta.url),
  name: "evaluate",
  warmup: { rule: "FREQ=DAILY", anchor: new Date(0), after: new Date(0), timeZone: "UTC" },
});

/** No next occurrence could be worked out: it took too long, or the rule's caps ran out. */
export class RecurrenceUnresolvable extends Error {
  /** Why, for the client: "not within 2 s", "no occurrence within 10,000 of its periods"... */
  readonly reason: string;

  constructor(rule: string, reason: string, cause?: unknown) {
    super(`Could not work out when ${rule} next occurs (${reason})`, { cause });
    this.name = "RecurrenceUnresolvable";
    this.reason = reason;
  }
}

/** `nextOccurrence`, off the event loop and within `budgetMs` (default `occurrenceBudgetMs`). */
export async function findNextOccurrence(
  rule: string,
  options: { anchor: Date; after: Date; timeZone: string },
  budgetMs = occurrenceBudgetMs,
): Promise<Date | null> {
  let answer: Evaluation;
  try {
    answer = await evaluate({ rule, ...options }, budgetMs);
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    throw new RecurrenceUnresolvable(rule, `not within ${budgetMs / 1000} s`, error);
  }
  if (answer && "unresolvable" in answer)
    throw new RecurrenceUnresolvable(rule, answer.unresolvable);
  return answer;
}
