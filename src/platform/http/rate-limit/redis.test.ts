import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openTestDatabase, signUp, type TestUser } from "../../../../test/harness.ts";
import { type RedisServer, startRedisServer } from "../../../../test/redis-server.ts";
import { expectProblem } from "../../../../test/tasks-helpers.ts";
import { type App, buildApp } from "../../../app.ts";
import { connectRedis, type Redis } from "../../cache/redis.ts";
import type { RateLimitSettings } from "./policy.ts";
import { fallbackStore } from "./store.ts";

const limits: RateLimitSettings = {
  windowMs: 60_000,
  anonymous: 50,
  user: 4,
  apiKey: 4,
  auth: 50,
  ai: 4,
};

type Instances = { apps: App[]; redis: Redis[]; server: RedisServer };

/** Two app instances on one database, each with its own client of one private Redis. */
function useTwoInstances(): Instances {
  const instances = {} as Instances;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const server = await startRedisServer();
    const database = await openTestDatabase();
    drop = database.drop;
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = [connectRedis(server.url), connectRedis(server.url)];
    const apps: App[] = [];
    for (const client of redis) {
      const app = await buildApp({
        database,
        authSecret: "test-secret-test-secret-test-secret-0123",
        publicUrl: "http://localhost:3000",
        logLevel: "silent",
        authRateLimit: false,
        overload: false,
        rateLimit: { ...limits, keyPrefix },
        redis: client,
      });
      await app.ready();
      apps.push(app);
    }
    await Promise.all(redis.map((client) => waitUntilReady(client)));
    Object.assign(instances, { apps, redis, server });
  });
  afterAll(async () => {
    for (const app of instances.apps ?? []) await app.close();
    for (const client of instances.redis ?? []) client.disconnect();
    await instances.server?.kill();
    await drop();
  });
  return instances;
}

async function waitUntilReady(client: Redis): Promise<void> {
  await vi.waitFor(() => expect(client.status).toBe("ready"), { timeout: 10_000, interval: 20 });
}

const me = (app: App, user: TestUser) => app.inject({ url: "/v1/me", headers: user.headers });

describe("rate limits with Redis", () => {
  const t = useTwoInstances();

  it("holds one budget per user across two instances", async () => {
    const [first, second] = t.apps as [App, App];
    const user = await signUp(first);
    // Each instance charges a credential it has not seen work to the address once.
    expect((await me(first, user)).headers["ratelimit-policy"]).toMatch(/^"unverified"/);
    expect((await me(second, user)).headers["ratelimit-policy"]).toMatch(/^"unverified"/);

    const remaining: string[] = [];
    for (const app of [first, second, first, second]) {
      const response = await me(app, user);
      expect(response.statusCode).toBe(200);
      remaining.push(String(response.headers["x-ratelimit-remaining"]));
    }
    expect(remaining).toEqual(["3", "2", "1", "0"]);
    expectProblem(await me(first, user), 429, "rate_limited");
    expectProblem(await me(second, user), 429, "rate_limited");
  });
});

describe("rate limits when Redis goes away", () => {
  const t = useTwoInstances();

  it("answers with each instance's own limits while Redis is down, never 5xx, and shares again when it is back", async () => {
    const [first, second] = t.apps as [App, App];
    const [firstClient] = t.redis as [Redis, Redis];
    const user = await signUp(first);
    await me(first, user);
    await me(second, user);

    await t.server.kill();
    await vi.waitFor(() => expect(firstClient.status).not.toBe("ready"), { interval: 20 });

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await me(first, user)).statusCode);
    // In-process: this instance's own budget of 4, then 429.
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const limited = await me(first, user);
    expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.ratelimit).toMatch(/^"user";r=0;t=\d+$/);
    // The other instance counts on its own meanwhile.
    const other = await me(second, user);
    expect(other.statusCode).toBe(200);
    expect(other.headers["x-ratelimit-remaining"]).toBe("3");

    await t.server.restart();
    await waitUntilReady(firstClient);
    // The restarted Redis is empty: the shared count starts again from there.
    const shared = await me(first, user);
    expect(shared.statusCode).toBe(200);
    expect(shared.headers["x-ratelimit-remaining"]).toBe("3");
  });
});

describe("the fallback store", () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = connectRedis(server.url);
    await waitUntilReady(client);
  });
  afterAll(async () => {
    client.disconnect();
    await server.kill();
  });

  it("logs an outage once when it starts and once when it ends, not per request", async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const Store = fallbackStore({
      redis: client,
      keyPrefix: `test:${randomUUID()}:`,
      log: pino(sink),
    });
    const store = new Store({});
    const count = (key: string) =>
      new Promise<number>((resolve, reject) =>
        store.incr(
          key,
          (error, result) => (error ? reject(error) : resolve(result?.current ?? -1)),
          60_000,
          100,
        ),
      );

    expect(await count("a")).toBe(1);
    await server.kill();
    await vi.waitFor(() => expect(client.status).not.toBe("ready"), { interval: 20 });
    for (let i = 0; i < 10; i++) await count("b");
    expect(await count("b")).toBe(11);
    await server.restart();
    await waitUntilReady(client);
    expect(await count("a")).toBe(1);
    expect(await count("a")).toBe(2);

    const messages = lines.map((line) => line.msg);
    expect(messages).toEqual([
      "Redis is unreachable: rate limits fall back to this instance's own counters",
      "Redis is reachable again: rate limits are shared across instances again",
    ]);
    expect(lines[0]?.level).toBe(40);
  });
});
