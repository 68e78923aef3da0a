import { Piscina } from "piscina";

/**
 * How long a rule may take to yield its next occurrence, counted from when
 * it is handed to a started pool (the first worker takes ~0.3 s to start,
 * not counted; a replacement after a stop is). An everyday rule takes well
 * under a millisecond.
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
let pool: { workers: Piscina; started: Promise<unknown> } | null = null;

function occurrencePool() {
  if (!pool) {
    const workers = new Piscina({
      filename: new URL("./occurrence-worker.ts", import.meta.url).href,
      name: "evaluate",
      minThreads: 1,
      maxThreads: 2,
      idleTimeout: 60_000,
    });
    // Resolves once a worker has started and loaded rrule: the budget starts after that.
    const epoch = new Date(0);
    const started = workers.run({
      rule: "FREQ=DAILY",
      anchor: epoch,
      after: epoch,
      timeZone: "UTC",
    });
    pool = { workers, started };
  }
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
  const { workers, started } = occurrencePool();
  await started;
  const signal = AbortSignal.timeout(occurrenceBudgetMs);
  try {
    return await workers.run({ rule, ...options }, { signal });
  } catch (error) {
    if (signal.aborted) throw new RecurrenceTooSlow(rule);
    throw error;
  }
}
