/**
 * Reads Postgres' text form of a timestamptz ("2026-11-27 20:00:00.123456+00",
 * any UTC offset) into a Date without regular expressions. pg's default
 * parser (postgres-date) runs three regexes per value and was 7% of a list
 * request's CPU at four timestamps per task (bench/results). Anything else
 * (BC, infinity, years before 100 or after 9999) goes to the default parser.
 */
import pg from "pg";

const fallback = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;

const zero = 48;

/** The number in `count` decimal digits at `start`, or -1 if one is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index++) {
    const digit = text.charCodeAt(index) - zero;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

export function parseTimestamptz(text: string): Date {
  // "YYYY-MM-DD HH:MM:SS" is 19 characters, then ".f{1,6}" and "±HH[:MM[:SS]]".
  if (
    text.length < 22 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return fallback(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) {
    return fallback(text);
  }
  let at = 19;
  let milliseconds = 0;
  if (text.charCodeAt(at) === 46) {
    at++;
    // Milliseconds are the first three fraction digits (a Date keeps no more).
    let scale = 100;
    while (at < text.length) {
      const digit = text.charCodeAt(at) - zero;
      if (digit < 0 || digit > 9) break;
      milliseconds += digit * scale;
      scale /= 10;
      at++;
    }
    milliseconds = Math.trunc(milliseconds);
  }
  const sign = text.charCodeAt(at);
  if (sign !== 43 && sign !== 45) return fallback(text);
  const hours = digits(text, at + 1, 2);
  let minutes = 0;
  let seconds = 0;
  let end = at + 3;
  if (text.charCodeAt(end) === 58) {
    minutes = digits(text, end + 1, 2);
    end += 3;
    if (text.charCodeAt(end) === 58) {
      seconds = digits(text, end + 1, 2);
      end += 3;
    }
  }
  if (end !== text.length || hours < 0 || minutes < 0 || seconds < 0) return fallback(text);
  const offsetMs = (hours * 3600 + minutes * 60 + seconds) * 1000 * (sign === 43 ? 1 : -1);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, milliseconds) - offsetMs);
}

/**
 * Postgres' text form of a timestamptz as the ISO string `Date#toISOString`
 * writes ("2026-11-27T20:00:00.123Z"), without making a Date: the fraction
 * cut to milliseconds like `parseTimestamptz`. For a UTC session (every
 * value ends in "+00") from year 1000 on; anything else goes through
 * `parseTimestamptz`, so both give the same string for every value.
 */
export function timestamptzToIso(text: string): string {
  const length = text.length;
  const first = text.charCodeAt(0);
  if (
    length < 22 ||
    first < 49 ||
    first > 57 ||
    text.charCodeAt(length - 3) !== 43 ||
    text.charCodeAt(length - 2) !== 48 ||
    text.charCodeAt(length - 1) !== 48 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58 ||
    (length !== 22 && text.charCodeAt(19) !== 46) ||
    length > 29
  ) {
    return parseTimestamptz(text).toISOString();
  }
  const head = `${text.slice(0, 10)}T${text.slice(11, 19)}.`;
  // ".f" to ".ffffff" before "+00": keep three digits, padded with zeros.
  const fraction = length === 22 ? "" : text.slice(20, Math.min(23, length - 3));
  return `${head}${fraction.padEnd(3, "0")}Z`;
}
