import { Piscina } from "piscina";

/**
 * How long a rule may take to yield its next occurrence, counted from when
 * it is handed to the pool (so it includes starting a worker, ~0.3 s here).
 * An everyday rule takes well under a millisecond.
 */
export const occurrenceBudgetMs = 2_000;

/**
 * rrule (no longer maintained) can spend seconds on a rule whose filters
 * rarely or never match, searching up to the year 9999
 * ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31": ~8 s), and loops forever on some
 * ("FREQ=HOURLY;INTERVAL=24;BYHOUR=5" from any other hour: rrule issue
 * #468). Rules a request sends or a task stores are therefore evaluated
 * here, in a worker thread that is stopped when the budget runs out, so
 * the event loop never waits on one. Natural phrases in quick add yield
 * rules that cannot do this and are evaluated in place.
 */
let pool: Piscina | null = null;

function occurrencePool(): Piscina {
  pool ??= new Piscina({
    filename: new URL("./occurrence-worker.ts", import.meta.url).href,
    name: "evaluate",
    minThreads: 1,
    maxThreads: 2,
    idleTimeout: 60_000,
  });
  return pool;
}

/** The rule took longer than `occurrenceBudgetMs`; its worker has been stopped. */
export class RecurrenceTooSlow extends Error {
  constructor(rule: string) {
    super(`Finding the next occurrence of ${rule} took longer than ${occurrenceBudgetMs} ms`);
    this.name = "RecurrenceTooSlow";
  }
}

/** `nextOccurrence`, off the event loop and within `occurrenceBudgetMs`. */
export async function findNextOccurrence(
  rule: string,
  options: { anchor: Date; after: Date; timeZone: string },
): Promise<Date | null> {
  const signal = AbortSignal.timeout(occurrenceBudgetMs);
  try {
    return await occurrencePool().run({ rule, ...options }, { signal });
  } catch (error) {
    if (signal.aborted) throw new RecurrenceTooSlow(rule);
    throw error;
  }
}
