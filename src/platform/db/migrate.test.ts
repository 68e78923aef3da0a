import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openTestDatabase, serverDatabaseUrl } from "../../../test/harness.ts";
import { buildApp } from "../../app.ts";
import { migrateDatabase, migrationsApplied, migrationsFolder, runMigrations } from "./migrate.ts";
import { type DatabaseHandle, openDatabase } from "./pool.ts";

const journalEntries = (
  JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  }
).entries.length;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function once(work: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= work();
    return done;
  };
}

async function emptyDatabase() {
  const database = await openTestDatabase({ migrate: false });
  cleanups.push(database.drop);
  return database;
}

async function appOn(database: DatabaseHandle) {
  const app = await buildApp({
    database,
    authSecret: "test-secret-test-secret-test-secret-0123",
    publicUrl: "http://localhost:3000",
    logLevel: "silent",
    // A loaded machine must not turn answers into load-shedding 503s.
    overload: false,
    authRateLimit: false,
  });
  cleanups.push(() => app.close());
  return app;
}

async function appliedCount(database: DatabaseHandle): Promise<number> {
  const result = await database.pool.query<{ count: number }>(
    "select count(*)::int as count from drizzle.__drizzle_migrations",
  );
  return result.rows[0]?.count ?? -1;
}

// Every test opens its own database, which takes seconds on PGlite.
describe("runMigrations", { timeout: 60_000 }, () => {
  it("applies every migration in the journal to an empty database", async () => {
    const database = await emptyDatabase();
    expect(await migrationsApplied(database.pool, journalEntries).catch(() => false)).toBe(false);
    await runMigrations(database.pool);
    expect(await appliedCount(database)).toBe(journalEntries);
    expect(await migrationsApplied(database.pool, journalEntries)).toBe(true);
  });

  it("is a no-op the second time", async () => {
    const database = await emptyDatabase();
    await runMigrations(database.pool);
    await runMigrations(database.pool);
    expect(await appliedCount(database)).toBe(journalEntries);
  });

  it("survives two processes migrating the same fresh database at once", async () => {
    const database = await emptyDatabase();
    if (database.url) {
      // A second pool stands in for a second process: its own connections,
      // serialised only by the advisory lock.
      const second = await openDatabase({ databaseUrl: database.url, poolSize: 2 });
      cleanups.push(second.close);
      await Promise.all([runMigrations(database.pool), runMigrations(second.pool)]);
    } else {
      // PGlite is single-connection and single-process: both runs share it.
      await Promise.all([runMigrations(database.pool), runMigrations(database.pool)]);
    }
    expect(await appliedCount(database)).toBe(journalEntries);
  });
});

/**
 * Behind a transaction-pooling proxy a session advisory lock does not hold,
 * so migrations go to DATABASE_DIRECT_URL. Against the machine's server in
 * both test modes: PGlite has no second URL.
 */
describe("migrateDatabase with a direct URL", { timeout: 60_000 }, () => {
  async function serverDatabase(): Promise<string> {
    const name = `taskpilot_test_${randomUUID().replaceAll("-", "")}`;
    const admin = new pg.Client({ connectionString: serverDatabaseUrl() });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    cleanups.push(async () => {
      const cleanup = new pg.Client({ connectionString: serverDatabaseUrl() });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    });
    const url = new URL(serverDatabaseUrl());
    url.pathname = `/${name}`;
    return url.toString();
  }

  it("migrates over the direct URL, not the pool's", async () => {
    const url = await serverDatabase();
    // Nothing listens on port 1: migrating over the pool would succeed.
    const unreachable = await openDatabase({
      databaseUrl: url,
      directUrl: "postgres://postgres@127.0.0.1:1/test",
      poolSize: 1,
    });
    cleanups.push(unreachable.close);
    await expect(migrateDatabase(unreachable)).rejects.toThrow(/ECONNREFUSED/);
    const untouched = await unreachable.pool.query<{ table: string | null }>(
      "select to_regclass('drizzle.__drizzle_migrations')::text as table",
    );
    expect(untouched.rows).toEqual([{ table: null }]);

    const direct = await openDatabase({ databaseUrl: url, directUrl: url, poolSize: 1 });
    cleanups.push(direct.close);
    await migrateDatabase(direct);
    expect(await appliedCount(direct)).toBe(journalEntries);
    // Its own pool is closed afterwards: only the handle's pool remains connected.
    const { rows } = await direct.pool.query<{ count: number }>(
      "select count(*)::int as count from pg_stat_activity where application_name = 'taskpilot-migrate' and datname = current_database()",
    );
    expect(rows).toEqual([{ count: 0 }]);
  });
});

describe("GET /readyz", { timeout: 60_000 }, () => {
  it("answers 503 problem+json with Retry-After before migrations, and 200 after", async () => {
    const database = await emptyDatabase();
    const app = await appOn(database);

    const before = await app.inject({ url: "/readyz" });
    expect(before.statusCode).toBe(503);
    expect(before.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(before.headers["retry-after"]).toBe("5");
    expect(before.json()).toMatchObject({ status: 503, code: "unavailable" });
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);

    await runMigrations(database.pool);
    const after = await app.inject({ url: "/readyz" });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: "ready", database: "ok", features: expect.any(Object) });
  });

  it("answers 503 once the database has gone away, while /healthz stays 200", async () => {
    const database = await openTestDatabase();
    const drop = once(database.drop);
    cleanups.push(drop);
    const app = await appOn(database);
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
    await drop();
    const response = await app.inject({ url: "/readyz" });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: "unavailable" });
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
  });
});
