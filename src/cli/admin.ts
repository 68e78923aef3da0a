import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { ConfigError, loadConfig } from "../config.ts";
import { setSystemRole } from "../modules/admin/service.ts";
import type { SystemRole } from "../platform/auth/schema.ts";
import type { Context } from "../platform/context.ts";
import { migrateDatabase } from "../platform/db/migrate.ts";
import { openDatabase } from "../platform/db/pool.ts";
import { DomainError } from "../platform/http/errors.ts";

const usage = "Usage: npm run admin -- create-admin <email> | remove-admin <email>";
const commands: Record<string, SystemRole> = { "create-admin": "admin", "remove-admin": "user" };

class UsageError extends Error {}

async function main(args: string[]): Promise<string> {
  const [command = "", email, ...rest] = args;
  const role = commands[command];
  if (!role || !email || rest.length > 0) throw new UsageError(usage);
  const config = loadConfig();
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
  });
  try {
    await migrateDatabase(database);
    const ctx: Context = {
      actor: { type: "system", name: "admin CLI" },
      db: database.db,
      requestId: uuidv7(),
      now: () => new Date(),
      log: pino({ level: "silent" }),
    };
    const { changed } = await setSystemRole(ctx, { email, role });
    if (!changed) return `${email} already has the ${role} role.`;
    return role === "admin"
      ? `${email} is now a system admin.`
      : `${email} is no longer a system admin.`;
  } finally {
    await database.close();
  }
}

try {
  process.stdout.write(`${await main(process.argv.slice(2))}\n`);
} catch (error) {
  const message =
    error instanceof UsageError || error instanceof ConfigError
      ? error.message
      : error instanceof DomainError && error.code === "not_found"
        ? "No user with that email: they must sign up first."
        : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
