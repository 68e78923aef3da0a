import pg from "pg";

type Queryable = { query: (...args: unknown[]) => unknown };

function statementText(query: unknown): string {
  if (typeof query === "string") return query;
  if (query && typeof query === "object" && "text" in query && typeof query.text === "string") {
    return query.text;
  }
  return "<unknown>";
}

/** A prepared statement's name, then its text: the baseline must prepare the same ones. */
function tracedStatement(query: unknown): string {
  const name =
    query && typeof query === "object" && "name" in query && typeof query.name === "string"
      ? `[prepared ${query.name}] `
      : "";
  return name + statementText(query);
}

/**
 * Every statement any pg client (Postgres or the PGlite bridge) sends while
 * `work` runs. Nothing else may use the database meanwhile.
 */
export async function captureStatements(work: () => Promise<void>): Promise<string[]> {
  const proto = pg.Client.prototype as unknown as Queryable;
  const original = proto.query;
  const seen: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    seen.push(tracedStatement(args[0]).replace(/\s+/g, " ").trim().toLowerCase());
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    proto.query = original;
  }
  return seen;
}

/** Same statements, ignoring order (the profile's queries run in parallel). */
export function sameStatements(a: readonly string[], b: readonly string[]): boolean {
  const left = [...a].sort();
  const right = [...b].sort();
  return left.length === right.length && left.every((statement, i) => statement === right[i]);
}

/** `all` without one occurrence of each statement in `some` (a multiset difference). */
export function withoutStatements(all: readonly string[], some: readonly string[]): string[] {
  const rest = [...all];
  for (const statement of some) {
    const at = rest.indexOf(statement);
    if (at >= 0) rest.splice(at, 1);
  }
  return rest;
}

export type StatementCounts = { total: number; watched: number };

/**
 * Counts the statements sent from now until `stop`, and how many of them are
 * exactly `watch`. Kept to a counter and one string comparison because it
 * stays on during measured runs (the API and the baseline both pay it).
 */
export function countStatements(watch: string): { stop: () => StatementCounts } {
  const proto = pg.Client.prototype as unknown as Queryable;
  const original = proto.query;
  const counts: StatementCounts = { total: 0, watched: 0 };
  proto.query = function (this: unknown, ...args: unknown[]) {
    counts.total++;
    if (statementText(args[0]) === watch) counts.watched++;
    return original.apply(this, args);
  };
  return {
    stop() {
      proto.query = original;
      return counts;
    },
  };
}
