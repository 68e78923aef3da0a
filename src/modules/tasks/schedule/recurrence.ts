import { DateTime } from "luxon";
import { RRuleTemporal } from "rrule-temporal";
import { isValidTimeZone, localToInstant } from "./due.ts";

export type RecurrenceMatch = { rule: string; index: number; length: number };

const MAX_INTERVAL = 1000;
const DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const FREQUENCIES = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"];

function intList(min: number, max: number, allowNegative: boolean): (value: string) => boolean {
  return (value) =>
    value.split(",").every((item) => {
      if (!/^[+-]?\d{1,4}$/.test(item)) return false;
      const n = Number(item);
      if (n < 0 && !allowNegative) return false;
      return allowNegative
        ? n !== 0 && Math.abs(n) >= min && Math.abs(n) <= max
        : n >= min && n <= max;
    });
}

/** UNTIL as wall-clock fields (a date-only UNTIL covers its whole day) plus whether it was UTC ("Z"). */
function parseUntil(value: string): { wall: DateTime; utc: boolean } | null {
  const m = /^(\d{8})(?:T(\d{6})(Z?))?$/.exec(value);
  if (!m?.[1]) return null;
  const wall = m[2]
    ? DateTime.fromFormat(m[1] + m[2], "yyyyMMddHHmmss", { zone: "UTC" })
    : DateTime.fromFormat(m[1], "yyyyMMdd", { zone: "UTC" }).endOf("day");
  return wall.isValid ? { wall, utc: m[3] === "Z" } : null;
}

const CHECKS: Record<string, (value: string) => boolean> = {
  FREQ: (v) => FREQUENCIES.includes(v),
  INTERVAL: intList(1, MAX_INTERVAL, false),
  COUNT: (v) => !v.includes(",") && intList(1, 9999, false)(v),
  UNTIL: (v) => parseUntil(v) !== null,
  BYDAY: (v) =>
    v.split(",").every((d) => {
      const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(d);
      const n = m?.[1] ? Math.abs(Number(m[1])) : 1;
      return !!m && DAY_CODES.includes(m[2] ?? "") && n >= 1 && n <= 53;
    }),
  BYMONTHDAY: intList(1, 31, true),
  BYMONTH: intList(1, 12, false),
  BYYEARDAY: intList(1, 366, true),
  BYWEEKNO: intList(1, 53, true),
  BYSETPOS: intList(1, 366, true),
  BYHOUR: intList(0, 23, false),
  BYMINUTE: intList(0, 59, false),
  BYSECOND: intList(0, 59, false),
  WKST: (v) => DAY_CODES.includes(v),
};

const numbered = (day: string) => /^[+-]?\d/.test(day);

/**
 * Rules rrule-temporal 2.2.8 evaluates wrongly, found by comparing it with
 * rrule on random rules (rrule was wrong on most of them too):
 * - BYYEARDAY with BYWEEKNO, BYMONTHDAY or BYDAY: the partner is dropped
 *   (BYWEEKNO=53;BYDAY=MO;BYYEARDAY=1, which never occurs, gave 28 December);
 * - BYWEEKNO with BYMONTHDAY (BYWEEKNO=-1;BYMONTHDAY=31 gave the 25th), or
 *   with BYSETPOS (the week that spans New Year falls in the other year);
 * - BYDAY mixing numbered and plain days (BYDAY=2MO,SA skipped every
 *   Saturday; rrule found no occurrence at all);
 * - in a YEARLY rule without BYMONTH, a numbered BYDAY with BYMONTHDAY
 *   (BYDAY=-1SA;BYMONTHDAY=1 gave 25 December).
 */
function unsupported(parts: Map<string, string>): boolean {
  const has = (...names: string[]) => names.every((name) => parts.has(name));
  const days = parts.get("BYDAY")?.split(",") ?? [];
  const anyNumbered = days.some(numbered);
  return (
    has("BYYEARDAY", "BYWEEKNO") ||
    has("BYYEARDAY", "BYMONTHDAY") ||
    has("BYYEARDAY", "BYDAY") ||
    has("BYWEEKNO", "BYMONTHDAY") ||
    has("BYWEEKNO", "BYSETPOS") ||
    (anyNumbered && !days.every(numbered)) ||
    (parts.get("FREQ") === "YEARLY" && anyNumbered && has("BYMONTHDAY") && !has("BYMONTH"))
  );
}

/**
 * Strictly validates an RRULE body: MINUTELY/SECONDLY and DTSTART/TZID parts
 * are rejected, and so is what RFC 5545 forbids (rrule-temporal's strict
 * mode: BYWEEKNO outside YEARLY, BYYEARDAY in DAILY/WEEKLY/MONTHLY,
 * BYMONTHDAY in WEEKLY, BYDAY=1MO outside MONTHLY/YEARLY, COUNT with UNTIL,
 * BYSETPOS alone) and the rules above.
 */
function parseRuleParts(rule: string): Map<string, string> | null {
  const body = rule
    .trim()
    .replace(/^RRULE:/i, "")
    .toUpperCase();
  const parts = new Map<string, string>();
  for (const part of body.split(";")) {
    if (part === "") continue;
    const m = /^([A-Z]+)=([A-Z0-9,+-]+)$/.exec(part);
    if (!m?.[1] || !m[2]) return null;
    const check = CHECKS[m[1]];
    if (!check || parts.has(m[1]) || !check(m[2])) return null;
    parts.set(m[1], m[2]);
  }
  if (!parts.has("FREQ")) return null;
  if (unsupported(parts)) return null;
  // Strict mode wants a UTC UNTIL with a UTC DTSTART; a date-only one is
  // ours to read (the end of that day), so it is checked as such.
  const checked = new Map(parts);
  const until = parseUntil(parts.get("UNTIL") ?? "");
  if (until) checked.set("UNTIL", stamp(until.wall));
  try {
    floatingSeries(checked, DateTime.fromMillis(0, { zone: "UTC" }), { strict: true });
  } catch {
    return null;
  }
  return parts;
}

function serialize(parts: Map<string, string>): string {
  return [...parts].map(([key, value]) => `${key}=${value}`).join(";");
}

// Each spelling matches one way only: with a shared trailing "s?", "tues" was "tue"+"s" or
// "tues", and a list of k such days ("every tuesand tuesand ...") backtracked 2^k ways.
const DAY =
  "(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|mons?|tues?|weds?|thu(?:rs?)?|fris?|sats?|suns?)";
const DAY_LIST = `${DAY}(?:\\s*(?:,\\s*(?:and\\s+)?|and\\s+|&\\s*)${DAY})*`;
const ORD = "\\d{1,2}(?:st|nd|rd|th)";
const ORD_LIST = `${ORD}(?:\\s*(?:,\\s*(?:and\\s+)?|and\\s+|&\\s*)${ORD})*`;
const OF_MONTH = "(?:\\s+of\\s+(?:the|each|every)\\s+month)?";
const FREQ_BY_INITIAL: Record<string, string> = {
  d: "DAILY",
  w: "WEEKLY",
  m: "MONTHLY",
  y: "YEARLY",
};
// day/daily, week/weekly, month/monthly, year/yearly share an initial; "annually" is yearly.
const freqOf = (word = "") =>
  FREQ_BY_INITIAL[word.toLowerCase().replace(/^a/, "y").charAt(0)] ?? "";

type RuleParts = { freq: string; interval?: number; byDay?: string[]; byMonthDay?: number[] };
type Pattern = {
  regex: RegExp;
  build: (m: RegExpExecArray) => RuleParts | null;
  adjective?: boolean;
};

function pattern(source: string, build: Pattern["build"], adjective = false): Pattern {
  return {
    regex: new RegExp(`(?<![\\p{L}\\p{N}_#@-])${source}(?![\\p{L}\\p{N}_])`, "giu"),
    build,
    adjective,
  };
}

// "weekly report", "Daily standup": an adverb followed by an ordinary word is an adjective in a title.
const AFTER_ADVERB =
  /^\s+(?!(?:at|on|from|starting|until|today|tomorrow|tonight|next|this|in)(?![\p{L}]))\p{L}/iu;

function dayCodes(list: string): string[] {
  const found = list.toLowerCase().match(new RegExp(DAY, "g")) ?? [];
  const codes = new Set(found.map((d) => d.slice(0, 2).toUpperCase()));
  return DAY_CODES.filter((code) => codes.has(code));
}

function parseInterval(word: string): number | null {
  const n = word.toLowerCase() === "other" ? 2 : Number(word);
  return Number.isInteger(n) && n >= 1 && n <= MAX_INTERVAL ? n : null;
}

const PATTERNS: Pattern[] = [
  pattern(`(daily|weekly|monthly|yearly|annually)`, (m) => ({ freq: freqOf(m[1]) }), true),
  pattern(`every\\s+(day|week|month|year)`, (m) => ({ freq: freqOf(m[1]) })),
  pattern(
    `every\\s+(other|\\d{1,4})\\s+(day|week|month|year)s?(?:\\s+on\\s+(${DAY_LIST}))?`,
    (m) => {
      const interval = parseInterval(m[1] ?? "");
      const freq = freqOf(m[2]);
      if (interval === null || (m[3] && freq !== "WEEKLY")) return null;
      return { freq, interval, byDay: m[3] ? dayCodes(m[3]) : undefined };
    },
  ),
  pattern(`every\\s+(?:(other)\\s+)?(${DAY_LIST})`, (m) => ({
    freq: "WEEKLY",
    interval: m[1] ? 2 : 1,
    byDay: dayCodes(m[2] ?? ""),
  })),
  pattern(`every\\s+weekdays?`, () => ({ freq: "WEEKLY", byDay: ["MO", "TU", "WE", "TH", "FR"] })),
  pattern(`every\\s+weekends?`, () => ({ freq: "WEEKLY", byDay: ["SA", "SU"] })),
  pattern(`every\\s+(?:month\\s+on\\s+the\\s+)?(${ORD_LIST})${OF_MONTH}`, (m) => {
    const days = [...new Set((m[1]?.match(/\d+/g) ?? []).map(Number))].sort((a, b) => a - b);
    return days.every((d) => d >= 1 && d <= 31) ? { freq: "MONTHLY", byMonthDay: days } : null;
  }),
  pattern(`every\\s+last\\s+day${OF_MONTH}`, () => ({ freq: "MONTHLY", byMonthDay: [-1] })),
];

const TIME_SUFFIX =
  /\s+(?:at\s+)?(?:(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?|(\d{1,2}):(\d{2}))(?![\p{L}\p{N}])|\s+at\s+(?:(\d{1,2})|(noon)|(midnight))(?![\p{L}\p{N}:])/iuy;

function matchTime(
  text: string,
  at: number,
): { hour: number; minute: number; length: number } | null {
  TIME_SUFFIX.lastIndex = at;
  const m = TIME_SUFFIX.exec(text);
  if (!m) return null;
  const [, h12, m12, meridiem, h24, m24, bare, noon, midnight] = m;
  let hour: number;
  let minute = 0;
  if (h12 !== undefined) {
    hour = Number(h12);
    minute = Number(m12 ?? 0);
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem?.toLowerCase() === "p" ? 12 : 0);
  } else if (h24 !== undefined || bare !== undefined) {
    hour = Number(h24 ?? bare);
    minute = Number(m24 ?? 0);
  } else {
    hour = noon ? 12 : midnight ? 0 : -1;
  }
  if (hour < 0 || hour > 23 || minute > 59) return null;
  return { hour, minute, length: m[0].length };
}

function toRule(parts: RuleParts, time: { hour: number; minute: number } | null): string {
  const out = [`FREQ=${parts.freq}`];
  if (parts.interval && parts.interval > 1) out.push(`INTERVAL=${parts.interval}`);
  if (parts.byDay?.length) out.push(`BYDAY=${parts.byDay.join(",")}`);
  if (parts.byMonthDay?.length) out.push(`BYMONTHDAY=${parts.byMonthDay.join(",")}`);
  if (time) out.push(`BYHOUR=${time.hour}`, `BYMINUTE=${time.minute}`);
  return out.join(";");
}

/** Finds the earliest (then longest) natural recurrence phrase inside free text. */
export function findRecurrence(text: string): RecurrenceMatch | null {
  let best: RecurrenceMatch | null = null;
  for (const { regex, build, adjective } of PATTERNS) {
    for (const m of text.matchAll(regex)) {
      const parts = build(m);
      if (!parts?.freq) continue;
      const end = m.index + m[0].length;
      const time = matchTime(text, end);
      const length = m[0].length + (time?.length ?? 0);
      if (adjective && AFTER_ADVERB.test(text.slice(m.index + length))) continue;
      if (!best || m.index < best.index || (m.index === best.index && length > best.length)) {
        best = { rule: toRule(parts, time), index: m.index, length };
      }
    }
  }
  return best;
}

/** Returns an RRULE body (no DTSTART) for a raw RRULE or a natural phrase, or null when not understood. */
export function parseRecurrence(text: string): string | null {
  const trimmed = text.trim();
  if (/^(?:RRULE:)?FREQ=/i.test(trimmed)) {
    const parts = parseRuleParts(trimmed);
    return parts ? serialize(parts) : null;
  }
  const match = findRecurrence(trimmed);
  return match && match.index === 0 && match.length === trimmed.length ? match.rule : null;
}

export function ruleHasTime(rule: string): boolean {
  const parts = parseRuleParts(rule);
  return !!parts && (parts.has("BYHOUR") || parts.has("BYMINUTE"));
}

export { isValidTimeZone };

/** A UTC DateTime whose fields carry wall-clock time: the rule then runs free of DST. */
const floating = (local: DateTime) => local.setZone("UTC", { keepLocalTime: true });
const stamp = (local: DateTime) => `${floating(local).toFormat("yyyyMMdd'T'HHmmss")}Z`;

/**
 * The series as rrule-temporal reads it, in floating time: DTSTART and
 * UNTIL carry wall-clock fields as if they were UTC, so its calendar math
 * has no DST in it, and `nextOccurrence` maps each wall-clock time to an
 * instant in the user's zone itself (a nonexistent 02:30 moves forward to
 * 03:30; hourly rules step in wall-clock hours, as python-dateutil does).
 */
function floatingSeries(
  parts: Map<string, string>,
  start: DateTime,
  options: { strict?: boolean } = {},
): RRuleTemporal {
  return new RRuleTemporal({
    rruleString: `DTSTART:${stamp(start)}\nRRULE:${serialize(parts)}`,
    ...options,
  });
}

/**
 * rrule-temporal gave up: no occurrence within its caps (10,000 periods, a
 * million candidates), as for FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30, or a
 * date past what Temporal can hold.
 */
export class RecurrenceNotFound extends Error {
  constructor(rule: string, cause: unknown) {
    super(`No next occurrence of ${rule} could be found`, { cause });
    this.name = "RecurrenceNotFound";
  }
}

/** Not an RRULE body this server evaluates (one stored before today's checks, say). */
export class RuleNotAccepted extends RangeError {
  constructor(rule: string) {
    super(`Invalid recurrence rule: ${rule}`);
    this.name = "RuleNotAccepted";
  }
}

type WallTime = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
};

/**
 * Next occurrence strictly after `after` of the series starting at `anchor`, keeping the local wall-clock
 * time in `timeZone` across DST changes. Returns null once COUNT/UNTIL has ended the series.
 */
export function nextOccurrence(
  rule: string,
  options: { anchor: Date; after: Date; timeZone: string },
): Date | null {
  const parts = parseRuleParts(rule);
  if (!parts) throw new RuleNotAccepted(rule);
  if (!isValidTimeZone(options.timeZone))
    throw new RangeError(`Invalid time zone: ${options.timeZone}`);
  const { timeZone } = options;
  const timed = parts.has("BYHOUR") || parts.has("BYMINUTE");
  // Without these the anchor's minutes/seconds would be copied into "at 9am".
  if (parts.has("BYHOUR") && !parts.has("BYMINUTE")) parts.set("BYMINUTE", "0");
  if (timed && !parts.has("BYSECOND")) parts.set("BYSECOND", "0");
  // RFC 5545: BYWEEKNO alone means every day of those weeks; rrule-temporal
  // would take only DTSTART's weekday.
  if (parts.has("BYWEEKNO") && !parts.has("BYDAY")) parts.set("BYDAY", DAY_CODES.join(","));
  const until = parseUntil(parts.get("UNTIL") ?? "");
  // A UTC UNTIL is an instant: its wall-clock time in the user's zone bounds the floating series.
  if (until) parts.set("UNTIL", stamp(until.utc ? until.wall.setZone(timeZone) : until.wall));

  const anchor = DateTime.fromJSDate(options.anchor, { zone: timeZone });
  const series = floatingSeries(parts, anchor);
  const toInstant = ({ year, month, day, hour, minute, second }: WallTime): Date =>
    localToInstant(
      { year, month, day, hour, minute, second, millisecond: timed ? 0 : anchor.millisecond },
      timeZone,
    );
  const next = (after: Date, inclusive: boolean) => {
    try {
      return series.next(after, inclusive);
    } catch (error) {
      throw new RecurrenceNotFound(rule, error);
    }
  };

  // Start a few hours early: wall-clock and instant order can disagree around a DST change.
  const from = DateTime.fromJSDate(options.after, { zone: timeZone }).minus({ hours: 3 });
  let candidate = next(floating(from).toJSDate(), true);
  for (let guard = 0; candidate && guard < 10_000; guard++) {
    const instant = toInstant(candidate);
    if (instant.getTime() > options.after.getTime()) return instant;
    candidate = next(new Date(candidate.epochMilliseconds), false);
  }
  return null;
}
