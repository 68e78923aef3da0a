import { z } from "zod";
import { validationFailed } from "./errors.ts";
import { queryInteger } from "./fields.ts";

export const limitSchema = queryInteger({ min: 1, max: 100, default: 50 });

export const cursorSchema = z.string().min(1).max(1000);

export function pageSchema<T extends z.ZodType>(item: T, id: string) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() }).meta({ id });
}

export type Page<T> = { data: T[]; nextCursor: string | null };

/**
 * Cursors are opaque to clients: the sort they belong to plus the last row's
 * sort key and id, base64url-encoded JSON. A cursor used with another sort is
 * rejected rather than silently giving a wrong page.
 */
export type CursorPosition = { sort: string; key: string | number | null; id: string };

const positionSchema = z.object({
  sort: z.string(),
  key: z.union([z.string(), z.number(), z.null()]),
  id: z.uuid(),
});

const invalidCursor = () => validationFailed("cursor", "is not a valid cursor");

/** The cursor's key as a number; a tampered cursor is a 400, never a wrong page. */
export function numberKey(position: CursorPosition): number {
  if (typeof position.key !== "number" || !Number.isFinite(position.key)) throw invalidCursor();
  return position.key;
}

/** The cursor's key as an instant; a tampered cursor is a 400, never a database error. */
export function instantKey(position: CursorPosition): Date {
  const instant = typeof position.key === "string" ? new Date(position.key) : null;
  if (!instant || Number.isNaN(instant.getTime())) throw invalidCursor();
  return instant;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

export function decodeCursor(cursor: string | undefined, sort: string): CursorPosition | null {
  if (cursor === undefined) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor();
  }
  const parsed = positionSchema.safeParse(decoded);
  if (!parsed.success) throw invalidCursor();
  if (parsed.data.sort !== sort) {
    throw validationFailed("cursor", "belongs to another sort order; start again without it");
  }
  return parsed.data;
}

/** Builds a page from `limit + 1` fetched rows: the extra row only proves there is more. */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorOf: (row: Row) => CursorPosition,
): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    data: pageRows.map(toItem),
    nextCursor: hasMore && last ? encodeCursor(cursorOf(last)) : null,
  };
}
