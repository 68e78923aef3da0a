import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { postAuth, testPassword } from "../../../test/auth-helpers.ts";
import { openTestDatabase, signUp } from "../../../test/harness.ts";
import { type RedisServer, startRedisServer } from "../../../test/redis-server.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { type App, buildApp } from "../../app.ts";
import { connectRedis, type Redis } from "../cache/redis.ts";
import { FallbackLimitStore, MemoryLimitStore, RedisLimitStore } from "./limit-store.ts";
import { signInPolicy } from "./sign-in-limits.ts";

let server: RedisServer;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.kill();
});

/** A client as the app gets it, connected; connection errors after a kill are expected here. */
async function client(url = server.url): Promise<Redis> {
  const redis = connectRedis(url);
  redis.on("error", () => {});
  clients.push(redis);
  if (redis.status !== "ready") await once(redis, "ready");
  return redis;
}

describe("RedisLimitStore", () => {
  const store = async () => new RedisLimitStore(await client(), `test:${randomUUID()}:`);

  it("counts hits in a fixed window, or a sliding one", async () => {
    const limits = await store();
    expect(await limits.hit("fixed", 60_000, false)).toMatchObject({ count: 1 });
    const second = await limits.hit("fixed", 120_000, false);
    expect(second.count).toBe(2);
    expect(second.ttlMs).toBeLessThanOrEqual(60_000);
    await limits.hit("sliding", 1_000, true);
    const slid = await limits.hit("sliding", 60_000, true);
    expect(slid).toMatchObject({ count: 2 });
    expect(slid.ttlMs).toBeGreaterThan(1_000);
  });

  it("blocks for a while and forgets on remove", async () => {
    const limits = await store();
    expect(await limits.blockedFor("lock")).toBe(0);
    await limits.block("lock", 30_000);
    const left = await limits.blockedFor("lock");
    expect(left).toBeGreaterThan(29_000);
    expect(left).toBeLessThanOrEqual(30_000);
    await limits.remove("lock");
    expect(await limits.blockedFor("lock")).toBe(0);
  });
});

describe("sign-in limits shared through Redis", () => {
  let apps: App[] = [];
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const database = await openTestDatabase();
    drop = database.drop;
    // Two instances behind one load balancer: same database, same Redis.
    const redis = await client();
    for (let i = 0; i < 2; i += 1) {
      const app = await buildApp({
        database,
        authSecret: "test-secret-test-secret-test-secret-0123",
        publicUrl: "http://localhost:3000",
        logLevel: "silent",
        // A loaded machine must not turn answers into load-shedding 503s.
        overload: false,
        authRateLimit: true,
        redis,
      });
      await app.ready();
      apps.push(app);
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    apps = [];
    await drop();
  });

  const attempt = (app: App, email: string, password: string, remoteAddress: string) =>
    postAuth(app, "sign-in/email", { email, password }, {}, remoteAddress);

  it("locks an account on every instance once failures on any reach the limit", async () => {
    const [first, second] = apps as [App, App];
    const user = await signUp(first);
    for (let i = 0; i < signInPolicy.allowedFailures; i += 1) {
      const app = i % 2 === 0 ? first : second;
      expect(
        (await attempt(app, user.email, "wrong password here", "198.51.100.40")).statusCode,
      ).toBe(401);
    }
    for (const app of apps) {
      const locked = await attempt(app, user.email, testPassword, "198.51.100.40");
      expectProblem(locked, 429, "rate_limited");
      expect(Number(locked.headers["retry-after"])).toBe(30);
    }
  });

  it("counts one client address across instances", async () => {
    const [first, second] = apps as [App, App];
    for (let i = 0; i < signInPolicy.perAddress.max; i += 1) {
      const app = i % 2 === 0 ? first : second;
      const answer = await attempt(
        app,
        `nobody-${randomUUID()}@example.com`,
        "whatever it is",
        "198.51.100.41",
      );
      expect(answer.statusCode).toBe(401);
    }
    const limited = await attempt(
      second,
      `nobody-${randomUUID()}@example.com`,
      "whatever",
      "198.51.100.41",
    );
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("falls back to in-process limits and logs when Redis goes away, never answering 5xx", async () => {
    const [first] = apps as [App, App];
    const user = await signUp(first);
    const warn = vi.spyOn(first.log, "warn");
    await server.kill();

    const answers: number[] = [];
    for (let i = 0; i <= signInPolicy.allowedFailures; i += 1) {
      answers.push(
        (await attempt(first, user.email, "wrong password here", "198.51.100.42")).statusCode,
      );
    }
    expect(answers).toEqual([401, 401, 401, 401, 401, 429]);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      expect.stringMatching(/Redis is unavailable/),
    );
    expect(
      warn.mock.calls.filter(([, message]) => /Redis is unavailable/.test(String(message))),
    ).toHaveLength(1);
    const elsewhere = await attempt(first, user.email, testPassword, "198.51.100.43");
    expect(elsewhere.statusCode, elsewhere.body).toBe(200);
  });
});

describe("FallbackLimitStore over a real Redis", () => {
  let own: RedisServer;

  beforeAll(async () => {
    own = await startRedisServer();
  });

  afterAll(async () => {
    await own?.kill();
  });

  const fallbackStore = (redis: Redis, options: { timeoutMs?: number } = {}) => {
    const log = { warn: vi.fn(), info: vi.fn() };
    const store = new FallbackLimitStore({
      primary: new RedisLimitStore(redis, `test:${randomUUID()}:`),
      fallback: new MemoryLimitStore(),
      log,
      retryMs: 0,
      ...options,
    });
    return { store, log };
  };

  it("gives up on a Redis that does not answer within its timeout", async () => {
    const { store, log } = fallbackStore(await client(own.url), { timeoutMs: 50 });
    await (await client(own.url)).client("PAUSE", 1_000, "ALL");
    const started = Date.now();
    expect(await store.hit("k", 60_000, false)).toMatchObject({ count: 1 });
    expect(Date.now() - started).toBeLessThan(900);
    expect(store.degraded).toBe(true);
    expect(log.warn).toHaveBeenCalledTimes(1);
    // Let the pause end before the next test connects: a new client's ready
    // check would otherwise run into it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 1_100 - Date.now())));
  });

  it("goes back to Redis once it answers again, logging each switch once", async () => {
    const { store, log } = fallbackStore(await client(own.url));
    expect((await store.hit("k", 60_000, false)).count).toBe(1);
    const port = own.port;
    await own.kill();
    expect((await store.hit("k", 60_000, false)).count).toBe(1);
    expect((await store.hit("k", 60_000, false)).count).toBe(2);
    expect(store.degraded).toBe(true);

    own = await startRedisServer(port);
    const deadline = Date.now() + 15_000;
    while (store.degraded && Date.now() < deadline) {
      await store.hit("probe", 60_000, false);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(store.degraded).toBe(false);
    // The restarted server is empty: counting starts again there.
    expect((await store.hit("k", 60_000, false)).count).toBe(1);
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.info).toHaveBeenCalledTimes(1);
  });
});
