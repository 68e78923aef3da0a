import { describe, expect, it } from "vitest";
import { findNextOccurrence, RecurrenceTooSlow } from "./occurrences.ts";
import { nextOccurrence } from "./recurrence.ts";

const cases = [
  { rule: "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=30", timeZone: "America/New_York" },
  { rule: "FREQ=MONTHLY;BYMONTHDAY=-1", timeZone: "Europe/Berlin" },
  { rule: "FREQ=DAILY;COUNT=2", timeZone: "Asia/Kolkata" },
  { rule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", timeZone: "Australia/Lord_Howe" },
];

describe("findNextOccurrence", () => {
  it("gives what nextOccurrence gives, from a worker thread", async () => {
    for (const { rule, timeZone } of cases) {
      for (const after of [
        "2026-03-08T06:59:00Z",
        "2026-10-31T23:00:00Z",
        "2027-12-31T12:00:00Z",
      ]) {
        const options = {
          anchor: new Date("2026-03-01T12:00:00Z"),
          after: new Date(after),
          timeZone,
        };
        expect(await findNextOccurrence(rule, options), `${rule} after ${after}`).toEqual(
          nextOccurrence(rule, options),
        );
      }
    }
  });

  it("stops a rule that never yields, and the next rule is evaluated as usual", async () => {
    const options = {
      anchor: new Date("2026-03-01T12:00:00Z"),
      after: new Date("2026-03-01T12:00:00Z"),
      timeZone: "UTC",
    };
    await expect(findNextOccurrence("FREQ=HOURLY;INTERVAL=24;BYHOUR=5", options)).rejects.toThrow(
      RecurrenceTooSlow,
    );
    expect(await findNextOccurrence("FREQ=DAILY;BYHOUR=5", options)).toEqual(
      new Date("2026-03-02T05:00:00Z"),
    );
  });
});
