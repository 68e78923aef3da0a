import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import type { Activity } from "../activity/contracts.ts";
import type { Task } from "../tasks/contracts.ts";
import type { Category } from "./contracts.ts";
import {
  createCategory,
  fieldPaths,
  newCategory,
  newTask,
  type Page,
  type Problem,
} from "./test-helpers.ts";

const t = useTestApp();

describe("category lifecycle", () => {
  it("counts live tasks only in taskCount", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    await newTask(t.app, user, { title: "One", categoryId: category.id });
    const doomed = await newTask(t.app, user, { title: "Two", categoryId: category.id });
    await newTask(t.app, user, { title: "Elsewhere" });
    const url = `/v1/categories/${category.id}`;
    const before = await t.app.inject({ url, headers: user.headers });
    expect(before.json<Category>().taskCount).toBe(2);

    await t.app.inject({ method: "DELETE", url: `/v1/tasks/${doomed.id}`, headers: user.headers });
    const after = await t.app.inject({ url, headers: user.headers });
    expect(after.json<Category>().taskCount).toBe(1);
    const list = await t.app.inject({ url: "/v1/categories", headers: user.headers });
    expect(list.json<Page<Category>>().data[0]?.taskCount).toBe(1);
  });

  it("leaves a deleted category's tasks uncategorised with their version bumped", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const task = await newTask(t.app, user, { title: "Keep me", categoryId: category.id });
    const deleted = await t.app.inject({
      method: "DELETE",
      url: `/v1/categories/${category.id}`,
      headers: user.headers,
    });
    expect(deleted.statusCode).toBe(204);
    const read = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    expect(read.statusCode).toBe(200);
    expect(read.json<Task>()).toMatchObject({ categoryId: null, version: task.version + 1 });
  });

  it("answers 304 for a matching If-None-Match and 200 once the category changed", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const url = `/v1/categories/${category.id}`;
    const first = await t.app.inject({ url, headers: user.headers });
    const etag = String(first.headers.etag);
    const cached = await t.app.inject({
      url,
      headers: { ...user.headers, "if-none-match": etag },
    });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe("");

    await newTask(t.app, user, { title: "Changes the count", categoryId: category.id });
    const changed = await t.app.inject({
      url,
      headers: { ...user.headers, "if-none-match": etag },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  it("answers 412 to PATCH and DELETE with a stale If-Match and applies a current one", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const url = `/v1/categories/${category.id}`;
    const stale = String((await t.app.inject({ url, headers: user.headers })).headers.etag);
    await t.app.inject({ method: "PATCH", url, headers: user.headers, payload: { name: "v2" } });

    const patch = await t.app.inject({
      method: "PATCH",
      url,
      headers: { ...user.headers, "if-match": stale },
      payload: { name: "v3" },
    });
    expect(patch.statusCode).toBe(412);
    expect(patch.json<Problem>().code).toBe("precondition_failed");
    const remove = await t.app.inject({
      method: "DELETE",
      url,
      headers: { ...user.headers, "if-match": stale },
    });
    expect(remove.statusCode).toBe(412);

    const current = String((await t.app.inject({ url, headers: user.headers })).headers.etag);
    const ok = await t.app.inject({
      method: "PATCH",
      url,
      headers: { ...user.headers, "if-match": current },
      payload: { name: "v3" },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<Category>().name).toBe("v3");
  });

  it("lets exactly one of two simultaneous creates with the same name win", async () => {
    const user = await signUp(t.app);
    const answers = await Promise.all([
      createCategory(t.app, user, { name: "Race" }),
      createCategory(t.app, user, { name: "RACE" }),
    ]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 409]);
  });

  it("lets exactly one of two simultaneous renames onto the same name win", async () => {
    const user = await signUp(t.app);
    const first = await newCategory(t.app, user, "One");
    const second = await newCategory(t.app, user, "Two");
    const answers = await Promise.all(
      [first, second].map((category) =>
        t.app.inject({
          method: "PATCH",
          url: `/v1/categories/${category.id}`,
          headers: user.headers,
          payload: { name: "Both" },
        }),
      ),
    );
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
    const loser = answers.find((answer) => answer.statusCode === 409);
    if (!loser) throw new Error("no 409 answer");
    expect(fieldPaths(loser.json<Problem>())).toEqual(["name"]);
  });

  it("records created, updated and deleted events in the owner's activity", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user, "Tracked");
    await newTask(t.app, user, { title: "Inside", categoryId: category.id });
    const url = `/v1/categories/${category.id}`;
    t.clock.advance(1000);
    await t.app.inject({ method: "PATCH", url, headers: user.headers, payload: { name: "Moved" } });
    t.clock.advance(1000);
    await t.app.inject({ method: "DELETE", url, headers: user.headers });

    const page = (await t.app.inject({ url: "/v1/me/activity", headers: user.headers })).json<
      Page<Activity>
    >();
    const events = page.data.filter((event) => event.entity.type === "category");
    expect(events.map((event) => [event.type, event.entity.title, event.changes])).toEqual([
      ["category.deleted", "Moved", { tasksUncategorised: 1 }],
      ["category.updated", "Moved", { name: { from: "Tracked", to: "Moved" } }],
      ["category.created", "Tracked", { name: "Tracked", color: null }],
    ]);
    expect(events.every((event) => event.entity.id === category.id)).toBe(true);
  });
});
