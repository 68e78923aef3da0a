import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { type App, type AppDeps, buildApp } from "../src/app.ts";
import { runMigrations } from "../src/platform/db/migrate.ts";
import {
  type DatabaseHandle,
  type DatabaseOptions,
  openDatabase,
} from "../src/platform/db/pool.ts";

/** Pool settings a test may narrow (overload tests: one connection, short waits). */
export type TestPoolOptions = Pick<
  DatabaseOptions,
  "poolSize" | "poolTimeoutMs" | "statementTimeoutMs" | "optionalExtensions"
>;

/**
 * A fresh database for one test file: in-memory PGlite by default, or a new
 * database created on the server named by DATABASE_URL (dropped afterwards).
 * `migrate: false` leaves it empty; `url` is set for a server database.
 * `embedded: true` always uses PGlite, for features the server lacks
 * (pgvector): their fallback on the server is tested separately.
 * `server: true` always uses the machine's server, for what PGlite's one
 * connection cannot show (transactions open side by side).
 */
export async function openTestDatabase(
  options: { migrate?: boolean; pool?: TestPoolOptions; embedded?: boolean; server?: boolean } = {},
): Promise<DatabaseHandle & { drop: () => Promise<void>; url?: string }> {
  const migrate = options.migrate ?? true;
  const serverUrl = options.embedded
    ? undefined
    : options.server
      ? serverDatabaseUrl()
      : process.env.DATABASE_URL;
  if (!serverUrl) {
    const handle = await openDatabase({ dataDir: "memory://", ...options.pool });
    if (migrate) await runMigrations(handle.pool);
    return { ...handle, drop: handle.close };
  }
  const name = `taskpilot_test_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), poolSize: 5, ...options.pool });
  if (migrate) await runMigrations(handle.pool);
  return {
    ...handle,
    url: url.toString(),
    drop: async () => {
      await handle.close();
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** A clock tests can set and move; verbs read it through ctx.now. */
/**
 * The machine's Postgres server, for tests of what only a server has (a
 * connection that can drop). In the Postgres run it is the run's server.
 */
export function serverDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
}

export class TestClock {
  current: Date;
  constructor(start: string | Date = new Date()) {
    this.current = new Date(start);
  }
  now = () => new Date(this.current);
  set(instant: string | Date) {
    this.current = new Date(instant);
  }
  advance(milliseconds: number) {
    this.current = new Date(this.current.getTime() + milliseconds);
  }
}

export type TestContext = { app: App; database: DatabaseHandle; clock: TestClock };

export type TestAppOptions = {
  now?: string | Date;
  authRateLimit?: boolean;
  /** The app's public URL; an https one turns on secure cookies. */
  publicUrl?: string;
  /**
   * The platform's request limits and load shedding are off by default:
   * tests mint many users from one address and run on a busy machine.
   * Tests of those features pass their own (small) settings.
   */
  rateLimit?: AppDeps["rateLimit"];
  overload?: AppDeps["overload"];
  trustProxy?: string[];
  corsOrigins?: string[];
  metricsToken?: string;
  events?: AppDeps["events"];
  webhooks?: AppDeps["webhooks"];
  notifications?: AppDeps["notifications"];
  redis?: AppDeps["redis"];
  /** The user cache's TTL (default: the app's). */
  userCacheTtlMs?: number;
  /** `server: true`: the machine's Postgres in both modes (see openTestDatabase). */
  database?: TestPoolOptions & { embedded?: boolean; server?: boolean };
  /**
   * The embedding worker is off by default: it would write ledger rows in the
   * background of unrelated tests. Search tests drain it by hand or turn it on.
   */
  search?: AppDeps["search"];
  /** Runs after buildApp and before ready, e.g. to add a test-only route. */
  configure?: (app: App) => void | Promise<void>;
};

/** Builds the app on a fresh database once per test file and tears it down after. */
export function useTestApp(options: TestAppOptions = {}) {
  const context = {} as TestContext;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const { embedded, server, ...pool } = options.database ?? {};
    const database = await openTestDatabase({ pool, embedded, server });
    drop = database.drop;
    const clock = new TestClock(options.now);
    const app = await buildApp({
      database,
      checkResponses: true,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: options.publicUrl ?? "http://localhost:3000",
      logLevel: process.env.TEST_LOG_LEVEL ?? "silent",
      authRateLimit: options.authRateLimit ?? false,
      rateLimit: options.rateLimit ?? false,
      overload: options.overload ?? false,
      trustProxy: options.trustProxy,
      corsOrigins: options.corsOrigins,
      metricsToken: options.metricsToken,
      events: options.events,
      webhooks: options.webhooks,
      notifications: { pollMs: 100, ...options.notifications },
      redis: options.redis,
      userCacheTtlMs: options.userCacheTtlMs,
      search: { worker: false, ...options.search },
      now: clock.now,
    });
    await options.configure?.(app);
    await app.ready();
    Object.assign(context, { app, database, clock });
  });
  afterAll(async () => {
    await context.app?.close();
    await drop();
  });
  return context;
}

/**
 * A second app instance on the first one's database, as behind a load
 * balancer: on the Postgres server through its own pool; PGlite allows one
 * connection, so there the two share it. Built once per file, closed after.
 */
export function useSecondInstance(first: TestContext, deps: Partial<AppDeps> = {}) {
  const second = {} as { app: App };
  let ownDatabase: DatabaseHandle | undefined;
  beforeAll(async () => {
    const url = (first.database as DatabaseHandle & { url?: string }).url;
    ownDatabase = url ? await openDatabase({ databaseUrl: url, poolSize: 2 }) : undefined;
    second.app = await buildApp({
      database: ownDatabase ?? first.database,
      checkResponses: true,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: "http://localhost:3000",
      logLevel: process.env.TEST_LOG_LEVEL ?? "silent",
      authRateLimit: false,
      now: first.clock.now,
      ...deps,
    });
    await second.app.ready();
  });
  afterAll(async () => {
    await second.app?.close();
    await ownDatabase?.close();
  });
  return second;
}

export type TestUser = {
  id: string;
  email: string;
  token: string;
  headers: { authorization: string };
};

/**
 * Signs up a brand-new user through the real auth endpoint, from
 * `remoteAddress` when given (tests of per-address limits).
 */
export async function signUp(
  app: App,
  name = "Test User",
  options: { remoteAddress?: string } = {},
): Promise<TestUser> {
  const email = `user-${randomUUID()}@example.com`;
  const response = await app.inject({
    method: "POST",
    url: "/api/auth/sign-up/email",
    payload: { name, email, password: "correct horse battery staple" },
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
  if (response.statusCode !== 200) {
    throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  }
  const body = response.json<{ token: string; user: { id: string } }>();
  return {
    id: body.user.id,
    email,
    token: body.token,
    headers: { authorization: `Bearer ${body.token}` },
  };
}
