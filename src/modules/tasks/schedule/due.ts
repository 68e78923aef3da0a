import type { ParsedResult } from "chrono-node";
import * as chrono from "chrono-node";
import { DateTime, IANAZone } from "luxon";

export type DueOptions = { now: Date; timeZone: string };
export type ParsedDue = { dueAt: Date; allDay: boolean };
export type DueMatch = ParsedDue & { index: number; length: number };

const WEEKDAY =
  "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|thu(?:rs?)?|fri";
const MONTH =
  "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec";
const EXPLICIT_TIME = /\d\s*(?:a\.?m\.?|p\.?m\.?)(?![a-z])|\d:\d{2}|\b(?:noon|midnight)\b/i;
const RELATIVE =
  /\b(?:today|tonight|tomorrow|tmrw?|yesterday|next|weekend|(?:this|tomorrow)\s+(?:morning|afternoon|evening|night)|in\s+(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few)\s+(?:minutes?|mins?|hours?|days?|weeks?|months?|years?)|from\s+now|later)\b/i;
const STRONG_WEEKDAY = new RegExp(`\\b(?:${WEEKDAY})\\b`, "i");
// "sun", "sat" and "wed" are ordinary English words ("sun cream"), so they need a qualifier.
const QUALIFIED_SHORT_WEEKDAY = /\b(?:on|next|this|last)\s+(?:sun|sat|wed)\b/i;
const MONTH_NAME = new RegExp(`\\b(?:${MONTH})\\b`, "i");
const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/;
const NAMED_DAY_PREFIX = /\b(?:black|good|cyber|holy|ash|easter)\s*$/i;

// Checking a zone builds an Intl.DateTimeFormat (~0.15 ms); zones are few, so remember answers.
const knownZones = new Map<string, boolean>();

export function isValidTimeZone(zone: string): boolean {
  const known = knownZones.get(zone);
  if (known !== undefined) return known;
  // Intl also accepts raw offsets like "+05:00", which have no DST rules; only named zones are allowed.
  const valid = /^[A-Za-z]/.test(zone) && IANAZone.isValidZone(zone);
  if (knownZones.size < 1_000) knownZones.set(zone, valid);
  return valid;
}

function zoneOffsetMinutes(instant: Date, timeZone: string): number {
  if (!isValidTimeZone(timeZone)) throw new RangeError(`Invalid time zone: ${timeZone}`);
  return DateTime.fromJSDate(instant, { zone: timeZone }).offset;
}

export type WallClock = {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
  millisecond?: number;
};

/**
 * Wall-clock time in `timeZone` to an instant, per RFC 5545: a repeated (fall-back) time means its first
 * occurrence and a skipped (spring-forward) time is read with the offset from before the gap.
 */
export function localToInstant(wall: WallClock, timeZone: string): Date {
  const zone = IANAZone.create(timeZone);
  const { hour = 0, minute = 0, second = 0, millisecond = 0 } = wall;
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, hour, minute, second, millisecond);
  const before = zone.offset(asUtc - 86_400_000);
  const after = zone.offset(asUtc + 86_400_000);
  const valid = [before, after]
    .map((offset) => asUtc - offset * 60_000)
    .filter((ts) => asUtc - zone.offset(ts) * 60_000 === ts);
  return new Date(valid.length > 0 ? Math.min(...valid) : asUtc - before * 60_000);
}

/**
 * Chrono reads the text with every run of whitespace made one space: its
 * connector between time units (`\s{0,5},?(?:\s*and)?\s{0,5}`, repeated up
 * to ten times) backtracks exponentially over longer runs ("1d     1d ...":
 * 2.7 s at 72 characters, over a minute at 200). Results come back with
 * `index` and `text` in `text`, as if chrono had read it as sent.
 */
function parseAll(text: string, options: DueOptions): ParsedResult[] {
  const timezone = zoneOffsetMinutes(options.now, options.timeZone);
  let compact = "";
  const origin: number[] = []; // where each character of `compact` is in `text`
  for (let i = 0; i < text.length; i++) {
    const space = WHITESPACE.test(text.charAt(i));
    if (space && i > 0 && WHITESPACE.test(text.charAt(i - 1))) continue;
    compact += space ? " " : text.charAt(i);
    origin.push(i);
  }
  const results = chrono.casual.parse(
    compact,
    { instant: options.now, timezone },
    { forwardDate: true },
  );
  if (compact === text) return results;
  return results.map((result): ParsedResult => {
    const from = origin[result.index] ?? 0;
    const to = (origin[result.index + result.text.length - 1] ?? from) + 1;
    return {
      refDate: result.refDate,
      index: from,
      text: text.slice(from, to),
      start: result.start,
      ...(result.end ? { end: result.end } : {}),
      date: () => result.date(),
      tags: () => result.tags(),
    };
  });
}

const WHITESPACE = /\s/;

/** The longest text read as a date: the `due` field's limit too. */
export const maxDueText = 200;

function isTimed(result: ParsedResult): boolean {
  const tags = result.tags();
  return (
    result.start.isCertain("hour") ||
    tags.has("parser/ENCasualTimeParser") ||
    tags.has("casualReference/tonight") ||
    tags.has("result/relativeDateAndTime")
  );
}

/** Chrono works with the fixed offset of `now`; rebuilding from wall-clock fields applies the right offset on the target day (DST). */
function resolve(result: ParsedResult, timeZone: string): ParsedDue {
  const start = result.start;
  const absolute =
    start.isCertain("timezoneOffset") || result.tags().has("result/relativeDateAndTime");
  if (absolute) return { dueAt: start.date(), allDay: false };
  const day = {
    year: start.get("year") ?? 0,
    month: start.get("month") ?? 1,
    day: start.get("day") ?? 1,
  };
  if (!isTimed(result)) {
    // All-day tasks are due at the very end of their local day, so they only become overdue once the day is over.
    const endOfDay = { ...day, hour: 23, minute: 59, second: 59, millisecond: 999 };
    return { dueAt: localToInstant(endOfDay, timeZone), allDay: true };
  }
  const time = {
    hour: start.get("hour") ?? 0,
    minute: start.get("minute") ?? 0,
    second: start.get("second") ?? 0,
  };
  return { dueAt: localToInstant({ ...day, ...time }, timeZone), allDay: false };
}

/** Parses a text that is entirely a due date ("tomorrow 5pm", "by friday"); anything else gives null. */
export function parseDue(text: string, options: DueOptions): ParsedDue | null {
  const trimmed = text.trim();
  // A longer text is not a date, and chrono's time grows with it.
  if (trimmed === "" || trimmed.length > maxDueText) return null;
  const results = parseAll(trimmed, options);
  if (results.length !== 1) return null;
  const [result] = results;
  if (!result) return null;
  const before = trimmed.slice(0, result.index).trim().toLowerCase();
  const after = trimmed.slice(result.index + result.text.length).trim();
  if (!/^(?:(?:due|by|on)(?:\s+(?:on|by))?)?$/.test(before) || !/^[.!]*$/.test(after)) return null;
  return resolve(result, options.timeZone);
}

export function isStrongDateSignal(result: ParsedResult): boolean {
  const text = result.text;
  if (ISO_DATE.test(text) || EXPLICIT_TIME.test(text) || RELATIVE.test(text)) return true;
  if (STRONG_WEEKDAY.test(text) || QUALIFIED_SHORT_WEEKDAY.test(text)) return true;
  const hasDay = result.start.isCertain("day") || result.start.isCertain("year");
  return MONTH_NAME.test(text) && hasDay;
}

function maskRange(text: string, from: number, to: number): string {
  return text.slice(0, from) + " ".repeat(to - from) + text.slice(to);
}

type Range = { from: number; to: number };
type Verdict = { kind: "accept" } | { kind: "reject" } | { kind: "mask"; ranges: Range[] };

function judge(result: ParsedResult, text: string): Verdict {
  const from = result.index;
  const to = from + result.text.length;
  // A match starting inside a word ("Catch-22 tomorrow" -> "22 tomorrow") borrowed a number from that word.
  if (from > 0 && /[\p{L}\p{N}_-]/u.test(text.charAt(from - 1))) {
    const glued = /^[\p{L}\p{N}]+/u.exec(result.text);
    return { kind: "mask", ranges: [{ from, to: from + (glued?.[0].length ?? 1) }] };
  }
  const atHour = /\bat\s+\d{1,2}\b/i.test(result.text) && isStrongDateSignal(result);
  if (result.start.isCertain("hour") && !EXPLICIT_TIME.test(result.text) && !atHour) {
    // Every bare number in it: "1 h 1 h 1 h" is one match of three.
    const bare = [...result.text.matchAll(/(?<![\p{L}\p{N}:])\d{1,2}(?![\p{L}\p{N}:])/gu)];
    if (bare.length > 0) {
      const ranges = bare.map(({ index, 0: digits }) => ({
        from: from + index,
        to: from + index + digits.length,
      }));
      return { kind: "mask", ranges };
    }
  }
  if (!isStrongDateSignal(result)) return { kind: "reject" };
  // Capitalised date words running into more capitalised words are a title: "Watch Friday Night Lights".
  const next = text.slice(to).trimStart();
  if (/^\p{Lu}/u.test(result.text) && /^\p{Lu}/u.test(next)) return { kind: "reject" };
  const onlyWeekday = result.start.isCertain("weekday") && !result.start.isCertain("day");
  if (onlyWeekday && NAMED_DAY_PREFIX.test(text.slice(0, from))) return { kind: "reject" };
  return { kind: "accept" };
}

/**
 * Finds the first strong date phrase inside free text (quick-add). Bare numbers and ordinals are not
 * accepted on their own; see isStrongDateSignal. A match that borrowed a number is read again with
 * that number masked; every such match before the first acceptable one is masked at once, so a
 * text full of them ("1 h 1 h ... tomorrow 5pm") takes a few parses, not one per match (eight
 * passes of one mask each cost 90-160 ms at 500 characters and then gave up before "tomorrow").
 */
export function findDueInText(text: string, options: DueOptions): DueMatch | null {
  let work = text;
  for (let attempt = 0; attempt < 8; attempt++) {
    const masks: Range[] = [];
    for (const result of parseAll(work, options)) {
      const verdict = judge(result, work);
      if (verdict.kind === "reject") continue;
      if (verdict.kind === "mask") {
        masks.push(...verdict.ranges);
        continue;
      }
      // Read again with the masks first: one may change how this match reads.
      if (masks.length > 0) break;
      const trimmed = result.text.trimEnd();
      return { ...resolve(result, options.timeZone), index: result.index, length: trimmed.length };
    }
    if (masks.length === 0) return null;
    for (const { from, to } of masks) work = maskRange(work, from, to);
  }
  return null;
}
