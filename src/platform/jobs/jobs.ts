import type { FastifyBaseLogger } from "fastify";
import type pg from "pg";
import { PgBoss } from "pg-boss";

export type JobsOptions = {
  pool: pg.Pool;
  kind: "postgres" | "pglite";
  log: FastifyBaseLogger;
  /** How long close() lets jobs in hand finish: longer than any job may run. */
  stopTimeoutMs: number;
};

/** Runs a statement for pg-boss on one connection, e.g. inside our own transaction. */
export type JobConnection = {
  executeSql: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;
};

export function jobConnection(client: pg.PoolClient | pg.Pool): JobConnection {
  return { executeSql: (text, values) => client.query(text, values) };
}

/**
 * The job queue: pg-boss on the app's own pool (PGlite or the server), so a
 * job can be enqueued in the transaction that causes it. It starts on first
 * use, which installs or migrates its schema (`pgboss`, under pg-boss's
 * own advisory lock, so instances may start together): an instance that
 * never needs a job never touches it. Cron schedules are off; nothing here
 * uses them yet.
 */
export class Jobs {
  readonly #options: JobsOptions;
  #starting: Promise<PgBoss> | undefined;
  #closed = false;

  constructor(options: JobsOptions) {
    this.#options = options;
  }

  start(): Promise<PgBoss> {
    if (this.#closed) return Promise.reject(new Error("the job queue is closed"));
    if (!this.#starting) {
      const starting = this.#boot();
      this.#starting = starting;
      // A failed start (database briefly away) is tried again by the next caller.
      starting.catch(() => {
        if (this.#starting === starting) this.#starting = undefined;
      });
    }
    return this.#starting;
  }

  async #boot(): Promise<PgBoss> {
    const boss = new PgBoss({
      db: jobConnection(this.#options.pool),
      backend: this.#options.kind,
      schedule: false,
      // The backlog count workers burst on is refreshed this often (default 60 s).
      queueCacheIntervalSeconds: 10,
    });
    boss.on("error", (error) => this.#options.log.error({ err: error }, "job queue error"));
    await boss.start();
    return boss;
  }

  /** Stops taking jobs and waits (up to `stopTimeoutMs`) for those in hand; the pool stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    const boss = await this.#starting?.catch(() => undefined);
    await boss?.stop({ graceful: true, timeout: this.#options.stopTimeoutMs, close: false });
  }
}
