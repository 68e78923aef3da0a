import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import {
  openTestDatabase,
  signUp,
  TestClock,
  type TestContext,
  useTestApp,
} from "../../../test/harness.ts";
import { createTask, deleteTask, patchTask, taskAction } from "../../../test/tasks-helpers.ts";
import { buildApp } from "../../app.ts";
import { embedPending, foundTitles, queuedJobs, search, storedVectors } from "./test-helpers.ts";

/**
 * Semantic search with the built-in offline embedding model. It needs
 * pgvector, which embedded PGlite always has and the CI server does not, so
 * this file always runs on PGlite; fallback.test.ts covers the server.
 * The worker is drained by hand after moving the app clock past the debounce.
 */
const t = useTestApp({ database: { embedded: true }, search: { worker: false } });

describe("semantic search with the offline model", () => {
  it("finds a task by a misspelt word of its description, which keyword search misses", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, {
      title: "Renew passport",
      description: "Photos and the application form from the post office",
    });
    await createTask(t.app, user, { title: "Buy groceries", description: "milk, eggs, bread" });
    await embedPending(t.app, t.clock);

    const keyword = await search(t.app, user, { q: "aplication form", mode: "keyword" });
    expect(keyword).toMatchObject({ mode: "keyword", data: [] });
    const semantic = await search(t.app, user, { q: "aplication form", mode: "semantic" });
    expect(semantic).toMatchObject({
      mode: "semantic",
      model: "local:taskpilot-embed-1",
      reason: null,
    });
    expect(semantic.data.map((hit) => hit.task.title)).toEqual(["Renew passport"]);
    expect(semantic.data[0]?.score).toBeGreaterThan(0.15);
  });

  it("ranks a task both lists agree on first in hybrid mode", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Renew the home insurance" });
    await createTask(t.app, user, { title: "Insurance papers" });
    await createTask(t.app, user, { title: "Home office desk" });
    await createTask(t.app, user, { title: "Water the plants" });
    await embedPending(t.app, t.clock);
    const q = "renew home insurance";

    expect(await foundTitles(t.app, user, { q, mode: "keyword" })).toEqual([
      "Renew the home insurance",
    ]);
    const semantic = await foundTitles(t.app, user, { q, mode: "semantic" });
    expect([...semantic].sort()).toEqual([
      "Home office desk",
      "Insurance papers",
      "Renew the home insurance",
    ]);
    const hybrid = await search(t.app, user, { q, mode: "hybrid" });
    expect(hybrid.mode).toBe("hybrid");
    expect(hybrid.data.map((hit) => hit.task.title)).toEqual([
      "Renew the home insurance",
      ...semantic.filter((title) => title !== "Renew the home insurance"),
    ]);
    const scores = hybrid.data.map((hit) => hit.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it("re-embeds an edited task and never matches it by its old text", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Call the plumber about the boiler" });
    await embedPending(t.app, t.clock);
    const [before] = await storedVectors(t.database.db, task.id);

    const edited = await patchTask(t.app, user, task.id, {
      title: "Call the electrician about the lights",
    });
    expect(edited.statusCode, edited.body).toBe(200);
    // Until the worker runs, the old vector is stale and ignored.
    expect(await foundTitles(t.app, user, { q: "plumber boiler", mode: "semantic" })).toEqual([]);
    expect(await queuedJobs(t.database.db)).toEqual([{ taskId: task.id }]);

    await embedPending(t.app, t.clock);
    const after = await storedVectors(t.database.db, task.id);
    expect(after).toHaveLength(1);
    expect(after[0]?.contentHash).not.toBe(before?.contentHash);
    expect(await foundTitles(t.app, user, { q: "electrician lights", mode: "semantic" })).toEqual([
      "Call the electrician about the lights",
    ]);
    expect(await foundTitles(t.app, user, { q: "plumber boiler", mode: "semantic" })).toEqual([]);
  });

  it("leaves deleted tasks out of every mode", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Cancel the gym membership" });
    await embedPending(t.app, t.clock);
    expect(await foundTitles(t.app, user, { q: "gym membership", mode: "hybrid" })).toEqual([
      "Cancel the gym membership",
    ]);
    expect((await deleteTask(t.app, user, task.id)).statusCode).toBe(204);
    for (const mode of ["keyword", "semantic", "hybrid"]) {
      expect(await foundTitles(t.app, user, { q: "gym membership", mode })).toEqual([]);
    }
  });
});

/** The worker's embedding calls charged to a user: one ledger row per model call. */
async function taskTextCalls({ app, database }: TestContext, userId: string) {
  await app.ai.ledger.flush();
  const result = await database.db.execute<{
    provider: string;
    costMicros: number;
    outcome: string;
  }>(sql`
    select provider, cost_micros as "costMicros", outcome from ai_usage
    where feature = 'embed' and template_id = 'task-text' and user_id = ${userId}`);
  return result.rows;
}

describe("the embedding queue", () => {
  it("embeds a burst of edits once, after the debounce, at no cost with the offline model", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Write the agenda" });
    await patchTask(t.app, user, task.id, { description: "for the quarterly planning meeting" });
    await patchTask(t.app, user, task.id, { title: "Write the planning agenda" });
    const search = t.app.services.search;
    expect(await search?.worker.drain()).toBe(0); // not due yet: the debounce is app time
    expect(await taskTextCalls(t, user.id)).toEqual([]);

    expect(await embedPending(t.app, t.clock)).toBe(1);
    expect(await taskTextCalls(t, user.id)).toEqual([
      { provider: "local", costMicros: 0, outcome: "ok" },
    ]);
    expect(await storedVectors(t.database.db, task.id)).toEqual([
      { model: "local:taskpilot-embed-1", dimension: 512, contentHash: expect.any(String) },
    ]);
    expect(await queuedJobs(t.database.db)).toEqual([]);
    const usage = await t.app.inject({
      method: "GET",
      url: "/v1/ai/usage?groupBy=feature",
      headers: user.headers,
    });
    expect(usage.json<{ data: unknown[] }>().data).toContainEqual(
      expect.objectContaining({ key: "embed", calls: 1, costUsd: 0 }),
    );
  });

  it("reuses the vector of the same text for a recurring task's next occurrence", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Water the balcony plants",
      recurrence: "every monday",
      dueAt: t.clock.now().toISOString(),
    });
    await embedPending(t.app, t.clock);
    const completed = await taskAction(t.app, user, task.id, "complete");
    expect(completed.statusCode, completed.body).toBe(200);
    const next = completed.json<{ nextOccurrenceId: string }>().nextOccurrenceId;
    await embedPending(t.app, t.clock);
    expect(await storedVectors(t.database.db, next)).toEqual(
      await storedVectors(t.database.db, task.id),
    );
    expect(await taskTextCalls(t, user.id)).toHaveLength(1);
  });

  it("reports semantic and typo-tolerant search as available in /readyz", async () => {
    const response = await t.app.inject({ method: "GET", url: "/readyz" });
    expect(response.json()).toMatchObject({
      status: "ready",
      features: { semanticSearch: { status: "ok" }, typoTolerantSearch: { status: "ok" } },
    });
  });
});

describe("in the background", () => {
  it("finishes what the last process queued, then embeds new tasks by itself", async () => {
    const database = await openTestDatabase({ embedded: true });
    const clock = new TestClock();
    const start = (worker: boolean) =>
      buildApp({
        database,
        authSecret: "test-secret-test-secret-test-secret-0123",
        publicUrl: "http://localhost:3000",
        logLevel: "silent",
        // A loaded machine must not turn answers into load-shedding 503s.
        overload: false,
        authRateLimit: false,
        now: clock.now,
        search: { worker, debounceMs: 0 },
      });
    try {
      const first = await start(false);
      await first.ready();
      const user = await signUp(first);
      const task = await createTask(first, user, { title: "Sort out the tax return" });
      await first.close(); // stops before the debounce ends: the job stays queued
      expect(await queuedJobs(database.db)).toEqual([{ taskId: task.id }]);

      clock.advance(60_000);
      const second = await start(true);
      await second.ready(); // starts the worker
      await vi.waitFor(async () => {
        expect(await storedVectors(database.db, task.id)).toHaveLength(1);
      });
      expect(await queuedJobs(database.db)).toEqual([]);
      expect(await foundTitles(second, user, { q: "tax return", mode: "semantic" })).toEqual([
        "Sort out the tax return",
      ]);

      // An enqueue wakes the running worker; nobody drains by hand.
      const later = await createTask(second, user, { title: "File the insurance claim" });
      await vi.waitFor(async () => {
        expect(await storedVectors(database.db, later.id)).toHaveLength(1);
      });
      await second.close();
    } finally {
      await database.drop();
    }
  });
});
