import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  expectValidationError,
  getTask,
  listTitles,
  patchTask,
  taskAction,
} from "../../../test/tasks-helpers.ts";
import { tasks } from "./schema.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

// rrule's hourly step never reaches 05:00 from any other hour when it moves
// 24 hours at a time, and it loops forever looking (rrule issue #468).
// Evaluated on the event loop, as before schedule/occurrences.ts, it blocks
// this file for good: a hang here (not a failure) means that came back.
const endless = "FREQ=HOURLY;INTERVAL=24;BYHOUR=5";

describe("repeat rules that cannot be evaluated in time", () => {
  it("refuses one that would search forever, while the server goes on answering", async () => {
    const user = await signUp(t.app);
    const finished: string[] = [];
    const create = t.app
      .inject({
        method: "POST",
        url: "/v1/tasks",
        headers: user.headers,
        payload: { title: "Hourly-ish", recurrence: endless },
      })
      .finally(() => finished.push("create"));
    const health = t.app.inject({ method: "GET", url: "/healthz" }).finally(() => {
      finished.push("health");
    });
    expect((await health).statusCode).toBe(200);
    const problem = expectValidationError(await create, "recurrence");
    expect(problem.detail).toMatch(/could not work out when .* next occurs/);
    expect(finished).toEqual(["health", "create"]);
    expect(await listTitles(t.app, user)).toEqual([]);
  });

  it("checks a rule from the date it is given with, on create and when the date moves", async () => {
    const user = await signUp(t.app);
    const refused = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: user.headers,
      payload: { title: "From ten", dueAt: "2026-03-02T10:00:00Z", recurrence: endless },
    });
    expectValidationError(refused, "recurrence");
    // From 05:00 the same rule is simply "every day at 05:00".
    const task = await createTask(t.app, user, {
      title: "From five",
      dueAt: "2026-03-02T05:00:00Z",
      recurrence: endless,
    });
    expectValidationError(
      await patchTask(t.app, user, task.id, { dueAt: "2026-03-02T10:00:00Z" }),
      "recurrence",
    );
    expect(await getTask(t.app, user, task.id)).toMatchObject({
      dueAt: "2026-03-02T05:00:00.000Z",
      version: 1,
    });
    const completed = await taskAction(t.app, user, task.id, "complete");
    expect(completed.statusCode, completed.body).toBe(200);
    const next = await getTask(
      t.app,
      user,
      completed.json<{ nextOccurrenceId: string }>().nextOccurrenceId,
    );
    expect(next.dueAt).toBe("2026-03-03T05:00:00.000Z");
  });

  it("answers 409 naming recurrence when a stored rule cannot be evaluated, and changes nothing", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Stored before the check" });
    // As a row written before rules were checked on write would be.
    await t.database.db
      .update(tasks)
      .set({ recurrence: endless, dueAt: new Date("2026-03-02T10:00:00Z") })
      .where(eq(tasks.id, task.id));
    for (const attempt of [
      () => taskAction(t.app, user, task.id, "complete"),
      () => patchTask(t.app, user, task.id, { status: "completed" }),
    ]) {
      const problem = expectProblem(await attempt(), 409, "conflict");
      expect(problem.errors?.map((error) => error.path)).toEqual(["recurrence"]);
    }
    expect(await getTask(t.app, user, task.id)).toMatchObject({ status: "open", version: 1 });
    expect(await listTitles(t.app, user, { status: "all" })).toEqual(["Stored before the check"]);
    // Removing the rule is the way out.
    const fixed = await patchTask(t.app, user, task.id, { recurrence: null, status: "completed" });
    expect(fixed.statusCode, fixed.body).toBe(200);
  });
});
