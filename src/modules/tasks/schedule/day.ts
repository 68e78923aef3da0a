import { DateTime } from "luxon";

export type DayBounds = { start: Date; end: Date };

/** The day last asked for in each zone; bounded by the number of zones in use. */
const lastDay = new Map<string, DayBounds>();
const maxZones = 1_000;

/**
 * The first and last millisecond of the calendar day `now` falls on in
 * `zone` (DST-aware: a day may be 23 or 25 hours). Luxon's zone arithmetic
 * was 6% of GET /v1/me's CPU, and the answer only changes at midnight, so
 * the last day per zone is kept and reused while `now` is inside it.
 */
export function dayBounds(now: Date, zone: string): DayBounds {
  const at = now.getTime();
  const known = lastDay.get(zone);
  if (known && known.start.getTime() <= at && at <= known.end.getTime()) return known;
  const local = DateTime.fromJSDate(now, { zone });
  const bounds = { start: local.startOf("day").toJSDate(), end: local.endOf("day").toJSDate() };
  if (!lastDay.has(zone) && lastDay.size >= maxZones) lastDay.clear();
  lastDay.set(zone, bounds);
  return bounds;
}
