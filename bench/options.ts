import { parseArgs } from "node:util";
import { type ScenarioName, scenarioNames } from "./scenarios.ts";

export type DatabaseKind = "pglite" | "postgres";

export type BenchOptions = {
  db: DatabaseKind;
  databaseUrl: string;
  users: number;
  tasks: number;
  /** Seconds each measured run lasts (API and baseline alike). */
  duration: number;
  /** Seconds of unmeasured load before each API run (JIT, caches, plans). */
  warmup: number;
  /** The measured time is split into this many alternating API / raw-SQL slices. */
  rounds: number;
  connections: number;
  poolSize: number;
  scenarios: ScenarioName[];
  /** Scenarios that get the second pass at half of their measured peak. */
  halfRate: ScenarioName[];
  seed: number;
  outDir: string;
  /** Write a V8 CPU profile of the server for every API run. */
  profile: boolean;
  /** Also measure the HTTP floor (bench/floor.ts) on the read scenarios. */
  floor: boolean;
  /** The app's session cache TTL (its `sessionCacheTtlMs`); the baseline mirrors it. */
  sessionCacheMs: number;
  /** The app's user cache TTL (its `userCacheTtlMs`); the baseline mirrors it. */
  userCacheMs: number;
  /** An earlier result JSON to compare latencies with (e.g. 1M tasks against 100k). */
  compare: string | undefined;
  /** The app's log level; its JSON lines go to /dev/null. */
  logLevel: "info" | "silent";
};

const usage = `Usage: npm run bench -- [options]

  --db pglite|postgres   database to run against (BENCH_DB, default postgres)
  --database-url URL     postgres server; a fresh database is created on it and
                         dropped at the end (BENCH_DATABASE_URL,
                         default postgres://postgres@127.0.0.1:5432/test)
  --users N              seeded users (BENCH_USERS, default 1000)
  --tasks N              seeded tasks (BENCH_TASKS, default 100000)
  --duration S           seconds per measured run (BENCH_DURATION, default 10)
  --warmup S             unmeasured seconds before each API run and each paced run
                         (BENCH_WARMUP, default 2)
  --rounds N             split each measured run into N slices, alternating API and
                         raw SQL, to spread background noise (BENCH_ROUNDS, default 2)
  --connections N        concurrent HTTP connections and SQL workers (BENCH_CONNECTIONS, default 10)
  --pool N               database pool size (BENCH_POOL_SIZE, default 10; PGlite is always 1)
  --scenarios LIST       comma list of ${scenarioNames.join(",")} (BENCH_SCENARIOS, default all)
  --half-rate LIST       scenarios re-run at half their peak (BENCH_HALF_RATE, default list,get)
  --seed N               random seed for the data (BENCH_SEED, default 42)
  --out DIR              results directory (BENCH_OUT, default bench/results)
  --profile              also run each scenario once under the V8 profiler and
                         summarise where the server's CPU goes (BENCH_PROFILE=1)
  --no-floor             skip the HTTP floor: a bare Fastify server sending the
                         baseline's SQL for list, get and me, driven like the API
                         (BENCH_FLOOR=0; default on)
  --session-cache-ms N   the app's session cache TTL, mirrored by the baseline
                         (BENCH_SESSION_CACHE_MS, default 300000 like the app; 0 turns it off)
  --user-cache-ms N      the app's user cache TTL, mirrored by the baseline
                         (BENCH_USER_CACHE_MS, default 300000 like the app; 0 turns it off)
  --log-level info|silent
                         the app's log level (BENCH_LOG_LEVEL, default info like
                         the app: a JSON access line per request, written to /dev/null)
  --compare FILE         an earlier results .json to compare p95 latencies with
`;

export class UsageError extends Error {}

export function integer(name: string, raw: string, min: number): number {
  const value = Number(raw.replaceAll("_", ""));
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function scenarioList(name: string, raw: string): ScenarioName[] {
  if (raw.trim() === "" || raw === "none") return [];
  const items = raw.split(",").map((item) => item.trim());
  const known = new Set<string>(scenarioNames);
  for (const item of items) {
    if (!known.has(item)) {
      throw new UsageError(`--${name}: unknown scenario "${item}" (${scenarioNames.join(", ")})`);
    }
  }
  return scenarioNames.filter((scenario) => items.includes(scenario));
}

function logLevel(raw: string): BenchOptions["logLevel"] {
  if (raw === "info" || raw === "silent") return raw;
  throw new UsageError(`--log-level must be info or silent, got "${raw}"`);
}

export function parseOptions(
  argv: string[],
  env: Record<string, string | undefined>,
): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      db: { type: "string" },
      "database-url": { type: "string" },
      users: { type: "string" },
      tasks: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      connections: { type: "string" },
      pool: { type: "string" },
      scenarios: { type: "string" },
      "half-rate": { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      profile: { type: "boolean" },
      "no-floor": { type: "boolean" },
      compare: { type: "string" },
      "session-cache-ms": { type: "string" },
      "user-cache-ms": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const pick = (flag: string | undefined, variable: string, fallback: string) =>
    flag ?? (env[variable] || fallback);
  const db = pick(values.db, "BENCH_DB", "postgres");
  if (db !== "pglite" && db !== "postgres") {
    throw new UsageError(`--db must be pglite or postgres, got "${db}"`);
  }
  const options: BenchOptions = {
    db,
    databaseUrl: pick(
      values["database-url"],
      "BENCH_DATABASE_URL",
      "postgres://postgres@127.0.0.1:5432/test",
    ),
    users: integer("users", pick(values.users, "BENCH_USERS", "1000"), 1),
    tasks: integer("tasks", pick(values.tasks, "BENCH_TASKS", "100000"), 1),
    duration: integer("duration", pick(values.duration, "BENCH_DURATION", "10"), 1),
    warmup: integer("warmup", pick(values.warmup, "BENCH_WARMUP", "2"), 0),
    rounds: integer("rounds", pick(values.rounds, "BENCH_ROUNDS", "2"), 1),
    connections: integer("connections", pick(values.connections, "BENCH_CONNECTIONS", "10"), 1),
    poolSize: integer("pool", pick(values.pool, "BENCH_POOL_SIZE", "10"), 1),
    scenarios: scenarioList(
      "scenarios",
      pick(values.scenarios, "BENCH_SCENARIOS", scenarioNames.join(",")),
    ),
    halfRate: scenarioList("half-rate", pick(values["half-rate"], "BENCH_HALF_RATE", "list,get")),
    seed: integer("seed", pick(values.seed, "BENCH_SEED", "42"), 0),
    outDir: pick(values.out, "BENCH_OUT", "bench/results"),
    profile: values.profile ?? env.BENCH_PROFILE === "1",
    floor: values["no-floor"] ? false : env.BENCH_FLOOR !== "0",
    sessionCacheMs: integer(
      "session-cache-ms",
      pick(values["session-cache-ms"], "BENCH_SESSION_CACHE_MS", "300000"),
      0,
    ),
    userCacheMs: integer(
      "user-cache-ms",
      pick(values["user-cache-ms"], "BENCH_USER_CACHE_MS", "300000"),
      0,
    ),
    compare: values.compare ?? (env.BENCH_COMPARE || undefined),
    logLevel: logLevel(pick(values["log-level"], "BENCH_LOG_LEVEL", "info")),
  };
  if (options.scenarios.length === 0) throw new UsageError("--scenarios selects nothing");
  if (options.tasks < options.users) {
    throw new UsageError("--tasks must be at least --users (every user needs a task)");
  }
  return options;
}

export { usage };
