import { describe, expect, it } from "vitest";
import { findNextOccurrence, RecurrenceUnresolvable } from "./occurrences.ts";
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

  it("stops a rule past its budget, and the next rule is evaluated as usual", async () => {
    const options = {
      anchor: new Date("2026-03-01T12:00:00Z"),
      after: new Date("2026-03-01T12:00:00Z"),
      timeZone: "UTC",
    };
    // rrule-temporal spends ~270 ms before it gives up on this one: 10 ms is long past.
    const slow = "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=-1";
    const stopped = findNextOccurrence(slow, options, 10);
    await expect(stopped).rejects.toThrow(RecurrenceUnresolvable);
    await expect(stopped).rejects.toMatchObject({ reason: "not within 0.01 s" });
    expect(await findNextOccurrence("FREQ=DAILY;BYHOUR=5", options)).toEqual(
      new Date("2026-03-02T05:00:00Z"),
    );
  });

  it("reports a rule with no occurrence within its caps, or no longer accepted, as unresolvable", async () => {
    const options = {
      anchor: new Date("2026-03-01T12:00:00Z"),
      after: new Date("2026-03-01T12:00:00Z"),
      timeZone: "UTC",
    };
    for (const rule of [
      "FREQ=HOURLY;INTERVAL=24;BYHOUR=5",
      "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    ]) {
      await expect(findNextOccurrence(rule, options)).rejects.toMatchObject({
        name: "RecurrenceUnresolvable",
        reason: "no occurrence within 10,000 of its periods",
      });
    }
    // Stored before today's checks: RFC 5545 allows BYWEEKNO in YEARLY rules only.
    await expect(findNextOccurrence("FREQ=DAILY;BYWEEKNO=1", options)).rejects.toMatchObject({
      reason: "not a rule this server evaluates",
    });
  });
});
