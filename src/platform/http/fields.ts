import { z } from "zod";

/**
 * Field types that requests share, so every route reads a date or a number
 * the same way.
 */

const earliestYear = 1000;

/**
 * An ISO 8601 date-time with an offset, from year 1000 to 9999. Postgres
 * takes earlier years, but they come back wrong: Drizzle maps a timestamptz
 * with `new Date(text)`, and V8 reads "0050-06-01 12:00:00+00" as 1950 and
 * "0001-..." as 2001. No task is due before the year 1000, so such a value is
 * far likelier a client's mistake than a wish; year 0 is not a year to
 * Postgres at all.
 */
export const isoDateTime = z.iso
  .datetime({ offset: true, error: "must be an ISO 8601 date-time" })
  .refine((value) => Number(value.slice(0, 4)) >= earliestYear, {
    error: `must be an ISO 8601 date-time from the year ${earliestYear} on`,
  })
  .meta({ description: `ISO 8601 date-time with an offset, from the year ${earliestYear} on` });

// Up to 15 digits: every such number is exact in a double.
const wholeNumber = /^(0|[1-9][0-9]{0,14})$/;

/**
 * A whole number in a query string, written as plain decimal digits. Where
 * `z.coerce.number()` would read "" as 0, "1e1" as 10, "0x10" as 16 and
 * accept "+5", "05" or "5.0", this answers "must be a whole number from min
 * to max" naming the parameter. The OpenAPI document still says integer.
 * Without a max, numbers of up to 15 digits are taken.
 */
export function queryInteger(range: { min: number; max?: number; default?: number }) {
  const message =
    range.max === undefined
      ? `must be a whole number of at least ${range.min}`
      : `must be a whole number from ${range.min} to ${range.max}`;
  const atLeast = z.number({ error: message }).int(message).min(range.min, message);
  const number = range.max === undefined ? atLeast : atLeast.max(range.max, message);
  // The default goes inside the preprocessing, where the OpenAPI document
  // (the JSON Schema of the input) still sees it.
  return z.preprocess(
    (value) => (typeof value === "string" && wholeNumber.test(value) ? Number(value) : value),
    range.default === undefined ? number : number.default(range.default),
  );
}

/** A UUID anywhere in a request, answered "must be a UUID" when it is not one. */
export const uuid = z.uuid({ error: "must be a UUID" });

/** The path parameters of a route on one resource, `/{id}`. */
export const idParams = z.strictObject({ id: uuid });
