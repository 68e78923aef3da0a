import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type AiTestContext, testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import { embedPending, foundTitles, search, storedVectors } from "./test-helpers.ts";

/**
 * Semantic search through a vendor's embedding API: the real AI SDK client
 * (OpenAI `/embeddings`) talks to the fake vendor, a TEST DOUBLE on loopback
 * whose vectors come from a tiny hand-made lexicon of concepts, so "car" and
 * "automobile" really are close. Embedded PGlite (pgvector) always.
 */
const concepts: Array<[RegExp, number]> = [
  [/\b(car|automobile|vehicle)s?\b/i, 0],
  [/\b(dentist|teeth|tooth)\b/i, 1],
  [/\b(rent|landlord|lease)\b/i, 2],
];

function conceptVector(text: string): number[] {
  const vector = [0, 0, 0, 0.1];
  for (const [pattern, axis] of concepts) if (pattern.test(text)) vector[axis] = 1;
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

const fast = { AI_MAX_RETRIES: 1, AI_BREAKER_FAILURES: 100 };

/** The embedding calls of the worker and of searches, as the ledger has them. */
async function embedLedger({ app, database }: AiTestContext, userId: string) {
  await app.ai.ledger.flush();
  const result = await database.db.execute<{
    model: string;
    template: string;
    outcome: string;
  }>(sql`
    select provider || ':' || model as model, template_id as template, outcome
    from ai_usage where feature = 'embed' and user_id = ${userId} order by created_at, id`);
  return result.rows;
}

describe("with a vendor's embedding model", () => {
  const t = useAiTestApp({ embedded: true, settings: (fake) => testSettings(fake, fast) });

  it("finds a task by meaning, which neither keyword search nor the offline model could", async () => {
    t.fake.reset();
    t.fake.embedWith(conceptVector);
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Service the car" });
    await createTask(t.app, user, { title: "Book the dentist" });
    await embedPending(t.app, t.clock);

    expect(await foundTitles(t.app, user, { q: "automobile", mode: "keyword" })).toEqual([]);
    const found = await search(t.app, user, { q: "automobile", mode: "semantic" });
    expect(found).toMatchObject({ mode: "semantic", model: "openai:text-embedding-3-small" });
    expect(found.data.map((hit) => hit.task.title)).toEqual(["Service the car"]);
    const calls = t.fake.requests.filter((request) => request.path === "/embeddings");
    expect(calls.map((request) => request.body.model)).toEqual([
      "text-embedding-3-small",
      "text-embedding-3-small",
    ]);
    expect(await embedLedger(t, user.id)).toEqual([
      { model: "openai:text-embedding-3-small", template: "task-text", outcome: "ok" },
      { model: "openai:text-embedding-3-small", template: "search-query", outcome: "ok" },
    ]);
  });

  it("redacts e-mail addresses before the text leaves for the vendor", async () => {
    t.fake.reset();
    const user = await signUp(t.app);
    await createTask(t.app, user, {
      title: "Send the lease to the landlord",
      description: "his address is landlord.bob@example.com",
    });
    await embedPending(t.app, t.clock);
    const sent = t.fake.requests
      .filter((request) => request.path === "/embeddings")
      .map((request) => request.rawBody);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain("[email]");
    expect(sent[0]).not.toContain("example.com");
  });

  it("retries a 429, then falls back to the offline model, whose vectors only its own queries meet", async () => {
    t.fake.reset();
    t.fake.embedWith(conceptVector);
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Pay the rent" });
    t.fake.script(
      "openai",
      { kind: "status", status: 429, retryAfter: "0" },
      { kind: "status", status: 503 },
    );
    await embedPending(t.app, t.clock);
    expect(await storedVectors(t.database.db, task.id)).toEqual([
      expect.objectContaining({ model: "local:taskpilot-embed-1", dimension: 512 }),
    ]);
    expect((await embedLedger(t, user.id)).map((row) => row.outcome)).toEqual([
      "rate_limited",
      "error",
      "ok",
    ]);

    // The vendor is back: its query vector (4 numbers) is never compared with a local one (512).
    const vendor = await search(t.app, user, { q: "rent", mode: "semantic" });
    expect(vendor).toMatchObject({ model: "openai:text-embedding-3-small", data: [] });
    // The vendor is down: the query is embedded offline and meets the offline vectors.
    t.fake.script("openai", { kind: "status", status: 500 }, { kind: "status", status: 500 });
    const offline = await search(t.app, user, { q: "rent", mode: "semantic" });
    expect(offline).toMatchObject({ model: "local:taskpilot-embed-1" });
    expect(offline.data.map((hit) => hit.task.id)).toEqual([task.id]);
  });
});

describe("with a used-up budget and no free fallback", () => {
  const t = useAiTestApp({
    embedded: true,
    settings: (fake) =>
      testSettings(fake, {
        ...fast,
        AI_USER_MONTHLY_BUDGET_USD: 0,
        AI_LOCAL_WHEN_OVER_BUDGET: false,
      }),
  });

  it("searches by keyword and says why, and the queue retries the embedding later", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Service the car" });
    const result = await search(t.app, user, { q: "car", mode: "hybrid" });
    expect(result).toMatchObject({
      mode: "keyword",
      model: null,
      reason: expect.stringContaining("budget"),
    });
    expect(result.data.map((hit) => hit.task.id)).toEqual([task.id]);

    await embedPending(t.app, t.clock);
    expect(await storedVectors(t.database.db, task.id)).toEqual([]);
    const jobs = await t.database.db.execute<{ attempts: number; lastError: string }>(
      sql`select attempts, last_error as "lastError" from embedding_jobs where task_id = ${task.id}`,
    );
    expect(jobs.rows).toEqual([{ attempts: 1, lastError: expect.stringContaining("budget") }]);
    expect(t.fake.requests.filter((request) => request.path === "/embeddings")).toEqual([]);
  });
});
