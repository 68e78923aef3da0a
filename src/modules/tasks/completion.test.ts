import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  getTask,
  listTasks,
  listTitles,
  patchTask,
  setTimezone,
  type Task,
  taskAction,
  taskActivity,
} from "../../../test/tasks-helpers.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

async function complete(user: TestUser, id: string): Promise<Task> {
  const response = await taskAction(t.app, user, id, "complete");
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Task>();
}

/** Completes the task at `at` and returns the next occurrence it created. */
async function completeAt(user: TestUser, id: string, at: string): Promise<Task> {
  t.clock.set(at);
  const completed = await complete(user, id);
  expect(completed.nextOccurrenceId).not.toBeNull();
  return getTask(t.app, user, completed.nextOccurrenceId ?? "");
}

describe("completing a recurring task", () => {
  it("keeps the completed task and creates the next occurrence", async () => {
    t.clock.set("2026-03-02T10:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Water plants",
      tags: ["home"],
      priority: "medium",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    expect(task.recurrence).toBe("FREQ=DAILY");
    const completed = await complete(user, task.id);
    expect(completed).toMatchObject({
      status: "completed",
      completedAt: "2026-03-02T10:00:00.000Z",
    });
    const next = await getTask(t.app, user, completed.nextOccurrenceId ?? "");
    expect(next).toMatchObject({
      title: "Water plants",
      status: "open",
      tags: ["home"],
      priority: "medium",
      recurrence: "FREQ=DAILY",
      dueAt: "2026-03-03T09:00:00.000Z",
      completedAt: null,
      version: 1,
    });
    expect(next.id).not.toBe(task.id);
    expect(await listTitles(t.app, user, { status: "completed" })).toEqual(["Water plants"]);
    expect((await listTasks(t.app, user)).data.map((open) => open.id)).toEqual([next.id]);
  });

  it("due in the future, schedules the occurrence after the due date", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Early bird",
      dueAt: "2026-03-05T09:00:00Z",
      recurrence: "FREQ=WEEKLY",
    });
    const next = await completeAt(user, task.id, "2026-03-01T12:00:00Z");
    expect(next.dueAt).toBe("2026-03-12T09:00:00.000Z");
  });

  it("long overdue, schedules the first occurrence after now, not a backlog", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Daily standup notes",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const next = await completeAt(user, task.id, "2026-03-10T10:00:00Z");
    expect(next.dueAt).toBe("2026-03-11T09:00:00.000Z");
  });

  it("also creates the next occurrence when completed through PATCH status", async () => {
    t.clock.set("2026-03-02T10:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Via patch",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every week",
    });
    const response = await patchTask(t.app, user, task.id, { status: "completed" });
    expect(response.statusCode, response.body).toBe(200);
    const next = await getTask(t.app, user, response.json<Task>().nextOccurrenceId ?? "");
    expect(next).toMatchObject({ status: "open", dueAt: "2026-03-09T09:00:00.000Z" });
  });

  it("does nothing more when an already completed task is completed again", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Once",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const first = await complete(user, task.id);
    const again = await complete(user, task.id);
    expect(again).toEqual(first);
    expect(await listTitles(t.app, user)).toEqual(["Once"]);
  });

  it("records task.completed naming the next occurrence, and task.created for it", async () => {
    t.clock.set("2026-03-02T10:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Logged",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const next = await completeAt(user, task.id, "2026-03-02T10:00:00Z");
    const [completedEvent] = await taskActivity(t.app, user, task.id);
    expect(completedEvent).toMatchObject({
      type: "task.completed",
      changes: {
        status: { from: "open", to: "completed" },
        nextOccurrenceId: { from: null, to: next.id },
      },
    });
    const nextEvents = await taskActivity(t.app, user, next.id);
    expect(nextEvents.map((event) => event.type)).toEqual(["task.created"]);
    expect(nextEvents[0]?.changes).toMatchObject({ previousOccurrenceId: task.id });
  });
});

describe("reopening a completed recurring task", () => {
  it("withdraws the untouched next occurrence", async () => {
    t.clock.set("2026-03-02T10:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Undo me",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const next = await completeAt(user, task.id, "2026-03-02T10:00:00Z");
    const response = await taskAction(t.app, user, task.id, "reopen");
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Task>()).toMatchObject({
      status: "open",
      completedAt: null,
      nextOccurrenceId: null,
    });
    const gone = await t.app.inject({ url: `/v1/tasks/${next.id}`, headers: user.headers });
    expectProblem(gone, 404, "not_found");
    expect((await listTasks(t.app, user)).data.map((open) => open.id)).toEqual([task.id]);
  });

  it("keeps a next occurrence that was edited since", async () => {
    t.clock.set("2026-03-02T10:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Keep next",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const next = await completeAt(user, task.id, "2026-03-02T10:00:00Z");
    expect((await patchTask(t.app, user, next.id, { description: "started" })).statusCode).toBe(
      200,
    );
    const reopened = await taskAction(t.app, user, task.id, "reopen");
    expect(reopened.json<Task>()).toMatchObject({ status: "open", nextOccurrenceId: next.id });
    expect((await getTask(t.app, user, next.id)).description).toBe("started");
  });

  it("keeps a next occurrence that has a sub-task under it", async () => {
    t.clock.set("2026-03-02T10:00:00Z");
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Plan the week",
      dueAt: "2026-03-02T09:00:00Z",
      recurrence: "every day",
    });
    const next = await completeAt(user, task.id, "2026-03-02T10:00:00Z");
    await createTask(t.app, user, { title: "Book the room", parentId: next.id });
    const reopened = await taskAction(t.app, user, task.id, "reopen");
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json<Task>()).toMatchObject({ status: "open", nextOccurrenceId: next.id });
    // Trashing it would have left "Book the room" live under a parent in the trash.
    expect((await getTask(t.app, user, next.id)).id).toBe(next.id);
    expect((await listTasks(t.app, user)).data.map((open) => open.title).sort()).toEqual([
      "Book the room",
      "Plan the week",
      "Plan the week",
    ]);
  });
});

describe("recurrence across daylight-saving changes (America/New_York)", () => {
  it("keeps 09:00 wall time weekly across the spring-forward of 2026-03-08", async () => {
    t.clock.set("2026-03-01T12:00:00Z"); // Sunday 07:00 in New York
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await createTask(t.app, user, {
      title: "Weekly review",
      due: "monday 9am",
      recurrence: "every monday",
    });
    expect(task).toMatchObject({
      dueAt: "2026-03-02T14:00:00.000Z", // 09:00 EST (UTC-5)
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    });
    const second = await completeAt(user, task.id, "2026-03-02T15:00:00Z");
    expect(second.dueAt).toBe("2026-03-09T13:00:00.000Z"); // 09:00 EDT (UTC-4)
    const third = await completeAt(user, second.id, "2026-03-09T14:00:00Z");
    expect(third.dueAt).toBe("2026-03-16T13:00:00.000Z");
    expect([task.title, second.title, third.title]).toEqual(Array(3).fill("Weekly review"));
  });

  it("keeps 09:00 wall time weekly across the fall-back of 2026-11-01", async () => {
    t.clock.set("2026-10-25T12:00:00Z");
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await createTask(t.app, user, {
      title: "Weekly review",
      dueAt: "2026-10-26T13:00:00Z", // Monday 09:00 EDT
      recurrence: "every monday",
    });
    const second = await completeAt(user, task.id, "2026-10-26T14:00:00Z");
    expect(second.dueAt).toBe("2026-11-02T14:00:00.000Z"); // 09:00 EST
    const third = await completeAt(user, second.id, "2026-11-02T15:00:00Z");
    expect(third.dueAt).toBe("2026-11-09T14:00:00.000Z");
  });

  it("keeps a timed daily rule at its hour through the spring-forward night", async () => {
    t.clock.set("2026-03-07T12:00:00Z");
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "America/New_York");
    const task = await createTask(t.app, user, {
      title: "Take pills",
      dueAt: "2026-03-07T13:30:00Z", // Saturday 08:30 EST
      recurrence: "every day at 8:30am",
    });
    expect(task.recurrence).toBe("FREQ=DAILY;BYHOUR=8;BYMINUTE=30");
    const sunday = await completeAt(user, task.id, "2026-03-07T14:00:00Z");
    expect(sunday.dueAt).toBe("2026-03-08T12:30:00.000Z"); // 08:30 EDT
  });
});
