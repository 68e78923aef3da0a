import type { Executor } from "./transaction.ts";

/**
 * A statement Drizzle builds once per database handle (the pool, or a
 * transaction) instead of on every call: `build` makes it with
 * `sql.placeholder`s and `.prepare(name)`, so Postgres also parses it once
 * per connection. For hot reads, where building the query costs more CPU
 * than the database spends on it (bench/results).
 */
export function preparedPerDatabase<T>(build: (db: Executor) => T): (db: Executor) => T {
  const statements = new WeakMap<Executor, T>();
  return (db) => {
    let statement = statements.get(db);
    if (statement === undefined) {
      statement = build(db);
      statements.set(db, statement);
    }
    return statement;
  };
}
