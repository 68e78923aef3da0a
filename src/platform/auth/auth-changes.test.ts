import { afterAll, afterEach, describe, expect, it } from "vitest";
import { makeAdmin, postAuth } from "../../../test/auth-helpers.ts";
import {
  serverDatabaseUrl,
  signUp,
  type TestUser,
  useSecondInstance,
  useTestApp,
} from "../../../test/harness.ts";
import type { App } from "../../app.ts";
import { type ChangeFeed, changesChannel, startChangeFeed } from "../db/change-feed.ts";
import { type DatabaseHandle, openDatabase } from "../db/pool.ts";
import { followAuthChanges } from "./auth-changes.ts";
import { SessionCache } from "./session-cache.ts";
import { UserCache } from "./user-cache.ts";

/**
 * Every instance serves known session credentials and user rows from memory
 * and hears every change to them from the database (triggers + NOTIFY).
 * To show that an answer came from memory, these tests change rows
 * *silently*: with triggers off for one transaction, as replication does, so
 * nothing is announced. A request that still passes was served from memory.
 */
const t = useTestApp({ userCacheTtlMs: 60_000 });
const b = useSecondInstance(t, { userCacheTtlMs: 60_000 });

async function status(app: App, user: TestUser): Promise<number> {
  return (await app.inject({ url: "/v1/tasks", headers: user.headers })).statusCode;
}

async function silently(database: DatabaseHandle, statement: string, values: unknown[]) {
  const client = await database.pool.connect();
  try {
    await client.query("begin");
    await client.query("set local session_replication_role = replica");
    await client.query(statement, values);
    await client.query("commit");
  } finally {
    client.release();
  }
}

const banSilently = (user: TestUser, banned = true) =>
  silently(t.database, `update "user" set banned = $1 where id = $2`, [banned, user.id]);

/** Polls until `check` passes or `withinMs` is over: notifications arrive asynchronously. */
async function eventually(check: () => Promise<void>, withinMs = 2_000): Promise<void> {
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

describe("the auth caches on one instance", () => {
  it("serve a known session and user from memory", async () => {
    const user = await signUp(t.app);
    expect(await status(t.app, user)).toBe(200);
    await banSilently(user);
    expect(await status(t.app, user)).toBe(200);
  });

  it("hear a user changed by hand in SQL", async () => {
    const user = await signUp(t.app);
    expect(await status(t.app, user)).toBe(200);
    await t.database.pool.query(`update "user" set banned = true where id = $1`, [user.id]);
    await eventually(async () => expect(await status(t.app, user)).toBe(401));
  });

  it("hear a session deleted by hand in SQL", async () => {
    const user = await signUp(t.app);
    expect(await status(t.app, user)).toBe(200);
    await t.database.pool.query(`delete from "session" where user_id = $1`, [user.id]);
    await eventually(async () => expect(await status(t.app, user)).toBe(401));
  });

  it("drop a user's row at once when they edit their profile", async () => {
    const user = await signUp(t.app);
    expect(await status(t.app, user)).toBe(200);
    const patched = await t.app.inject({
      method: "PATCH",
      url: "/v1/me",
      headers: user.headers,
      payload: { timezone: "Europe/Berlin" },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await banSilently(user);
    expect(await status(t.app, user)).toBe(401);
  });

  it("drop everything at once after an auth action, so a ban is seen by the next request", async () => {
    const admin = await signUp(t.app, "Admin");
    await makeAdmin(t.app, admin, t.database.db);
    const target = await signUp(t.app, "Target");
    expect(await status(t.app, target)).toBe(200);
    const banned = await postAuth(t.app, "admin/ban-user", { userId: target.id }, admin.headers);
    expect(banned.statusCode, banned.body).toBe(200);
    expect(await status(t.app, target)).toBe(401);
  });
});

describe("the auth caches across instances", () => {
  it("a ban made through one instance reaches the other's memory", async () => {
    const admin = await signUp(t.app, "Admin");
    await makeAdmin(t.app, admin, t.database.db);
    const target = await signUp(t.app, "Target");
    expect(await status(b.app, target)).toBe(200);
    // B serves the target from memory...
    await banSilently(target);
    expect(await status(b.app, target)).toBe(200);
    await banSilently(target, false);
    // ...until A bans them: B hears it from the database.
    const banned = await postAuth(t.app, "admin/ban-user", { userId: target.id }, admin.headers);
    expect(banned.statusCode, banned.body).toBe(200);
    await eventually(async () => expect(await status(b.app, target)).toBe(401));
  });

  it("a session signed out on one instance stops working on the other", async () => {
    const user = await signUp(t.app);
    expect(await status(b.app, user)).toBe(200);
    const out = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-out",
      headers: { ...user.headers, origin: "http://localhost:3000" },
    });
    expect(out.statusCode, out.body).toBe(200);
    expect(await status(t.app, user)).toBe(401);
    await eventually(async () => expect(await status(b.app, user)).toBe(401));
  });
});

/**
 * The listening connection to a Postgres server can drop (restart,
 * failover, a terminated backend); these run against the machine's server
 * in both test modes, because embedded PGlite has no connection to lose.
 */
describe("losing the Postgres LISTEN connection", () => {
  let database: DatabaseHandle;
  let changes: ChangeFeed | undefined;
  const sessions = new SessionCache({ ttlMs: 60_000 });
  const users = new UserCache({ ttlMs: 60_000 });
  const log = { warn: () => {}, info: () => {} };
  const row = (userId: string) => ({
    userId,
    name: "N",
    email: "n@example.com",
    timezone: "UTC",
    banned: false,
    banExpires: null,
  });

  afterEach(async () => {
    await changes?.close();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("serves nothing while deaf, and caches again once it listens again", async () => {
    database = await openDatabase({ databaseUrl: serverDatabaseUrl(), poolSize: 1 });
    changes = await startChangeFeed(database, log);
    followAuthChanges(changes, { sessions, users });
    expect(changes.listening).toBe(true);
    users.remember(row("u1"), users.generation);
    sessions.remember("Bearer x", "u1", Date.now() + 60_000, Date.now(), sessions.generation);
    expect(users.get("u1")?.userId).toBe("u1");

    // A notification on the channel drops the user and their credentials.
    await database.pool.query("select pg_notify($1, $2)", [changesChannel, "user:u1"]);
    await eventually(async () => {
      expect(users.get("u1")).toBeUndefined();
      expect(sessions.get("Bearer x", Date.now())).toBeUndefined();
    });

    users.remember(row("u2"), users.generation);
    const { rows } = await database.pool.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where application_name = 'taskpilot-listen' and query = $1 and pid <> pg_backend_pid()`,
      [`listen ${changesChannel}`],
    );
    expect(rows.length).toBeGreaterThan(0);
    // Terminate every listener on the server: other test files' instances reconnect too.
    await database.pool.query("select pg_terminate_backend(pid) from unnest($1::int[]) pid", [
      rows.map((r) => r.pid),
    ]);
    await eventually(async () => expect(changes?.listening).toBe(false));
    expect(users.serving).toBe(false);
    expect(users.get("u2")).toBeUndefined();
    users.remember(row("u3"), users.generation);
    expect(users.get("u3")).toBeUndefined();

    // Back (the first retry comes after 0.5 s): serving again, from empty.
    await eventually(async () => expect(changes?.listening).toBe(true), 5_000);
    expect(users.get("u2")).toBeUndefined();
    users.remember(row("u3"), users.generation);
    expect(users.get("u3")?.userId).toBe("u3");
    await database.pool.query("select pg_notify($1, $2)", [changesChannel, "session:u9"]);
    await database.pool.query("select pg_notify($1, $2)", [changesChannel, "user:u3"]);
    await eventually(async () => expect(users.get("u3")).toBeUndefined());
  });
});

/**
 * Behind a transaction-pooling proxy the pool's URL cannot LISTEN, so the
 * feed connects to DATABASE_DIRECT_URL (the server itself) instead.
 */
describe("a direct URL beside a pooler's", () => {
  let database: DatabaseHandle | undefined;
  let changes: ChangeFeed | undefined;
  const log = { warn: () => {}, info: () => {} };

  afterEach(async () => {
    await changes?.close();
    await database?.close();
  });

  it("listens there, not on the pool's URL", async () => {
    // Nothing listens on port 1: a feed on the pool's URL would be listening.
    database = await openDatabase({
      databaseUrl: serverDatabaseUrl(),
      directUrl: "postgres://postgres@127.0.0.1:1/test",
      poolSize: 1,
    });
    changes = await startChangeFeed(database, log);
    expect(changes.listening).toBe(false);
    const users = new UserCache({ ttlMs: 60_000 });
    followAuthChanges(changes, { sessions: new SessionCache({ ttlMs: 60_000 }), users });
    users.remember(
      {
        userId: "u1",
        name: "N",
        email: "n@example.com",
        timezone: "UTC",
        banned: false,
        banExpires: null,
      },
      users.generation,
    );
    // Deaf, so nothing is served, while the pool answers queries as usual.
    expect(users.get("u1")).toBeUndefined();
    expect((await database.pool.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
  });

  it("hears notifications sent through the pool", async () => {
    database = await openDatabase({
      databaseUrl: serverDatabaseUrl(),
      directUrl: serverDatabaseUrl(),
      poolSize: 1,
    });
    changes = await startChangeFeed(database, log);
    expect(changes.listening).toBe(true);
    const sessions = new SessionCache({ ttlMs: 60_000 });
    followAuthChanges(changes, { sessions, users: new UserCache({ ttlMs: 60_000 }) });
    sessions.remember("Bearer y", "u7", Date.now() + 60_000, Date.now(), sessions.generation);
    expect(sessions.get("Bearer y", Date.now())).toBe("u7");
    await database.pool.query("select pg_notify($1, $2)", [changesChannel, "session:u7"]);
    await eventually(async () => expect(sessions.get("Bearer y", Date.now())).toBeUndefined());
  });
});
