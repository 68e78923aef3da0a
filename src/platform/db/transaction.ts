import type { Database } from "./pool.ts";

export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** Anything a query can run on: the pool-backed database or an open transaction. */
export type Executor = Database | Transaction;
/**
 * Runs `work` in a transaction. When `executor` already is a transaction the
 * work joins it (Drizzle opens a savepoint), so verbs compose: a verb called
 * from another verb commits or rolls back with its caller.
 */
export function withTransaction<T>(
  executor: Executor,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  return executor.transaction(work);
}
