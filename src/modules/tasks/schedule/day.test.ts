import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { dayBounds } from "./day.ts";

const luxonDay = (now: Date, zone: string) => {
  const local = DateTime.fromJSDate(now, { zone });
  return { start: local.startOf("day").toJSDate(), end: local.endOf("day").toJSDate() };
};

describe("dayBounds", () => {
  it("is the local calendar day, 23 and 25 hours long across DST changes", () => {
    const spring = dayBounds(new Date("2026-03-29T12:00:00Z"), "Europe/Berlin");
    expect(spring.start.toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(spring.end.getTime() - spring.start.getTime()).toBe(23 * 3_600_000 - 1);
    const autumn = dayBounds(new Date("2026-10-25T12:00:00Z"), "Europe/Berlin");
    expect(autumn.end.getTime() - autumn.start.getTime()).toBe(25 * 3_600_000 - 1);
  });

  it("moves to the next day at local midnight, not at UTC midnight", () => {
    const zone = "America/New_York";
    const evening = dayBounds(new Date("2026-11-28T04:59:59.999Z"), zone);
    const midnight = dayBounds(new Date("2026-11-28T05:00:00.000Z"), zone);
    expect(evening.start.toISOString()).toBe("2026-11-27T05:00:00.000Z");
    expect(midnight.start.toISOString()).toBe("2026-11-28T05:00:00.000Z");
    // Back to the earlier day (a clock in a test, a request served late).
    expect(dayBounds(new Date("2026-11-27T12:00:00Z"), zone)).toEqual(evening);
  });

  it("agrees with luxon for every hour of a year in zones with odd offsets", () => {
    for (const zone of ["UTC", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe"]) {
      for (let hour = 0; hour < 366 * 24; hour += 7) {
        const now = new Date(Date.UTC(2026, 0, 1) + hour * 3_600_000 + 1_234);
        expect(dayBounds(now, zone), `${zone} ${now.toISOString()}`).toEqual(luxonDay(now, zone));
      }
    }
  });
});
