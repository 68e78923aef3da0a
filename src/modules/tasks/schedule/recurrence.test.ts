import { describe, expect, it } from "vitest";
import {
  findRecurrence,
  isValidTimeZone,
  nextOccurrence,
  parseRecurrence,
  RecurrenceNotFound,
  ruleHasTime,
} from "./recurrence.ts";

const NY = "America/New_York";
const BERLIN = "Europe/Berlin";

function next(
  rule: string,
  anchorIso: string,
  timeZone: string,
  afterIso = anchorIso,
): string | null {
  const anchor = new Date(anchorIso);
  return (
    nextOccurrence(rule, { anchor, after: new Date(afterIso), timeZone })?.toISOString() ?? null
  );
}

describe("parseRecurrence: natural phrases", () => {
  it.each([
    ["daily", "FREQ=DAILY"],
    ["every day", "FREQ=DAILY"],
    ["every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
    ["every weekend", "FREQ=WEEKLY;BYDAY=SA,SU"],
    ["weekly", "FREQ=WEEKLY"],
    ["every week", "FREQ=WEEKLY"],
    ["every monday", "FREQ=WEEKLY;BYDAY=MO"],
    ["Every Monday", "FREQ=WEEKLY;BYDAY=MO"],
    ["every mon and thu", "FREQ=WEEKLY;BYDAY=MO,TH"],
    ["every tue, thu and sat", "FREQ=WEEKLY;BYDAY=TU,TH,SA"],
    ["every other monday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"],
    ["every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"],
    ["every 2 weeks on monday and thursday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"],
    ["every other day", "FREQ=DAILY;INTERVAL=2"],
    ["every 3 days", "FREQ=DAILY;INTERVAL=3"],
    ["monthly", "FREQ=MONTHLY"],
    ["every month", "FREQ=MONTHLY"],
    ["every 1st", "FREQ=MONTHLY;BYMONTHDAY=1"],
    ["every 15th", "FREQ=MONTHLY;BYMONTHDAY=15"],
    ["every 1st and 15th", "FREQ=MONTHLY;BYMONTHDAY=1,15"],
    ["every 1st at 9am", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0"],
    ["every last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1"],
    ["yearly", "FREQ=YEARLY"],
    ["annually", "FREQ=YEARLY"],
    ["every year", "FREQ=YEARLY"],
    ["every 3 months", "FREQ=MONTHLY;INTERVAL=3"],
    ["every 1000 days", "FREQ=DAILY;INTERVAL=1000"],
    ["every monday at 9:30pm", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=21;BYMINUTE=30"],
    ["every day at 17:00", "FREQ=DAILY;BYHOUR=17;BYMINUTE=0"],
    ["every day at noon", "FREQ=DAILY;BYHOUR=12;BYMINUTE=0"],
    ["every day at 12am", "FREQ=DAILY;BYHOUR=0;BYMINUTE=0"],
  ])("understands %j", (text, rule) => {
    expect(parseRecurrence(text)).toBe(rule);
  });

  it.each([
    "every time",
    "sometimes",
    "every 0 days",
    "every 1001 days",
    "every 32nd",
    "every day at 25:00",
    "every 2 fortnights",
    "daily report",
    "",
  ])("does not understand %j", (text) => {
    expect(parseRecurrence(text)).toBeNull();
  });
});

describe("parseRecurrence: raw RRULE", () => {
  it("passes a valid rule through without the RRULE: prefix", () => {
    expect(parseRecurrence("RRULE:FREQ=WEEKLY;BYDAY=MO")).toBe("FREQ=WEEKLY;BYDAY=MO");
    expect(parseRecurrence("FREQ=MONTHLY;BYDAY=-1FR")).toBe("FREQ=MONTHLY;BYDAY=-1FR");
  });

  it("normalises case", () => {
    expect(parseRecurrence("freq=daily;interval=2")).toBe("FREQ=DAILY;INTERVAL=2");
  });

  it("allows valid COUNT and UNTIL", () => {
    expect(parseRecurrence("FREQ=DAILY;COUNT=5")).toBe("FREQ=DAILY;COUNT=5");
    expect(parseRecurrence("FREQ=WEEKLY;UNTIL=20261231T235959Z")).toBe(
      "FREQ=WEEKLY;UNTIL=20261231T235959Z",
    );
  });

  it.each([
    "FREQ=WEEKLY;FOO=1",
    "FREQ=FORTNIGHTLY",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;INTERVAL=1001",
    "FREQ=MINUTELY",
    "FREQ=SECONDLY",
    "FREQ=DAILY;BYHOUR=24",
    "FREQ=MONTHLY;BYMONTHDAY=0",
    "FREQ=DAILY;FREQ=WEEKLY",
    "FREQ=DAILY;COUNT=0",
    "FREQ=DAILY;UNTIL=20261340",
    "FREQ=DAILY;DTSTART=20260101T000000Z",
    "FREQ=DAILY;TZID=Europe/Berlin",
    "RRULE:INTERVAL=2",
    "FREQ=DAILY;INTERVAL",
  ])("rejects %j", (rule) => {
    expect(parseRecurrence(rule)).toBeNull();
  });
});

describe("findRecurrence", () => {
  it("locates a phrase inside a sentence, including its time", () => {
    const text = "Pay rent every 1st at 9am please";
    const match = findRecurrence(text);
    expect(match?.rule).toBe("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0");
    expect(text.slice(match?.index, (match?.index ?? 0) + (match?.length ?? 0))).toBe(
      "every 1st at 9am",
    );
  });

  it("reads each day spelling one way, so long lists of days cannot backtrack", () => {
    expect(parseRecurrence("every weds")).toBe("FREQ=WEEKLY;BYDAY=WE");
    expect(parseRecurrence("every mons, fris & suns")).toBe("FREQ=WEEKLY;BYDAY=MO,FR,SU");
    expect(parseRecurrence("every tues and thurs")).toBe("FREQ=WEEKLY;BYDAY=TU,TH");
    // "tues" once read as "tue"+"s" too: 2^k ways to fail, over a minute at 493 characters.
    const glued = `every ${"tuesand ".repeat(61).trim()}`;
    expect(findRecurrence(glued)).toBeNull();
  });

  it("treats daily/weekly before an ordinary word as an adjective", () => {
    expect(findRecurrence("Write weekly report")).toBeNull();
    expect(findRecurrence("Daily standup notes")).toBeNull();
    expect(findRecurrence("Water plants daily")?.rule).toBe("FREQ=DAILY");
  });
});

describe("nextOccurrence across DST", () => {
  it("keeps 09:00 local for a weekly rule across the March DST change (New York)", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-03-02T14:00:00Z", NY)).toBe(
      "2026-03-09T13:00:00.000Z",
    );
  });

  it("keeps 09:00 local for a weekly rule across the November DST change (New York)", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-10-26T13:00:00Z", NY)).toBe(
      "2026-11-02T14:00:00.000Z",
    );
  });

  it("keeps 08:00 local for a daily rule across the spring-forward night (New York)", () => {
    expect(next("FREQ=DAILY", "2026-03-07T13:00:00Z", NY)).toBe("2026-03-08T12:00:00.000Z");
  });

  it("keeps 08:00 local for a daily rule across the fall-back night (New York)", () => {
    expect(next("FREQ=DAILY", "2026-10-31T12:00:00Z", NY)).toBe("2026-11-01T13:00:00.000Z");
  });

  it("keeps 09:00 local for a weekly rule across the March DST change (Berlin)", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-03-23T08:00:00Z", BERLIN)).toBe(
      "2026-03-30T07:00:00.000Z",
    );
  });

  it("keeps 09:00 local for a weekly rule across the October DST change (Berlin)", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-10-19T07:00:00Z", BERLIN)).toBe(
      "2026-10-26T08:00:00.000Z",
    );
  });

  it("keeps 07:30 local for a daily rule across both Berlin changes", () => {
    expect(next("FREQ=DAILY", "2026-03-28T06:30:00Z", BERLIN)).toBe("2026-03-29T05:30:00.000Z");
    expect(next("FREQ=DAILY", "2026-10-24T05:30:00Z", BERLIN)).toBe("2026-10-25T06:30:00.000Z");
  });

  it("moves 02:30 forward to 03:30 on the night it does not exist, then returns to 02:30", () => {
    const rule = "FREQ=DAILY;BYHOUR=2;BYMINUTE=30";
    expect(next(rule, "2026-03-07T07:30:00Z", NY)).toBe("2026-03-08T07:30:00.000Z");
    expect(next(rule, "2026-03-07T07:30:00Z", NY, "2026-03-08T07:30:00Z")).toBe(
      "2026-03-09T06:30:00.000Z",
    );
  });

  it("yields the repeated 01:30 of the fall-back night once, at its first occurrence", () => {
    const first = next("FREQ=DAILY", "2026-10-31T05:30:00Z", NY);
    expect(first).toBe("2026-11-01T05:30:00.000Z");
    expect(next("FREQ=DAILY", "2026-10-31T05:30:00Z", NY, first ?? undefined)).toBe(
      "2026-11-02T06:30:00.000Z",
    );
  });
});

describe("nextOccurrence", () => {
  it("is strictly after `after`", () => {
    const anchor = "2026-03-02T14:00:00Z";
    expect(next("FREQ=WEEKLY;BYDAY=MO", anchor, NY, "2026-03-09T13:00:00Z")).toBe(
      "2026-03-16T13:00:00.000Z",
    );
  });

  it("returns the anchor itself when `after` is earlier and the anchor matches", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-03-02T14:00:00Z", NY, "2026-02-01T00:00:00Z")).toBe(
      "2026-03-02T14:00:00.000Z",
    );
  });

  it("skips ahead when the anchor is long past", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-01-05T14:00:00Z", NY, "2026-06-10T12:00:00Z")).toBe(
      "2026-06-15T13:00:00.000Z",
    );
  });

  it("lets BYHOUR/BYMINUTE set the time instead of the anchor's time", () => {
    const rule = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0";
    expect(next(rule, "2026-03-06T22:23:45.678Z", NY)).toBe("2026-03-09T13:00:00.000Z");
    expect(next("FREQ=DAILY;BYHOUR=9", "2026-03-06T22:23:45Z", NY)).toBe(
      "2026-03-07T14:00:00.000Z",
    );
  });

  it("keeps an all-day task at the end of its local day", () => {
    expect(next("FREQ=WEEKLY;BYDAY=MO", "2026-03-03T04:59:59.999Z", NY)).toBe(
      "2026-03-10T03:59:59.999Z",
    );
  });

  it("uses the last day of each month, including February", () => {
    expect(next("FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31T14:00:00Z", NY)).toBe(
      "2026-02-28T14:00:00.000Z",
    );
  });

  it("returns null once COUNT is used up", () => {
    const anchor = "2026-03-01T14:00:00Z";
    expect(next("FREQ=DAILY;COUNT=3", anchor, NY, "2026-03-02T14:00:00Z")).toBe(
      "2026-03-03T14:00:00.000Z",
    );
    expect(next("FREQ=DAILY;COUNT=3", anchor, NY, "2026-03-03T14:00:00Z")).toBeNull();
  });

  it("returns null after UNTIL, treating a date-only UNTIL as inclusive", () => {
    const anchor = "2026-03-02T14:00:00Z";
    expect(next("FREQ=WEEKLY;UNTIL=20260310T000000Z", anchor, NY)).toBe("2026-03-09T13:00:00.000Z");
    expect(next("FREQ=WEEKLY;UNTIL=20260309T000000Z", anchor, NY)).toBeNull();
    expect(next("FREQ=WEEKLY;UNTIL=20260309", anchor, NY)).toBe("2026-03-09T13:00:00.000Z");
  });

  it("throws on an invalid rule or time zone", () => {
    expect(() => next("FREQ=NEVER", "2026-03-02T14:00:00Z", NY)).toThrow(RangeError);
    expect(() => next("FREQ=DAILY", "2026-03-02T14:00:00Z", "Nowhere/City")).toThrow(RangeError);
  });
});

describe("nextOccurrence on raw RRULEs", () => {
  // From Sunday 1 March 2026, 13:00 in Berlin. The answers are rrule's (the
  // library used before rrule-temporal), which agreed with rrule-temporal on
  // 4,500 random rules except where noted.
  it.each([
    ["FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", "2027-01-04T12:00:00.000Z"],
    ["FREQ=YEARLY;BYWEEKNO=-1;BYDAY=SU", "2027-01-03T12:00:00.000Z"],
    // Every day of week 53: rrule-temporal alone would take DTSTART's weekday (Sunday 3 January).
    ["FREQ=YEARLY;BYWEEKNO=53", "2026-12-28T12:00:00.000Z"],
    ["FREQ=YEARLY;BYYEARDAY=-1", "2026-12-31T12:00:00.000Z"],
    ["FREQ=MONTHLY;BYDAY=-1FR", "2026-03-27T12:00:00.000Z"],
    ["FREQ=YEARLY;BYDAY=20MO", "2026-05-18T11:00:00.000Z"],
    ["FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30", "2026-03-29T01:30:00.000Z"],
    ["FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=TU,SU", "2026-03-03T12:00:00.000Z"],
    ["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2026-03-31T11:00:00.000Z"],
    ["FREQ=YEARLY;BYYEARDAY=100,200", "2026-04-10T11:00:00.000Z"],
    ["FREQ=HOURLY;INTERVAL=7", "2026-03-01T19:00:00.000Z"],
  ])("%s", (rule, expected) => {
    expect(next(rule, "2026-03-01T12:00:00Z", BERLIN)).toBe(expected);
  });

  it.each([
    // What RFC 5545 forbids.
    "FREQ=DAILY;BYWEEKNO=1",
    "FREQ=MONTHLY;BYYEARDAY=60",
    "FREQ=WEEKLY;BYMONTHDAY=1",
    "FREQ=DAILY;BYDAY=1MO",
    "FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO",
    "FREQ=DAILY;COUNT=2;UNTIL=20270101",
    "FREQ=MONTHLY;BYSETPOS=1",
    // What rrule-temporal evaluates wrongly.
    "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO;BYYEARDAY=1",
    "FREQ=YEARLY;BYYEARDAY=1;BYMONTHDAY=1",
    "FREQ=YEARLY;BYYEARDAY=1;BYDAY=MO",
    "FREQ=YEARLY;BYWEEKNO=-1;BYMONTHDAY=31",
    "FREQ=YEARLY;BYWEEKNO=1;BYDAY=TU,SU;BYSETPOS=-1",
    "FREQ=YEARLY;BYDAY=2MO,SA",
    "FREQ=MONTHLY;BYDAY=FR,-1MO",
    "FREQ=YEARLY;BYDAY=-1SA;BYMONTHDAY=1",
  ])("refuses %s", (rule) => {
    expect(parseRecurrence(rule)).toBeNull();
    expect(() => next(rule, "2026-03-01T12:00:00Z", BERLIN)).toThrow(RangeError);
  });

  it("keeps a date-only UNTIL, and accepts what the RFC allows", () => {
    for (const rule of [
      "FREQ=DAILY;UNTIL=20270101",
      "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
      "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1",
      "FREQ=YEARLY;BYYEARDAY=100;BYMONTH=4",
      "FREQ=YEARLY;BYDAY=-1FR;BYMONTH=12;BYMONTHDAY=25,26,27",
      "FREQ=MONTHLY;BYDAY=1FR,-1FR",
    ]) {
      expect(parseRecurrence(rule), rule).toBe(rule);
    }
  });

  it("picks BYSETPOS from whole periods, the first one too (rrule cut it at DTSTART)", () => {
    // Wednesday: the first week's set is {Tuesday, Saturday}, and its first is before DTSTART.
    expect(next("FREQ=WEEKLY;BYDAY=SA,TU;BYSETPOS=1", "2026-03-04T12:00:00Z", BERLIN)).toBe(
      "2026-03-10T12:00:00.000Z",
    );
  });

  it("gives up on a rule with no occurrence in 10,000 periods", () => {
    expect(() =>
      next("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "2026-03-01T12:00:00Z", BERLIN),
    ).toThrow(RecurrenceNotFound);
  });
});

describe("ruleHasTime / isValidTimeZone", () => {
  it("detects rules that carry a time of day", () => {
    expect(ruleHasTime("FREQ=DAILY;BYHOUR=9;BYMINUTE=0")).toBe(true);
    expect(ruleHasTime("FREQ=DAILY")).toBe(false);
  });

  it("accepts IANA zone names and rejects others", () => {
    expect(isValidTimeZone("America/New_York")).toBe(true);
    expect(isValidTimeZone("Europe/Berlin")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus")).toBe(false);
    expect(isValidTimeZone("+05:00")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });
});
