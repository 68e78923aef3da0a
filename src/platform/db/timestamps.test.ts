import pg from "pg";
import { describe, expect, it } from "vitest";
import { serverDatabaseUrl } from "../../../test/harness.ts";
import { parseTimestamptz, timestamptzToIso } from "./timestamps.ts";

const byDefault = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (
  text: string,
) => unknown;

describe("parseTimestamptz", () => {
  it.each([
    "2026-11-27 20:00:00+00",
    "2026-11-27 20:00:00.1+00",
    "2026-11-27 20:00:00.123+00",
    "2026-11-27 20:00:00.123456+00",
    "2026-11-27 20:00:00.999999+00",
    "2026-03-29 01:30:00.5+01",
    "2026-11-27 20:00:00.25-05",
    "2026-11-27 20:00:00+05:30",
    "1887-01-01 00:00:00+00:53:28",
    "2024-02-29 23:59:59.999-09:30",
    "9999-12-31 23:59:59.999999+00",
    "0100-01-01 00:00:00+00",
  ])("reads %s as pg's default parser does", (text) => {
    expect(parseTimestamptz(text)).toEqual(byDefault(text));
  });

  it.each([
    "infinity",
    "-infinity",
    "0044-03-15 12:00:00+00 BC",
    "0099-12-31 23:59:59+00",
    "10000-01-01 00:00:00+00",
    "2026-11-27T20:00:00Z",
    "2026-11-27 20:00:00",
  ])("hands %s to pg's default parser", (text) => {
    expect(parseTimestamptz(text)).toEqual(byDefault(text));
  });

  it("keeps the milliseconds of every microsecond value, truncating like a Date", () => {
    for (let micros = 0; micros < 1_000_000; micros += 997) {
      const fraction = String(micros).padStart(6, "0");
      const date = parseTimestamptz(`2026-11-27 20:00:00.${fraction}+00`);
      expect(date.getUTCMilliseconds()).toBe(Math.floor(micros / 1000));
    }
  });

  it("agrees with what Postgres itself writes, across time zones", async () => {
    const client = new pg.Client({ connectionString: serverDatabaseUrl() });
    await client.connect();
    try {
      for (const zone of ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]) {
        await client.query(`set time zone '${zone}'`);
        const { rows } = await client.query<{ text: string; epoch: string }>(
          `select t::text as text, floor(extract(epoch from t) * 1000)::bigint::text as epoch
             from (values (timestamptz '2026-03-29 00:59:59.999999+00'),
                          (timestamptz '2026-10-25 01:00:00.000001+00'),
                          (timestamptz '1999-12-31 23:59:59.5+00'),
                          (now())) as v(t)`,
        );
        for (const row of rows) {
          expect(parseTimestamptz(row.text).getTime(), row.text).toBe(Number(row.epoch));
          expect(timestamptzToIso(row.text), row.text).toBe(
            new Date(Number(row.epoch)).toISOString(),
          );
        }
      }
    } finally {
      await client.end();
    }
  });
});

describe("timestamptzToIso", () => {
  const viaDate = (text: string) => parseTimestamptz(text).toISOString();

  it.each([
    ["2026-11-27 20:00:00+00", "2026-11-27T20:00:00.000Z"],
    ["2026-11-27 20:00:00.1+00", "2026-11-27T20:00:00.100Z"],
    ["2026-11-27 20:00:00.12+00", "2026-11-27T20:00:00.120Z"],
    ["2026-11-27 20:00:00.123+00", "2026-11-27T20:00:00.123Z"],
    ["2026-11-27 20:00:00.123456+00", "2026-11-27T20:00:00.123Z"],
    ["2026-11-27 20:00:00.999999+00", "2026-11-27T20:00:00.999Z"],
    ["1000-01-01 00:00:00+00", "1000-01-01T00:00:00.000Z"],
    ["9999-12-31 23:59:59.999999+00", "9999-12-31T23:59:59.999Z"],
  ])("writes %s as %s, like a Date would", (text, iso) => {
    expect(timestamptzToIso(text)).toBe(iso);
    expect(viaDate(text)).toBe(iso);
  });

  it.each([
    "2026-03-29 01:30:00.5+01",
    "2026-11-27 20:00:00.25-05",
    "2026-11-27 20:00:00+05:30",
    "2026-11-27 20:00:00+10:00",
    "1887-01-01 00:00:00+00:53:28",
    "0999-12-31 23:59:59+00",
    "0100-01-01 00:00:00+00",
  ])("converts %s (not a UTC value from year 1000 on) through a Date", (text) => {
    expect(timestamptzToIso(text)).toBe(viaDate(text));
  });

  it.each(["infinity", "-infinity", "0044-03-15 12:00:00+00 BC"])(
    "treats %s exactly as parsing into a Date and writing it would",
    (text) => {
      const outcome = (convert: (text: string) => string) => {
        try {
          return convert(text);
        } catch (error) {
          return error instanceof Error ? error.constructor : error;
        }
      };
      expect(outcome(timestamptzToIso)).toEqual(outcome(viaDate));
    },
  );

  it("keeps the milliseconds of every microsecond value", () => {
    for (let micros = 0; micros < 1_000_000; micros += 997) {
      const text = `2026-11-27 20:00:00.${String(micros).padStart(6, "0").replace(/0+$/, "")}+00`;
      expect(timestamptzToIso(text.replace(".+", "+")), text).toBe(
        viaDate(text.replace(".+", "+")),
      );
    }
  });
});
