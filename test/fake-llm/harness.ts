import { afterAll, beforeAll } from "vitest";
import { type App, type AppDeps, buildApp } from "../../src/app.ts";
import { type AiEnv, type AiSettings, aiSettingsFromEnv } from "../../src/modules/ai/settings.ts";
import type { Redis } from "../../src/platform/cache/redis.ts";
import type { DatabaseHandle } from "../../src/platform/db/pool.ts";
import { openTestDatabase, TestClock } from "../harness.ts";
import { type FakeVendor, startFakeVendor } from "./server.ts";

export type AiTestContext = {
  app: App;
  database: DatabaseHandle;
  clock: TestClock;
  fake: FakeVendor;
};

/**
 * Environment pointing every provider at the fake vendor (a test double on
 * loopback), so the real AI SDK clients talk to it over HTTP.
 */
export function fakeVendorEnv(fake: FakeVendor, extra: AiEnv = {}): AiEnv {
  return {
    OPENAI_API_KEY: "test-double-key",
    OPENAI_BASE_URL: fake.baseUrl("openai"),
    ANTHROPIC_API_KEY: "test-double-key",
    ANTHROPIC_BASE_URL: fake.baseUrl("anthropic"),
    LOCAL_LLM_BASE_URL: fake.baseUrl("compatible"),
    LOCAL_LLM_MODEL: "llama3.2",
    // Off unless a test is about it, so scripts and request counts stay the chat model's.
    AI_MODERATION: false,
    ...extra,
  };
}

export type AiTestOptions = {
  now?: string | Date;
  /** The AI settings; default: every provider on the fake vendor, fast retries. */
  settings?: (fake: FakeVendor) => AiSettings;
  redis?: () => Redis;
  /** Always embedded PGlite (pgvector), whatever DATABASE_URL says. */
  embedded?: boolean;
  /** The embedding worker is off unless turned on (see test/harness.ts). */
  search?: AppDeps["search"];
};

/** Fast, deterministic knobs for tests: short timeouts and tiny backoffs. */
export function testSettings(fake: FakeVendor, env: AiEnv = {}): AiSettings {
  return {
    ...aiSettingsFromEnv(fakeVendorEnv(fake, env), "http://localhost:3000"),
    timeoutMs: env.AI_TIMEOUT_MS ?? 2_000,
    retryBaseMs: 5,
    retryAfterCapMs: 1_500,
  };
}

/** A fresh database, the fake vendor and the app wired to it, once per test file. */
export function useAiTestApp(options: AiTestOptions = {}) {
  const context = {} as AiTestContext;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const database = await openTestDatabase({ embedded: options.embedded });
    drop = database.drop;
    const fake = await startFakeVendor();
    const clock = new TestClock(options.now);
    const app = await buildApp({
      database,
      checkResponses: true,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: "http://localhost:3000",
      logLevel: process.env.TEST_LOG_LEVEL ?? "silent",
      authRateLimit: false,
      // As in test/harness.ts: request limits and shedding have their own tests.
      rateLimit: false,
      overload: false,
      now: clock.now,
      ai: (options.settings ?? testSettings)(fake),
      search: { worker: false, ...options.search },
      ...(options.redis ? { redis: options.redis() } : {}),
    });
    await app.ready();
    Object.assign(context, { app, database, clock, fake });
  });
  afterAll(async () => {
    await context.app?.close();
    await context.fake?.close();
    await drop();
  });
  return context;
}
