import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { createTask, deleteTask, patchTask } from "../../../test/tasks-helpers.ts";
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
