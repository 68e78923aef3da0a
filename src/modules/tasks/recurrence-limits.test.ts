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

// An hourly step of 24 hours never reaches 05:00 from any other hour: the
// rule never occurs. rrule, used before, looped forever looking (its issue
// #468) and, evaluated on the event loop, blocked this file for good;
// rrule-temporal gives up after 10,000 periods, in the worker pool.
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
    expect(problem.detail).toMatch(
      /could not work out when .* next occurs \(no occurrence within 10,000 of its periods\)/,
    );
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

  it("answers 409 for a stored rule today's parser refuses, and 400 when one is sent", async () => {
    const user = await signUp(t.app);
    const rule = "FREQ=DAILY;BYWEEKNO=1"; // RFC 5545: BYWEEKNO only in YEARLY rules
    expectValidationError(
      await t.app.inject({
        method: "POST",
        url: "/v1/tasks",
        headers: user.headers,
        payload: { title: "Refused", recurrence: rule },
      }),
      "recurrence",
    );
    const task = await createTask(t.app, user, { title: "Stored long ago" });
    await t.database.db.update(tasks).set({ recurrence: rule }).where(eq(tasks.id, task.id));
    const problem = expectProblem(
      await taskAction(t.app, user, task.id, "complete"),
      409,
      "conflict",
    );
    expect(problem.detail).toContain("not a rule this server evaluates");
    expect(await getTask(t.app, user, task.id)).toMatchObject({ status: "open", version: 1 });
  });
});
