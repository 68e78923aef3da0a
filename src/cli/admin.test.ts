import { execFile } from "node:child_process";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase } from "../../test/harness.ts";
import { processTestTimeoutMs, projectRoot, tempDir } from "../../test/server-process.ts";
import { activityEvents } from "../modules/activity/schema.ts";
import { user } from "../platform/auth/schema.ts";
import { runMigrations } from "../platform/db/migrate.ts";
import { type Database, openDatabase } from "../platform/db/pool.ts";

/**
 * The database the CLI is pointed at: a fresh one on the server when
 * DATABASE_URL is set, else a PGlite data directory of its own (PGlite
 * serves one process, so the test opens it only while the CLI is not
 * running).
 */
type CliDatabase = {
  env: Record<string, string>;
  use: <T>(work: (db: Database) => Promise<T>) => Promise<T>;
  cleanup: () => Promise<void>;
};

async function cliDatabase(): Promise<CliDatabase> {
  if (process.env.DATABASE_URL) {
    const database = await openTestDatabase();
    return {
      env: {
        DATABASE_URL: database.url ?? "",
        AUTH_SECRET: "cli-test-secret-cli-test-secret-0123",
      },
      use: (work) => work(database.db),
      cleanup: database.drop,
    };
  }
  const dir = tempDir("admin-cli");
  return {
    env: { DATA_DIR: dir.path },
    use: async (work) => {
      const database = await openDatabase({ dataDir: dir.path });
      try {
        await runMigrations(database.pool);
        return await work(database.db);
      } finally {
        await database.close();
      }
    },
    cleanup: async () => dir.remove(),
  };
}

function runCli(env: Record<string, string>, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(projectRoot, "node_modules", ".bin", "node"),
      ["src/cli/admin.ts", ...args],
      { cwd: projectRoot, env: { PATH: process.env.PATH ?? "", ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("npm run admin", () => {
  let database: CliDatabase;
  const email = `first-admin-${uuidv7()}@example.com`;
  let userId: string;

  beforeAll(async () => {
    database = await cliDatabase();
    userId = uuidv7();
    await database.use((db) => db.insert(user).values({ id: userId, name: "First Admin", email }));
  }, processTestTimeoutMs);

  afterAll(async () => {
    await database?.cleanup();
  });

  it(
    "create-admin promotes a user of the configured database, with a trail; remove-admin demotes",
    async () => {
      const promoted = await runCli(database.env, ["create-admin", email.toUpperCase()]);
      expect(promoted, promoted.stderr).toMatchObject({ code: 0 });
      expect(promoted.stdout).toMatch(/is now a system admin/);
      const again = await runCli(database.env, ["create-admin", email]);
      expect(again.stdout).toMatch(/already has the admin role/);

      const { role, events } = await database.use(async (db) => ({
        role: (await db.select({ role: user.role }).from(user).where(eq(user.id, userId)))[0]?.role,
        events: await db.select().from(activityEvents).where(eq(activityEvents.entityId, userId)),
      }));
      expect(role).toBe("admin");
      expect(events).toEqual([
        expect.objectContaining({ type: "user.role_changed", actorType: "system" }),
      ]);

      const demoted = await runCli(database.env, ["remove-admin", email]);
      expect(demoted, demoted.stderr).toMatchObject({ code: 0 });
      const after = await database.use((db) =>
        db.select({ role: user.role }).from(user).where(eq(user.id, userId)),
      );
      expect(after[0]?.role).toBe("user");
    },
    processTestTimeoutMs,
  );

  it(
    "fails with a message for an unknown email or a wrong command",
    async () => {
      const unknown = await runCli(database.env, ["create-admin", "nobody@example.com"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/No user with that email/);
      const usage = await runCli(database.env, ["make-admin", email]);
      expect(usage.code).toBe(1);
      expect(usage.stderr).toMatch(/^Usage: npm run admin -- create-admin <email>/);
    },
    processTestTimeoutMs,
  );
});
