import { randomBytes } from "node:crypto";
import pg from "pg";
import { type DatabaseHandle, openDatabase } from "../src/platform/db/pool.ts";

export type BenchDatabase = {
  database: DatabaseHandle;
  /** The throwaway Postgres database, null for PGlite. */
  name: string | null;
  /** Its connection URL, for other processes (null for PGlite, which lives in this one). */
  url: string | null;
  version: string;
  dispose: () => Promise<void>;
};

/**
 * PGlite in memory, or a fresh `taskpilot_bench_<random>` database on the
 * given Postgres server that `dispose` drops again (and SIGINT or SIGTERM
 * before that).
 */
export async function openBenchDatabase(options: {
  db: "pglite" | "postgres";
  databaseUrl: string;
  poolSize: number;
}): Promise<BenchDatabase> {
  if (options.db === "pglite") {
    const database = await openDatabase({ dataDir: "memory://" });
    const version = await database.pool.query<{ version: string }>("select version()");
    return {
      database,
      name: null,
      url: null,
      version: `PGlite 0.5 in memory (${version.rows[0]?.version ?? "unknown"}), one connection`,
      dispose: () => database.close(),
    };
  }
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  const name = `taskpilot_bench_${randomBytes(4).toString("hex")}`;
  await admin.query(`create database ${name}`);
  const url = new URL(options.databaseUrl);
  url.pathname = `/${name}`;
  let database: DatabaseHandle;
  try {
    database = await openDatabase({ databaseUrl: url.toString(), poolSize: options.poolSize });
  } catch (error) {
    await admin.query(`drop database if exists ${name}`);
    await admin.end();
    throw error;
  }
  let dropped: Promise<void> | undefined;
  const drop = () => {
    dropped ??= (async () => {
      process.removeListener("SIGINT", interrupted);
      process.removeListener("SIGTERM", interrupted);
      // `with (force)` ends the sessions still open on it (the app's, the pool's).
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    })();
    return dropped;
  };
  const dispose = async () => {
    await database.close().catch(() => {});
    await drop();
  };
  // Ctrl-C, `timeout` or `kill`: a 1M-task database left behind holds about
  // 2 GB of a shared disk. It is dropped first, while the run may still be
  // going, and the process exits once it is gone.
  function interrupted(signal: NodeJS.Signals) {
    console.error(`\n${signal}: dropping ${name}`);
    void drop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  }
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  // Two server settings that change what a run measures: whether a 1M-task
  // table fits the server's own cache, and whether anything but the seed's
  // `vacuum analyze` keeps statistics and visibility current.
  const server = await database.pool.query<{
    version: string;
    buffers: string;
    autovacuum: string;
  }>(
    "select version() as version, current_setting('shared_buffers') as buffers, current_setting('autovacuum') as autovacuum",
  );
  const settings = server.rows[0];
  return {
    database,
    name,
    url: url.toString(),
    version: `${settings?.version ?? "unknown"}, shared_buffers ${settings?.buffers ?? "?"}, autovacuum ${settings?.autovacuum ?? "?"}, pool ${options.poolSize}`,
    dispose,
  };
}
