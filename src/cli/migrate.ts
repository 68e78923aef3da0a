import { ConfigError, loadConfig } from "../config.ts";
import { runMigrations } from "../platform/db/migrate.ts";
import { openDatabase } from "../platform/db/pool.ts";

try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await runMigrations(database.pool);
  await database.close();
  console.log(`Migrations applied (${database.kind}).`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
