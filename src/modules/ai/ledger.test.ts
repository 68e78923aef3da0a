import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { openTestDatabase, signUp } from "../../../test/harness.ts";
import { buildApp } from "../../app.ts";
import { user } from "../../platform/auth/schema.ts";
import type { DatabaseHandle } from "../../platform/db/pool.ts";
import { LedgerWriter, type UsageEntry } from "./ledger.ts";
import { aiUsage } from "./schema.ts";
import { type LedgerSettings, offlineAiSettings } from "./settings.ts";

/** Rows are written only when a test flushes (or the app closes). */
const held: LedgerSettings = {
  batchRows: 1_000,
  flushDelayMs: 60_000,
  maxBufferedRows: 10_000,
  retryDelaysMs: [],
};

type LogEntry = { level: number; msg: string; rows?: number };

/** A logger whose warnings and errors the test can read. */
function capturedLog(onEntry: (entry: LogEntry) => void = () => {}) {
  const entries: LogEntry[] = [];
  const log = pino(
    { level: "warn" },
    {
      write: (line: string) => {
        const entry = JSON.parse(line) as LogEntry;
        entries.push(entry);
        onEntry(entry);
      },
    },
  );
  return { log, entries };
}

const usageEntry = (requestId: string, overrides: Partial<UsageEntry> = {}): UsageEntry => ({
  userId: null,
  workspaceId: null,
  requestId,
  feature: "summary",
  ref: { provider: "openai", model: "gpt-4o-mini" },
  template: { id: "summary", version: 1 },
  inputTokens: 120,
  outputTokens: 40,
  cachedTokens: 20,
  costMicros: 41,
  latencyMs: 12.6,
  outcome: "ok",
  flags: ["possible_prompt_injection"],
  at: new Date("2026-11-27T10:00:00Z"),
  ...overrides,
});

describe("LedgerWriter", () => {
  let database: DatabaseHandle & { drop: () => Promise<void> };
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  const writer = (settings: Partial<LedgerSettings> = {}, log = capturedLog().log) =>
    new LedgerWriter({ db: database.db, log, settings: { ...held, ...settings } });

  const rowsOf = (requestId: string) =>
    database.db.select().from(aiUsage).where(eq(aiUsage.requestId, requestId)).orderBy(aiUsage.id);

  it("writes the rows it was handed once flushed, each as the call reported it", async () => {
    const ledger = writer();
    const requestId = uuidv7();
    ledger.record(usageEntry(requestId));
    ledger.record(usageEntry(requestId, { outcome: "cache_hit", costMicros: 0, flags: [] }));
    expect(ledger.pending).toBe(2);
    expect(await rowsOf(requestId)).toEqual([]);

    await ledger.flush();
    expect(ledger.pending).toBe(0);
    const rows = await rowsOf(requestId);
    expect(rows).toEqual([
      expect.objectContaining({
        userId: null,
        feature: "summary",
        provider: "openai",
        model: "gpt-4o-mini",
        templateId: "summary",
        templateVersion: 1,
        inputTokens: 120,
        outputTokens: 40,
        cachedTokens: 20,
        costMicros: 41,
        latencyMs: 13,
        cacheHit: false,
        outcome: "ok",
        flags: ["possible_prompt_injection"],
        createdAt: new Date("2026-11-27T10:00:00Z"),
      }),
      expect.objectContaining({ cacheHit: true, outcome: "cache_hit", costMicros: 0, flags: [] }),
    ]);
  });

  it("writes at once when batchRows are waiting, without a flush", async () => {
    const ledger = writer({ batchRows: 3 });
    const requestId = uuidv7();
    for (let call = 0; call < 3; call++) ledger.record(usageEntry(requestId));
    await expect.poll(() => rowsOf(requestId), { timeout: 5_000 }).toHaveLength(3);
  });

  it("writes a lone row flushDelayMs after it came, without a flush", async () => {
    const ledger = writer({ flushDelayMs: 20 });
    const requestId = uuidv7();
    ledger.record(usageEntry(requestId));
    await expect.poll(() => rowsOf(requestId), { timeout: 5_000 }).toHaveLength(1);
  });

  it("keeps the row of a user deleted while it waited, with no user, as ON DELETE SET NULL would", async () => {
    const ledger = writer();
    const userId = uuidv7();
    await database.db
      .insert(user)
      .values({ id: userId, name: "Gone", email: `gone-${userId}@example.com` });
    const requestId = uuidv7();
    const other = uuidv7();
    ledger.record(usageEntry(requestId, { userId }));
    ledger.record(usageEntry(other));
    await database.db.delete(user).where(eq(user.id, userId));
    await ledger.flush();
    expect(await rowsOf(requestId)).toEqual([expect.objectContaining({ userId: null })]);
    expect(await rowsOf(other)).toHaveLength(1);
  });

  it("retries a failed write and writes the batch once the database takes it again", async () => {
    let failed: () => void = () => {};
    const firstFailure = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const { log, entries } = capturedLog((entry) => {
      if (entry.level === 40) failed();
    });
    const ledger = writer({ retryDelaysMs: [300, 300] }, log);
    const requestId = uuidv7();
    await database.db.execute(sql`alter table ai_usage rename to ai_usage_away`);
    ledger.record(usageEntry(requestId));
    ledger.record(usageEntry(requestId));
    const flushed = ledger.flush();
    await firstFailure;
    await database.db.execute(sql`alter table ai_usage_away rename to ai_usage`);
    await flushed;

    expect(await rowsOf(requestId)).toHaveLength(2);
    expect(entries.filter((entry) => entry.level === 50)).toEqual([]);
    expect(entries[0]).toMatchObject({ msg: "AI ledger write failed; retrying", rows: 2 });
  });

  it("gives a batch up after its retries and logs how many rows were lost", async () => {
    const { log, entries } = capturedLog();
    const ledger = writer({ retryDelaysMs: [10, 10] }, log);
    const requestId = uuidv7();
    await database.db.execute(sql`alter table ai_usage rename to ai_usage_away`);
    try {
      ledger.record(usageEntry(requestId));
      ledger.record(usageEntry(requestId));
      ledger.record(usageEntry(requestId));
      await ledger.flush();
    } finally {
      await database.db.execute(sql`alter table ai_usage_away rename to ai_usage`);
    }
    expect(entries.filter((entry) => entry.level === 40)).toHaveLength(2);
    expect(entries.filter((entry) => entry.level === 50)).toEqual([
      expect.objectContaining({ msg: "AI ledger rows lost: 3 could not be written", rows: 3 }),
    ]);
    expect(ledger.pending).toBe(0);
    expect(await rowsOf(requestId)).toEqual([]);
  });

  it("holds at most maxBufferedRows, dropping the oldest and logging it", async () => {
    const { log, entries } = capturedLog();
    const ledger = writer({ maxBufferedRows: 2 }, log);
    const requestId = uuidv7();
    for (const tokens of [1, 2, 3, 4])
      ledger.record(usageEntry(requestId, { inputTokens: tokens }));
    expect(ledger.pending).toBe(2);
    await ledger.flush();
    expect((await rowsOf(requestId)).map((row) => row.inputTokens)).toEqual([3, 4]);
    expect(entries.filter((entry) => entry.level === 50)).toEqual([
      expect.objectContaining({ msg: expect.stringContaining("buffer is full") }),
      expect.objectContaining({ msg: "AI ledger rows lost: 2 dropped", rows: 2 }),
    ]);
  });
});

describe("the ledger behind the app", () => {
  const t = useAiTestApp({
    now: "2026-11-27T10:00:00Z",
    settings: () => ({ ...offlineAiSettings(), ledger: held }),
  });

  const ledgerRowsOf = async (userId: string) =>
    (await t.database.db.select().from(aiUsage).where(eq(aiUsage.userId, userId))).length;

  it("counts a call made just before in GET /v1/ai/usage on the same instance", async () => {
    const me = await signUp(t.app);
    expect((await aiPost(t.app, me, "/v1/ai/digest", {})).statusCode).toBe(200);
    expect(await ledgerRowsOf(me.id)).toBe(0); // still waiting in the writer

    const response = await t.app.inject({ url: "/v1/ai/usage", headers: me.headers });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ total: { calls: 1, costUsd: 0 } });
  });

  it("writes the rows still waiting when the app closes", async () => {
    const app = await buildApp({
      database: t.database,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: "http://localhost:3000",
      logLevel: "silent",
      rateLimit: false,
      overload: false,
      now: t.clock.now,
      ai: { ...offlineAiSettings(), ledger: held },
      search: { worker: false },
    });
    await app.ready();
    const me = await signUp(app);
    try {
      expect((await aiPost(app, me, "/v1/ai/digest", {})).statusCode).toBe(200);
      expect((await aiPost(app, me, "/v1/ai/digest", {})).statusCode).toBe(200);
      expect(await ledgerRowsOf(me.id)).toBe(0);
    } finally {
      await app.close();
    }
    expect(await ledgerRowsOf(me.id)).toBe(2);
  });
});
