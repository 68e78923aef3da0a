import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Extensions, PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { createPgConfig, PglitePgConnection } from "@electric-sql/pglite/node-postgres";
import { vector } from "@electric-sql/pglite-pgvector";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import { type Listener, type ListenHandlers, listenPglite, listenPostgres } from "./listen.ts";
import { parseTimestamptz } from "./timestamps.ts";

export type Database = NodePgDatabase;

export type DatabaseHandle = {
  pool: pg.Pool;
  db: Database;
  kind: "pglite" | "postgres";
  /**
   * Subscribes to NOTIFY on `channel` over a connection of its own (see
   * listen.ts); `log` hears about lost connections.
   */
  listen: (
    channel: string,
    handlers: ListenHandlers,
    log: { warn: (object: object, message: string) => void },
  ) => Promise<Listener>;
  close: () => Promise<void>;
  /** Set when sessions (LISTEN, migrations) must bypass the pool's URL (DatabaseOptions). */
  directUrl?: string;
};

export type DatabaseOptions = {
  databaseUrl?: string | undefined;
  /**
   * The server itself, for what needs a session of its own: LISTEN and the
   * migrations' advisory lock (default: databaseUrl). Behind a
   * transaction-pooling proxy (PgBouncer in transaction mode) neither works:
   * the proxy accepts LISTEN but never delivers the notifications, and hands
   * a session lock's statements to different server connections.
   */
  directUrl?: string | undefined;
  /** Directory for the embedded database, or "memory://" for a throwaway one. */
  dataDir?: string | undefined;
  poolSize?: number;
  /**
   * How long a query may wait for a free connection before it fails (and the
   * request answers 503) instead of queueing without end. Default 5 s.
   */
  poolTimeoutMs?: number;
  /**
   * Server-side limit on any one statement (Postgres `statement_timeout`);
   * 0 means none. PGlite cannot interrupt a running statement, so embedded
   * mode ignores it. Default 30 s.
   */
  statementTimeoutMs?: number;
  /**
   * Embedded mode loads PGlite's optional extensions (pgvector for semantic
   * search, pg_trgm for typo-tolerant search) unless this is false, which
   * makes it look like a server without them (tests of the fallback).
   */
  optionalExtensions?: boolean;
};

// count(*) and other bigints arrive as strings by default; our counts fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, parseTimestamptz);

/**
 * The single database code path: everything (Drizzle, better-auth, raw SQL)
 * talks to a node-postgres Pool. In embedded mode that pool is backed by
 * PGlite, which serves one connection at a time.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.poolTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      application_name: "taskpilot",
    });
    const directUrl = options.directUrl;
    const listenUrl = directUrl ?? options.databaseUrl;
    return {
      ...wrap(
        pool,
        "postgres",
        () => pool.end(),
        (channel, handlers, log) => listenPostgres(listenUrl, channel, handlers, log),
      ),
      ...(directUrl ? { directUrl } : {}),
    };
  }
  const dataDir = options.dataDir ?? "./data";
  const location = dataDir.startsWith("memory://") ? dataDir : join(dataDir, "pg");
  if (!location.startsWith("memory://")) mkdirSync(location, { recursive: true });
  const extensions: Extensions = options.optionalExtensions === false ? {} : { vector, pg_trgm };
  const pglite = await PGlite.create(location, { extensions });
  const pool = new pg.Pool({
    ...createPgConfig(pglite),
    max: 1,
    connectionTimeoutMillis: options.poolTimeoutMs ?? 5_000,
    Client: pgliteClient(pglite),
  });
  return wrap(
    pool,
    "pglite",
    async () => {
      await pool.end();
      await pglite.close();
    },
    (channel, handlers) => listenPglite(pglite, channel, handlers),
  );
}

function wrap(
  pool: pg.Pool,
  kind: DatabaseHandle["kind"],
  close: () => Promise<void>,
  listen: DatabaseHandle["listen"],
): DatabaseHandle {
  // An idle client that errors (server restart, network) must not crash the process.
  pool.on("error", () => {});
  return { pool, db: drizzle({ client: pool }), kind, listen, close };
}

/**
 * node-postgres lets a query carry `types` (custom type parsers; Drizzle
 * always sends them), and its own wire serializer ignores that object when
 * writing Parse. PGlite's bridge (0.5.17) instead reads `types` as an array of
 * parameter type OIDs and throws "types.forEach is not a function", so we
 * strip anything that is not such an array before it reaches the bridge.
 */
/**
 * A pg.Client class whose every instance gets its own bridge connection.
 * createPgConfig hands out ONE shared connection object; when the pool
 * discards a client after a failed query, that client's delayed teardown
 * kills the shared connection under its replacement ("Connection terminated
 * unexpectedly", then wrong rows).
 *
 * Every client still talks to the same single PGlite session, so the named
 * statements a discarded client prepared outlive it; its replacement knows
 * none of them and would fail on Parse with 42P05 ("prepared statement ...
 * already exists") from then on. A new client therefore starts by dropping
 * them (DEALLOCATE, not DISCARD ALL: that would also end the session's
 * LISTENs, which listen.ts holds on the same session).
 */
type ConnectCallback = ((error: Error) => void) | ((error: null, client: pg.Client) => void);

function pgliteClient(pglite: PGlite): typeof pg.Client {
  return class PgliteClient extends pg.Client {
    constructor(options: pg.ClientConfig) {
      const connection = new PglitePgConnection({ pglite });
      acceptTypeParserOverrides(connection);
      super({ ...options, connection } as pg.ClientConfig);
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | undefined {
      const ready = super.connect().then(async () => {
        await this.query("deallocate all");
        return this;
      });
      if (!callback) return ready;
      ready.then(
        (client) => (callback as (error: null, client: pg.Client) => void)(null, client),
        (error: Error) => (callback as (error: Error) => void)(error),
      );
      return undefined;
    }
  };
}

function acceptTypeParserOverrides(connection: { parse: (query: { types?: unknown }) => void }) {
  const parse = connection.parse.bind(connection);
  connection.parse = (query) => {
    parse(Array.isArray(query.types) ? query : { ...query, types: undefined });
  };
}
