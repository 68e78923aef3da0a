import { eq } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import { createTask, patchTask } from "../../../test/tasks-helpers.ts";
import { buildApp } from "../../app.ts";
import { connectRedis, type Redis } from "../../platform/cache/redis.ts";
import { cacheKey, purgeExpiredAnswers } from "./cache.ts";
import { aiCache, aiUsage } from "./schema.ts";
import { parseModelRef } from "./settings.ts";

const settings = (fake: Parameters<typeof testSettings>[0]) =>
  testSettings(fake, {
    AI_ROUTES: JSON.stringify({ summary: ["openai", "local"], digest: ["openai", "local"] }),
    AI_BREAKER_FAILURES: 1000,
  });

const t = useAiTestApp({ settings });

let user: TestUser;

beforeEach(async () => {
  t.fake.reset();
  user ??= await signUp(t.app);
});

const summarise = (who: TestUser, id: string) => aiPost(t.app, who, `/v1/tasks/${id}/summary`);

describe("the response cache (in-process LRU over Postgres)", () => {
  it("purges expired answers from Postgres, in batches, and keeps the live ones", async () => {
    const db = t.database.db;
    // Long before any other test's answers expire, so only these rows are due.
    const now = new Date("2001-06-01T12:00:00Z");
    const row = (key: string, expiresAt: Date) => ({
      key,
      provider: "openai",
      model: "gpt-4o-mini",
      answer: { text: key, inputTokens: 1, outputTokens: 1 },
      expiresAt,
    });
    const expired = Array.from({ length: 12_001 }, (_, i) =>
      row(`purge-test-expired-${i}`, new Date(now.getTime() - 1000 - i)),
    );
    for (let i = 0; i < expired.length; i += 2000) {
      await db.insert(aiCache).values(expired.slice(i, i + 2000));
    }
    await db
      .insert(aiCache)
      .values([
        row("purge-test-expires-now", now),
        row("purge-test-live", new Date(now.getTime() + 1)),
      ]);
    // 12,002 rows are due (the one expiring at `now` is no longer served):
    // more than two batches of 5,000.
    expect(await purgeExpiredAnswers(db, now)).toBe(12_002);
    const left = await db.select({ key: aiCache.key }).from(aiCache);
    const keys = left.map((entry) => entry.key).filter((key) => key.startsWith("purge-test-"));
    expect(keys).toEqual(["purge-test-live"]);
    expect(await purgeExpiredAnswers(db, now)).toBe(0);
  });

  it("answers a repeated request from the cache at no cost, and ledgers the hit", async () => {
    const task = await createTask(t.app, user, { title: "Cache me" });
    t.fake.script("openai", { kind: "text", text: "First answer." });
    const first = await summarise(user, task.id);
    const second = await summarise(user, task.id);
    expect(first.json()).toMatchObject({ cached: false, summary: "First answer." });
    expect(second.json()).toMatchObject({
      cached: true,
      summary: "First answer.",
      provider: "openai",
      model: "gpt-4o-mini",
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    });
    expect(t.fake.requests).toHaveLength(1);
    await t.app.ai.ledger.flush();
    const [hit] = await t.database.db
      .select()
      .from(aiUsage)
      .where(eq(aiUsage.requestId, String(second.headers["x-request-id"])));
    expect(hit).toMatchObject({ cacheHit: true, outcome: "cache_hit", costMicros: 0 });
  });

  it("misses after the task is edited: its version is part of the key", async () => {
    const task = await createTask(t.app, user, { title: "Edit me" });
    t.fake.script("openai", { kind: "text", text: "Before." }, { kind: "text", text: "After." });
    await summarise(user, task.id);
    expect((await patchTask(t.app, user, task.id, { priority: "high" })).statusCode).toBe(200);
    const after = await summarise(user, task.id);
    expect(after.json()).toMatchObject({ cached: false, summary: "After." });
    expect(t.fake.requests).toHaveLength(2);
  });

  it("keeps answers in Postgres, so another instance without Redis gets the hit", async () => {
    const task = await createTask(t.app, user, { title: "Shared through Postgres" });
    t.fake.script("openai", { kind: "text", text: "Stored answer." });
    await summarise(user, task.id);
    const rows = await t.database.db.select({ model: aiCache.model }).from(aiCache);
    expect(rows.map((row) => row.model)).toContain("gpt-4o-mini");

    const other = await buildApp({
      database: t.database,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: "http://localhost:3000",
      logLevel: "silent",
      // A loaded machine must not turn answers into load-shedding 503s.
      overload: false,
      authRateLimit: false,
      ai: settings(t.fake),
      // Its embedding worker would call the fake vendor's /embeddings in the background.
      search: { worker: false },
    });
    try {
      const response = await aiPost(other, user, `/v1/tasks/${task.id}/summary`);
      expect(response.json()).toMatchObject({ cached: true, summary: "Stored answer." });
      expect(t.fake.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it("keys by model, template version and normalised input", () => {
    const openai = parseModelRef("openai");
    const template = { id: "summary", version: 1 };
    const key = cacheKey(openai, template, { b: 1, a: [1, 2] });
    expect(cacheKey(openai, template, { a: [1, 2], b: 1 })).toBe(key);
    expect(cacheKey(parseModelRef("anthropic"), template, { a: [1, 2], b: 1 })).not.toBe(key);
    expect(cacheKey(openai, { id: "summary", version: 2 }, { a: [1, 2], b: 1 })).not.toBe(key);
    expect(cacheKey(openai, template, { a: [2, 1], b: 1 })).not.toBe(key);
  });
});

describe("the response cache on Redis", () => {
  const redis: Redis = connectRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const r = useAiTestApp({ settings, redis: () => redis });
  afterAll(async () => {
    await redis.quit();
  });

  it("stores answers in Redis with a TTL instead of Postgres", async () => {
    const owner = await signUp(r.app);
    const task = await createTask(r.app, owner, { title: "Cache me in Redis" });
    r.fake.script("openai", { kind: "text", text: "From Redis next time." });
    await aiPost(r.app, owner, `/v1/tasks/${task.id}/summary`);
    const second = await aiPost(r.app, owner, `/v1/tasks/${task.id}/summary`);
    expect(second.json()).toMatchObject({ cached: true, summary: "From Redis next time." });
    expect(r.fake.requests).toHaveLength(1);
    expect(await r.database.db.select().from(aiCache)).toHaveLength(0);
    const keys = await redis.keys("taskpilot:ai:cache:*");
    const ttls = await Promise.all(keys.map((key) => redis.ttl(key)));
    expect(ttls.some((ttl) => ttl > 0)).toBe(true);
  });
});

describe("the response cache when Redis is down", () => {
  // A client for a port nothing listens on: every command fails at once.
  const broken: Redis = connectRedis("redis://127.0.0.1:1");
  broken.on("error", () => {});
  const b = useAiTestApp({ settings, redis: () => broken });
  afterAll(() => {
    broken.disconnect();
  });

  it("treats the outage as a miss and still answers", async () => {
    const owner = await signUp(b.app);
    const task = await createTask(b.app, owner, { title: "Redis is down" });
    b.fake.setDefault("openai", { kind: "text", text: "Answered anyway." });
    const first = await aiPost(b.app, owner, `/v1/tasks/${task.id}/summary`);
    const second = await aiPost(b.app, owner, `/v1/tasks/${task.id}/summary`);
    expect(first.json()).toMatchObject({ cached: false, summary: "Answered anyway." });
    expect(second.json()).toMatchObject({ cached: false });
  });
});
