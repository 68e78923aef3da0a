import { fillPlaceholders, type Query } from "drizzle-orm";
import pg from "pg";
import type { Context } from "../../platform/context.ts";
import { timestamptzToIso } from "../../platform/db/timestamps.ts";
import { taskColumns } from "./access.ts";
import type { TaskRowWithIsoTimes } from "./mapping.ts";

/**
 * The hot reads' fast path: a statement Drizzle built (and named) sent
 * straight to the pool, its rows read by column position, its timestamps as
 * the ISO text the API writes. Drizzle's generic row mapping cost a quarter
 * of a list request's CPU, and Date parsing plus `toISOString` another 11%
 * (bench/results). list.test.ts and routes.test.ts compare it with Drizzle's
 * mapping.
 */

/** Task columns in `taskColumns` order: statements that use this path select them first. */
const taskColumnNames = Object.keys(taskColumns);

/**
 * pg's type parsers, but a timestamptz becomes the ISO text the API writes
 * (`timestamptzToIso`) instead of a Date that `toTask` only writes out again.
 */
const isoTimeTypes = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.TIMESTAMPTZ && format !== "binary"
      ? timestamptzToIso
      : pg.types.getTypeParser(oid, format),
} as pg.CustomTypesConfig;

let enabled = true;

/** Tests switch the fast path off to compare it with Drizzle's mapping. */
export function useFastTaskRows(on: boolean): void {
  enabled = on;
}

/**
 * Runs a prepared statement's query on the pool, rows as arrays of cells;
 * undefined inside a transaction (or with the fast path off), where the
 * caller runs the statement through Drizzle instead.
 */
export async function queryCells(
  ctx: Context,
  name: string,
  query: Query,
  values: Record<string, unknown>,
): Promise<unknown[][] | undefined> {
  if (!enabled || !("$client" in ctx.db)) return undefined;
  const pool = ctx.db.$client as pg.Pool;
  const result = await pool.query<unknown[]>({
    name,
    text: query.sql,
    values: fillPlaceholders(query.params, values),
    rowMode: "array",
    types: isoTimeTypes,
  });
  return result.rows;
}

/** The task in a row of cells whose first columns are `taskColumns`, in order. */
export function taskRowFromCells(cells: readonly unknown[]): TaskRowWithIsoTimes {
  const row: Record<string, unknown> = {};
  for (let index = 0; index < taskColumnNames.length; index++) {
    row[taskColumnNames[index] as string] = cells[index];
  }
  return row as TaskRowWithIsoTimes;
}

/** The cell after the task columns (a statement's extra column). */
export function cellAfterTask(cells: readonly unknown[]): unknown {
  return cells[taskColumnNames.length];
}
