import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type pg from "pg";

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

/** True when every migration in the folder has been recorded as applied. */
export async function migrationsApplied(pool: pg.Pool, expected: number): Promise<boolean> {
  const result = await pool.query<{ count: number }>(
    "select count(*)::int as count from drizzle.__drizzle_migrations",
  );
  return (result.rows[0]?.count ?? 0) >= expected;
}
