import { describe, expect, it } from "vitest";
import { parseQuickAdd } from "./quick-add.ts";

const NY = "America/New_York";
// Wednesday 2026-03-04 10:00 EST.
const WED = new Date("2026-03-04T15:00:00Z");
const CATEGORIES = [
  { id: "home", name: "Home" },
  { id: "work", name: "Work" },
  { id: "side-project", name: "Side Project" },
  { id: "side", name: "Side" },
];
const add = (text: string, now = WED) =>
  parseQuickAdd(text, { now, timeZone: NY, categories: CATEGORIES });

describe("parseQuickAdd", () => {
  it("parses the full example: recurrence, category, tag and priority", () => {
    expect(add("Pay rent every 1st at 9am #Home @finance p1")).toEqual({
      title: "Pay rent",
      categoryId: "home",
      tags: ["finance"],
      priority: "urgent",
      dueAt: new Date("2026-04-01T13:00:00Z"),
      allDay: false,
      recurrence: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
    });
  });

  it("makes today's occurrence due when it is still ahead", () => {
    const firstOfApril8am = new Date("2026-04-01T12:00:00Z");
    expect(add("Pay rent every 1st at 9am", firstOfApril8am).dueAt).toEqual(
      new Date("2026-04-01T13:00:00Z"),
    );
  });

  it("parses a date with a time and strips the metadata tokens", () => {
    expect(add("Submit report tomorrow 5pm #work @Office @office p2")).toEqual({
      title: "Submit report",
      categoryId: "work",
      tags: ["office"],
      priority: "high",
      dueAt: new Date("2026-03-05T22:00:00Z"),
      allDay: false,
      recurrence: null,
    });
  });

  it("returns plain text untouched with no metadata", () => {
    expect(add("Buy milk")).toEqual({
      title: "Buy milk",
      categoryId: null,
      tags: [],
      priority: null,
      dueAt: null,
      allDay: false,
      recurrence: null,
    });
  });

  it.each([
    ["p1", "urgent"],
    ["p2", "high"],
    ["P3", "medium"],
    ["p4", "low"],
  ])("maps %s to %s", (token, priority) => {
    expect(add(`Do it ${token}`)).toMatchObject({ title: "Do it", priority });
  });

  it.each([",", ", ;", "-"])("keeps text of only separators (%j) as its title", (text) => {
    expect(add(text)).toMatchObject({ title: text.trim(), dueAt: null });
  });

  it("ignores p-tokens that are not standalone p1..p4", () => {
    expect(add("Buy mp3 player p5")).toMatchObject({ title: "Buy mp3 player p5", priority: null });
  });
});

describe("parseQuickAdd: categories", () => {
  it("matches an existing category case-insensitively", () => {
    expect(add("#HOME clean gutters")).toMatchObject({
      title: "clean gutters",
      categoryId: "home",
    });
  });

  it("matches a multi-word category greedily, preferring the longest name", () => {
    expect(add("Plan #side project launch")).toMatchObject({
      title: "Plan launch",
      categoryId: "side-project",
    });
    expect(add("Finish #side quest")).toMatchObject({ title: "Finish quest", categoryId: "side" });
  });

  it("matches a quoted multi-word category", () => {
    expect(add('#"Side Project" sketch logo')).toMatchObject({
      title: "sketch logo",
      categoryId: "side-project",
    });
  });

  it("keeps an unknown #category in the title", () => {
    expect(add("Fix #unknown bug")).toMatchObject({ title: "Fix #unknown bug", categoryId: null });
    expect(add('Fix #"No Such" bug')).toMatchObject({
      title: 'Fix #"No Such" bug',
      categoryId: null,
    });
  });

  it("reads the first ten #s as categories, so many #s cannot multiply the work", () => {
    expect(add(`${"#x ".repeat(9)}#work`)).toMatchObject({ categoryId: "work" });
    const eleventh = `${"#x ".repeat(10)}#work`;
    expect(add(eleventh)).toMatchObject({ title: eleventh, categoryId: null });
  });

  it("does not match a category name that is only a prefix of the word", () => {
    expect(add("Buy #homework folder")).toMatchObject({
      title: "Buy #homework folder",
      categoryId: null,
    });
  });
});

describe("parseQuickAdd: tags", () => {
  it("lower-cases and de-duplicates tags", () => {
    expect(add("Call @Bob @bob @work-stuff").tags).toEqual(["bob", "work-stuff"]);
  });

  it("does not treat an e-mail address as a tag", () => {
    expect(add("Email bob@example.com")).toMatchObject({
      title: "Email bob@example.com",
      tags: [],
    });
  });

  it("keeps tags over 50 characters in the title", () => {
    const long = `@${"x".repeat(51)}`;
    expect(add(`Note ${long}`)).toMatchObject({ title: `Note ${long}`, tags: [] });
  });

  it("keeps at most 20 tags, leaving the rest in the title", () => {
    const tags = Array.from({ length: 22 }, (_, i) => `@t${i}`).join(" ");
    const result = add(`Many ${tags}`);
    expect(result.tags).toHaveLength(20);
    expect(result.title).toBe("Many @t20 @t21");
  });
});

describe("parseQuickAdd: dates and recurrences", () => {
  it.each([
    ["Call mom friday", "Call mom", "2026-03-07T04:59:59.999Z", true],
    ["Report due friday", "Report", "2026-03-07T04:59:59.999Z", true],
    ["Meeting at 3pm on friday", "Meeting", "2026-03-06T20:00:00.000Z", false],
    ["Book flight next week", "Book flight", "2026-03-12T03:59:59.999Z", true],
    ["Call dentist in 2 weeks", "Call dentist", "2026-03-19T03:59:59.999Z", true],
    ["Read 3 chapters by 2026-03-10", "Read 3 chapters", "2026-03-11T03:59:59.999Z", true],
    ["Read chapter 3 tomorrow", "Read chapter 3", "2026-03-06T04:59:59.999Z", true],
    ["Catch-22 tomorrow", "Catch-22", "2026-03-06T04:59:59.999Z", true],
    ["Call 911 at 5pm", "Call 911", "2026-03-04T22:00:00.000Z", false],
    ["Sprint 12 review friday 2pm", "Sprint 12 review", "2026-03-06T19:00:00.000Z", false],
    ["iPhone 15 launch dec 24", "iPhone 15 launch", "2026-12-25T04:59:59.999Z", true],
    [
      "Watch Friday Night Lights tomorrow",
      "Watch Friday Night Lights",
      "2026-03-06T04:59:59.999Z",
      true,
    ],
    ["Meet Bob tomorrow at 9", "Meet Bob", "2026-03-05T14:00:00.000Z", false],
    ["Call mom, tomorrow", "Call mom", "2026-03-06T04:59:59.999Z", true],
  ])("reads %j as title %j due %s", (text, title, dueAt, allDay) => {
    expect(add(text)).toMatchObject({ title, dueAt: new Date(dueAt), allDay, recurrence: null });
  });

  it.each([
    "The 5th Wave",
    "Read chapter 3",
    "Call 911",
    "Buy 2 apples",
    "Catch-22",
    "Room 101",
    "iPhone 15",
    "7 habits",
    "Watch Friday Night Lights",
    "Buy sun cream",
    "Plan the march",
    "Black Friday sale prep",
    "Sat exam prep",
    "Meet at 5",
    "Lunch with Ann on the 5th",
    "Buy 1/2 gallon milk",
    "Listen to Route 66",
    "Fix bug 404",
    "Write weekly report",
    "Daily standup notes",
  ])("keeps %j as the whole title with no date", (text) => {
    expect(add(text)).toMatchObject({ title: text, dueAt: null, allDay: false, recurrence: null });
  });

  it("makes a recurring all-day task due at its first occurrence after now", () => {
    expect(add("Take out trash every tue and fri")).toMatchObject({
      title: "Take out trash",
      recurrence: "FREQ=WEEKLY;BYDAY=TU,FR",
      dueAt: new Date("2026-03-07T04:59:59.999Z"),
      allDay: true,
    });
  });

  it("makes a daily task due at the end of today", () => {
    expect(add("Water plants daily")).toMatchObject({
      title: "Water plants",
      recurrence: "FREQ=DAILY",
      dueAt: new Date("2026-03-05T04:59:59.999Z"),
      allDay: true,
    });
  });

  it("makes a timed recurring task due at the next matching time", () => {
    expect(add("Standup every weekday at 9:30 #Work")).toMatchObject({
      title: "Standup",
      categoryId: "work",
      recurrence: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30",
      dueAt: new Date("2026-03-05T14:30:00Z"),
      allDay: false,
    });
  });

  it("starts a recurrence on an explicit date, in the DST offset of that date", () => {
    expect(add("Gym every monday at 7am starting mar 16")).toMatchObject({
      title: "Gym",
      recurrence: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=7;BYMINUTE=0",
      dueAt: new Date("2026-03-16T11:00:00Z"),
      allDay: false,
    });
  });
});

describe("parseQuickAdd: titles", () => {
  it("collapses whitespace and tidies punctuation left by removed tokens", () => {
    expect(add("  Buy   milk ,  @home   tomorrow ").title).toBe("Buy milk");
  });

  it("keeps the original text when nothing but metadata is left", () => {
    expect(add("tomorrow")).toMatchObject({
      title: "tomorrow",
      dueAt: new Date("2026-03-06T04:59:59.999Z"),
    });
    expect(add("#Home  @x")).toMatchObject({ title: "#Home @x", categoryId: "home", tags: ["x"] });
  });
});
