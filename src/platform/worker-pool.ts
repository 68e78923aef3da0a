import { Piscina } from "piscina";

/** A job in a worker pool did not finish within its budget, and was stopped. */
export class BudgetExceeded extends Error {
  readonly budgetMs: number;

  constructor(budgetMs: number, cause: unknown) {
    super(`Stopped after ${budgetMs} ms`, { cause });
    this.name = "BudgetExceeded";
    this.budgetMs = budgetMs;
  }
}

/**
 * A pool of 1-2 worker threads for CPU work on untrusted input that may run
 * long (a repeat rule, a model's Markdown): the event loop never waits on
 * it, and a job past its budget is stopped. A thread is started lazily, on
 * the first run; that run waits for the `warmup` job, which loads the
 * worker's modules (~0.3 s), before its budget starts. A thread started
 * again after a stop is counted against the budget of the job that waits
 * for it.
 */
export function budgetedPool<Job, Answer>(options: {
  /** The worker module (a `new URL("./x-worker.ts", import.meta.url)`). */
  filename: URL;
  /** The exported function of the worker module that takes a job. */
  name: string;
  /** A cheap job whose answer says the worker has loaded. */
  warmup: Job;
}): (job: Job, budgetMs: number) => Promise<Answer> {
  let pool: { workers: Piscina; started: Promise<unknown> } | undefined;
  return async (job, budgetMs) => {
    if (!pool) {
      const workers = new Piscina({
        filename: options.filename.href,
        name: options.name,
        minThreads: 1,
        maxThreads: 2,
        idleTimeout: 60_000,
      });
      pool = { workers, started: workers.run(options.warmup) };
    }
    await pool.started;
    const signal = AbortSignal.timeout(budgetMs);
    try {
      return await pool.workers.run(job, { signal });
    } catch (error) {
      if (signal.aborted) throw new BudgetExceeded(budgetMs, error);
      throw error;
    }
  };
}
