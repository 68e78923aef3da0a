import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeAdmin, postAuth } from "../../../test/auth-helpers.ts";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { type RedisServer, startRedisServer } from "../../../test/redis-server.ts";
import { type App, buildApp } from "../../app.ts";
import { connectRedis, type Redis } from "../cache/redis.ts";
import { type DatabaseHandle, openDatabase } from "../db/pool.ts";
import { user as userTable } from "./schema.ts";

/**
 * The user cache serves actors' user rows from memory; these tests ban users
 * behind its back (straight SQL, no invalidation): a request that still
 * passes was authenticated from the cache, a 401 read the database.
 */
const t = useTestApp({ userCacheTtlMs: 60_000 });

async function status(app: App, user: TestUser): Promise<number> {
  return (await app.inject({ url: "/v1/tasks", headers: user.headers })).statusCode;
}

/** Bans or unbans a user in the database only: no instance hears of it. */
async function banBehindTheCache(database: DatabaseHandle, user: TestUser, banned = true) {
  await database.db.update(userTable).set({ banned }).where(eq(userTable.id, user.id));
}

/**
 * Polls until `check` passes or `withinMs` is over: pub/sub delivery is
 * asynchronous, and a client reconnects to a restarted Redis on its own schedule.
 */
async function eventually(check: () => Promise<void>, withinMs = 1_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe("the user cache on one instance", () => {
  it("serves the row from memory only where it hears every change (PGlite: yes, Postgres without Redis: no)", async () => {
    const user = await signUp(t.app);
    expect(await status(t.app, user)).toBe(200);
    await banBehindTheCache(t.database, user);
    const cached = t.database.kind === "pglite";
    expect(await status(t.app, user)).toBe(cached ? 200 : 401);
  });

  it("drops a user's row when they edit their profile", async () => {
    const user = await signUp(t.app);
    expect(await status(t.app, user)).toBe(200);
    const patched = await t.app.inject({
      method: "PATCH",
      url: "/v1/me",
      headers: user.headers,
      payload: { timezone: "Europe/Berlin" },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await banBehindTheCache(t.database, user);
    expect(await status(t.app, user)).toBe(401);
  });

  it("drops every row after an auth action, so a ban is seen by the next request", async () => {
    const admin = await signUp(t.app, "Admin");
    await makeAdmin(t.app, admin, t.database.db);
    const target = await signUp(t.app, "Target");
    expect(await status(t.app, target)).toBe(200);
    const banned = await postAuth(t.app, "admin/ban-user", { userId: target.id }, admin.headers);
    expect(banned.statusCode, banned.body).toBe(200);
    expect(await status(t.app, target)).toBe(401);
  });
});

describe("the user cache across instances sharing Redis", () => {
  let redisServer: RedisServer;
  const clients: Redis[] = [];
  const apps: App[] = [];
  let databaseB: DatabaseHandle;

  const instance = async (database: DatabaseHandle) => {
    const redis = connectRedis(redisServer.url);
    clients.push(redis);
    const app = await buildApp({
      database,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: "http://localhost:3000",
      logLevel: process.env.TEST_LOG_LEVEL ?? "silent",
      authRateLimit: false,
      rateLimit: false,
      overload: false,
      redis,
      userCacheTtlMs: 60_000,
      now: t.clock.now,
    });
    await app.ready();
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    redisServer = await startRedisServer();
    const url = (t.database as DatabaseHandle & { url?: string }).url;
    databaseB = url ? await openDatabase({ databaseUrl: url, poolSize: 2 }) : t.database;
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const client of clients) client.disconnect();
    if (databaseB !== t.database) await databaseB.close();
    await redisServer?.kill();
  });

  it("drops a row on every instance when one of them changes it", async () => {
    const a = await instance(t.database);
    const b = await instance(databaseB);
    const admin = await signUp(a, "Admin");
    await makeAdmin(a, admin, t.database.db);
    const target = await signUp(a, "Target");
    await eventually(async () => {
      // B caches once its subscription is up: it then passes a user banned behind it.
      await banBehindTheCache(t.database, target, false);
      expect(await status(b, target)).toBe(200);
      await banBehindTheCache(t.database, target);
      expect(await status(b, target)).toBe(200);
    }, 10_000);

    // The target's own profile edit on A drops B's row: B then sees a ban made behind it.
    await banBehindTheCache(t.database, target, false);
    const patched = await a.inject({
      method: "PATCH",
      url: "/v1/me",
      headers: target.headers,
      payload: { name: "Renamed on A" },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await banBehindTheCache(t.database, target);
    await eventually(async () => expect(await status(b, target)).toBe(401));

    // And a ban through the API on A reaches B, which had the user cached.
    const other = await signUp(a, "Other");
    expect(await status(b, other)).toBe(200);
    const banned = await postAuth(a, "admin/ban-user", { userId: other.id }, admin.headers);
    expect(banned.statusCode, banned.body).toBe(200);
    await eventually(async () => expect(await status(b, other)).toBe(401));
  });

  it("reads from the database while Redis is away, and caches again once it is back", async () => {
    const b = await instance(databaseB);
    const user = await signUp(b);
    expect(await status(b, user)).toBe(200);
    await redisServer.kill();
    // Deaf to invalidations, B must not serve a row it might have missed a change to.
    await banBehindTheCache(t.database, user);
    await eventually(async () => expect(await status(b, user)).toBe(401), 10_000);

    await redisServer.restart();
    // Caching again: a fresh user each try, so a row cached in a failed try cannot linger.
    await eventually(async () => {
      const fresh = await signUp(b);
      expect(await status(b, fresh)).toBe(200);
      await banBehindTheCache(t.database, fresh);
      expect(await status(b, fresh)).toBe(200);
    }, 10_000);
  });
});
