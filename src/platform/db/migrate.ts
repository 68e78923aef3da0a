import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { DatabaseHandle } from "./pool.ts";

export const migrationsFolder = fileURLToPath(new URL("../../../migrations", import.meta.url));

// Any constant works; it only has to be the same for every Taskpilot process.
const migrationLockKey = 7_266_019_481;

/**
 * Applies pending migrations. Several processes may start at once against the
 * same server, so the whole run happens under a session advisory lock: the
 * first one migrates, the others wait and then find nothing to do.
 */
export async function runMigrations(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [migrationLockKey]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock($1)", [migrationLockKey]);
    }
  } finally {
    client.release();
  }
}

/**
 * Applies pending migrations over the database's direct URL when it has one
 * (DATABASE_DIRECT_URL: a session advisory lock does not hold through a
 * transaction-pooling proxy), else over its pool.
 */
export async function migrateDatabase(database: DatabaseHandle): Promise<void> {
  if (!database.directUrl) return runMigrations(database.pool);
  const direct = new pg.Pool({
    connectionString: database.directUrl,
    max: 1,
    application_name: "taskpilot-migrate",
  });
  try {
    await runMigrations(direct);
  } finally {
    await direct.end();
  }
}

/** True when every migration in the folder has been recorded as applied. */
export async function migrationsApplied(pool: pg.Pool, expected: number): Promise<boolean> {
  const result = await pool.query<{ count: number }>(
    "select count(*)::int as count from drizzle.__drizzle_migrations",
  );
  return (result.rows[0]?.count ?? 0) >= expected;
}
