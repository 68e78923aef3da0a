import { describe, expect, it } from "vitest";
import { findDueInText, parseDue } from "./due.ts";

const NY = "America/New_York";
// Wednesday 2026-03-04 10:00 EST; US DST starts Sunday 2026-03-08.
const WED = new Date("2026-03-04T15:00:00Z");
const ny = (text: string, now = WED) => parseDue(text, { now, timeZone: NY });
const iso = (text: string, now = WED) => ny(text, now)?.dueAt.toISOString();

describe("parseDue", () => {
  it("reads 'tomorrow 5pm' as 17:00 local the next day", () => {
    expect(ny("tomorrow 5pm")).toEqual({ dueAt: new Date("2026-03-05T22:00:00Z"), allDay: false });
  });

  it("keeps 17:00 local when 'tomorrow' is after the March DST change", () => {
    const saturday = new Date("2026-03-07T15:00:00Z");
    expect(iso("tomorrow 5pm", saturday)).toBe("2026-03-08T21:00:00.000Z");
  });

  it("keeps 17:00 local when 'tomorrow' is after the November DST change", () => {
    const saturday = new Date("2026-10-31T14:00:00Z");
    expect(iso("tomorrow 5pm", saturday)).toBe("2026-11-01T22:00:00.000Z");
  });

  it("uses the summer offset for 'tomorrow 5pm' during DST", () => {
    expect(iso("tomorrow 5pm", new Date("2026-07-01T15:00:00Z"))).toBe("2026-07-02T21:00:00.000Z");
  });

  it("keeps 17:00 local across the Europe/Berlin spring change", () => {
    const due = parseDue("tomorrow 5pm", {
      now: new Date("2026-03-28T09:00:00Z"),
      timeZone: "Europe/Berlin",
    });
    expect(due?.dueAt.toISOString()).toBe("2026-03-29T15:00:00.000Z");
  });

  it("makes all-day tasks due at the last millisecond of their local day", () => {
    expect(ny("friday")).toEqual({ dueAt: new Date("2026-03-07T04:59:59.999Z"), allDay: true });
  });

  it("reads 'today' as the end of the local day, not the UTC day", () => {
    const tokyoMorning = new Date("2026-03-04T20:00:00Z");
    const due = parseDue("today", { now: tokyoMorning, timeZone: "Asia/Tokyo" });
    expect(due).toEqual({ dueAt: new Date("2026-03-05T14:59:59.999Z"), allDay: true });
  });

  it("reads 'next monday 9:30' in the new DST offset", () => {
    expect(ny("next monday 9:30")).toEqual({
      dueAt: new Date("2026-03-09T13:30:00Z"),
      allDay: false,
    });
  });

  it("reads 'in 3 days' as an all-day date", () => {
    expect(ny("in 3 days")).toEqual({ dueAt: new Date("2026-03-08T04:59:59.999Z"), allDay: true });
  });

  it("treats 'in 2 hours' as an exact instant", () => {
    expect(ny("in 2 hours")).toEqual({ dueAt: new Date("2026-03-04T17:00:00Z"), allDay: false });
  });

  it("reads 'dec 24' as this year's Christmas Eve while it is ahead", () => {
    expect(ny("dec 24")).toEqual({ dueAt: new Date("2026-12-25T04:59:59.999Z"), allDay: true });
  });

  it("rolls a year-less date that already passed into next year", () => {
    expect(iso("dec 24", new Date("2026-12-26T15:00:00Z"))).toBe("2027-12-25T04:59:59.999Z");
  });

  it("reads ISO dates as all-day in the user's zone", () => {
    expect(ny("2026-12-01")).toEqual({ dueAt: new Date("2026-12-02T04:59:59.999Z"), allDay: true });
  });

  it("reads 'today' as all-day", () => {
    expect(ny("today")).toEqual({ dueAt: new Date("2026-03-05T04:59:59.999Z"), allDay: true });
  });

  it("moves a bare time that already passed today to tomorrow", () => {
    expect(iso("5pm", new Date("2026-03-04T23:00:00Z"))).toBe("2026-03-05T22:00:00.000Z");
  });

  it("accepts leading 'due' / 'by' / 'on'", () => {
    expect(iso("by friday")).toBe("2026-03-07T04:59:59.999Z");
    expect(iso("due tomorrow")).toBe("2026-03-06T04:59:59.999Z");
    expect(iso("on friday")).toBe("2026-03-07T04:59:59.999Z");
  });

  it("moves a nonexistent spring-forward time to the first valid instant after the gap", () => {
    expect(iso("mar 8 2026 2:30am")).toBe("2026-03-08T07:30:00.000Z");
  });

  it("reads a repeated fall-back time as its first occurrence", () => {
    expect(iso("nov 1 2026 1:30am")).toBe("2026-11-01T05:30:00.000Z");
  });

  it.each(["buy milk", "", "   ", "friday buy milk", "tomorrow 9", "tomorrow and friday", "soon"])(
    "returns null for %j",
    (text) => {
      expect(ny(text)).toBeNull();
    },
  );

  it("does not depend on the server's own time zone", () => {
    const original = process.env.TZ;
    try {
      process.env.TZ = "Pacific/Auckland";
      expect(iso("tomorrow 5pm", new Date("2026-03-07T15:00:00Z"))).toBe(
        "2026-03-08T21:00:00.000Z",
      );
      expect(iso("friday")).toBe("2026-03-07T04:59:59.999Z");
    } finally {
      if (original === undefined) delete process.env.TZ;
      else process.env.TZ = original;
    }
  });

  it("rejects an unknown time zone", () => {
    expect(() => parseDue("today", { now: WED, timeZone: "Mars/Olympus" })).toThrow(RangeError);
  });
});

describe("findDueInText", () => {
  const find = (text: string) => findDueInText(text, { now: WED, timeZone: NY });

  it("reports positions in the text as sent when it has runs of whitespace", () => {
    const text = "Call  mom\t\ttomorrow   at 5pm  please";
    const match = find(text);
    expect(match).toMatchObject({ dueAt: new Date("2026-03-05T22:00:00Z"), allDay: false });
    expect(text.slice(match?.index, (match?.index ?? 0) + (match?.length ?? 0))).toBe(
      "tomorrow   at 5pm",
    );
  });

  // Each of these took chrono minutes when it read the whitespace runs as sent
  // (exponential backtracking); the test timeout is what catches a relapse.
  it("reads long runs of spaces between time units as single spaces", () => {
    const units = "1d     ".repeat(80);
    expect(ny(units.slice(0, 198))).toBeNull();
    expect(find(`Plan ${units}`.slice(0, 500))).toBeNull();
  });

  it("reports where the date phrase sits in the text", () => {
    const match = find("Call mom tomorrow please");
    expect(match).toMatchObject({ index: 9, length: 8, allDay: true });
  });

  it("does not borrow a number glued to a word as a time", () => {
    expect(find("Catch-22 tomorrow")).toMatchObject({ index: 9, allDay: true });
  });

  it("finds the date after any number of bare numbers read as hours", () => {
    // "1 h 1 h ..." is chrono's relative time, each bare "1" masked. One mask per
    // parse, up to eight parses, gave up here before reaching "tomorrow 5pm".
    const text = `${"1 h ".repeat(20)}tomorrow 5pm`;
    expect(find(text)).toMatchObject({
      dueAt: new Date("2026-03-05T22:00:00Z"),
      index: 80,
      length: "tomorrow 5pm".length,
    });
    expect(find("1 h ".repeat(125))).toBeNull();
  });

  it("accepts 'at 9' only next to another strong date word", () => {
    expect(find("Meet Bob tomorrow at 9")?.dueAt.toISOString()).toBe("2026-03-05T14:00:00.000Z");
    expect(find("Meet Bob at 9")).toBeNull();
  });

  it.each([
    "sun cream",
    "Plan the march",
    "Buy 1/2 gallon milk",
    "Sat exam prep",
    "Black Friday sale",
  ])("ignores the weak date signal in %j", (text) => {
    expect(find(text)).toBeNull();
  });
});
