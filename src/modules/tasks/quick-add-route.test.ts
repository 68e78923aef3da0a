import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createCategory,
  createTask,
  getTask,
  patchTask,
  setTimezone,
  type Task,
} from "../../../test/tasks-helpers.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

async function quickAdd(user: TestUser, text: string): Promise<Task> {
  const response = await t.app.inject({
    method: "POST",
    url: "/v1/tasks/quick",
    headers: user.headers,
    payload: { text },
  });
  expect(response.statusCode, response.body).toBe(201);
  const task = response.json<Task>();
  expect(response.headers.location).toBe(`/v1/tasks/${task.id}`);
  return task;
}

describe("POST /v1/tasks/quick", () => {
  it("reads category, tag, priority and a monthly repeat out of one line", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    const home = await createCategory(t.app, user, "home");
    const task = await quickAdd(user, "Pay rent every 1st at 9am #Home @finance p1");
    expect(task).toMatchObject({
      title: "Pay rent",
      categoryId: home.id,
      tags: ["finance"],
      priority: "urgent",
      recurrence: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
      dueAt: "2026-04-01T09:00:00.000Z",
      allDay: false,
      status: "open",
    });
    expect(await getTask(t.app, user, task.id)).toEqual(task);
  });

  it("schedules the repeat in the user's time zone", async () => {
    t.clock.set("2026-03-01T12:00:00Z"); // 07:00 in New York: today's 9am is still ahead
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await quickAdd(user, "Pay rent every 1st at 9am");
    expect(task.dueAt).toBe("2026-03-01T14:00:00.000Z"); // 09:00 EST
  });

  it.each(["The 5th Wave", "Read chapter 3", "Catch-22 review", "Watch Friday Night Lights"])(
    "keeps %s whole as the title without a due date",
    async (text) => {
      const user = await signUp(t.app);
      const task = await quickAdd(user, text);
      expect(task).toMatchObject({ title: text, dueAt: null, recurrence: null, priority: "none" });
    },
  );

  it("leaves an unknown #category in the title", async () => {
    const user = await signUp(t.app);
    const task = await quickAdd(user, "Buy paint #garage");
    expect(task).toMatchObject({ title: "Buy paint #garage", categoryId: null });
  });

  it("does not match another user's category", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await createCategory(t.app, other, "Secret");
    const task = await quickAdd(user, "Plan #Secret");
    expect(task).toMatchObject({ title: "Plan #Secret", categoryId: null });
  });

  it("reads a date in words in the user's time zone", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await quickAdd(user, "Call mom tomorrow 5pm p2");
    expect(task).toMatchObject({
      title: "Call mom",
      priority: "high",
      dueAt: "2026-03-02T22:00:00.000Z",
      allDay: false,
    });
  });

  it("cuts an over-long title to 200 characters without a trailing space", async () => {
    const user = await signUp(t.app);
    const task = await quickAdd(user, `${"a".repeat(199)} ${"b".repeat(100)}`);
    expect(task.title).toBe("a".repeat(199));
  });

  it("records a task.created event", async () => {
    const user = await signUp(t.app);
    const task = await quickAdd(user, "Quick one @x");
    const response = await t.app.inject({
      url: `/v1/tasks/${task.id}/activity`,
      headers: user.headers,
    });
    expect(response.json<{ data: Array<{ type: string }> }>().data.map((e) => e.type)).toEqual([
      "task.created",
    ]);
  });
});

describe("natural language on POST and PATCH /v1/tasks", () => {
  it("reads due in UTC for a user who has not set a time zone", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "T", due: "tomorrow 5pm" });
    expect(task).toMatchObject({ dueAt: "2026-03-02T17:00:00.000Z", allDay: false });
  });

  it("reads due in the user's time zone", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "Europe/Berlin");
    const task = await createTask(t.app, user, { title: "T", due: "tomorrow 5pm" });
    expect(task.dueAt).toBe("2026-03-02T16:00:00.000Z");
  });

  it("makes a date without a time an all-day task due at the end of the local day", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await createTask(t.app, user, { title: "T", due: "friday" });
    expect(task).toMatchObject({ dueAt: "2026-03-07T04:59:59.999Z", allDay: true });
  });

  it("stores recurrence words as an RRULE", async () => {
    const user = await signUp(t.app);
    const cases: Array<[string, string]> = [
      ["every monday", "FREQ=WEEKLY;BYDAY=MO"],
      ["every other week on tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"],
      ["every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
      ["every 1st at 9am", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0"],
      ["RRULE:FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;INTERVAL=3"],
    ];
    for (const [recurrence, rule] of cases) {
      const task = await createTask(t.app, user, {
        title: recurrence,
        dueAt: "2026-03-02T09:00:00Z",
        recurrence,
      });
      expect(task.recurrence, recurrence).toBe(rule);
    }
  });

  it("gives a recurring task without a date its first occurrence as due date", async () => {
    t.clock.set("2026-03-01T12:00:00Z"); // a Sunday
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await createTask(t.app, user, {
      title: "Standup",
      recurrence: "every monday at 9am",
    });
    expect(task).toMatchObject({
      recurrence: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
      dueAt: "2026-03-02T14:00:00.000Z",
      allDay: false,
    });
  });

  it("reads due on PATCH and clears the date with dueAt null", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Movable" });
    const moved = await patchTask(t.app, user, task.id, { due: "tomorrow 5pm" });
    expect(moved.json<Task>().dueAt).toBe("2026-03-02T17:00:00.000Z");
    const cleared = await patchTask(t.app, user, task.id, { dueAt: null });
    expect(cleared.json<Task>()).toMatchObject({ dueAt: null, allDay: false });
  });
});
