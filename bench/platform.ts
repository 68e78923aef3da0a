/**
 * npm run bench:platform — what the API platform costs on `GET /v1/tasks/{id}`,
 * and what the user cache gives back. Three servers of the same app on one
 * seeded database, loaded in alternating slices so all see the same noise:
 *
 *   bare               no request limits, no user cache (each request reads its user)
 *   platform           request limits counted in Redis, idempotency and caching
 *                      hooks, load shedding, the user cache (invalidated by Postgres NOTIFY)
 *   platform, no cache the same without the user cache
 *
 * Targets (issue 6): platform p95 within 15% of bare; the user cache raises
 * throughput measurably (platform vs platform, no cache).
 *
 *   --db postgres|pglite  (default postgres; PGlite has one connection)
 *   --users N --tasks N   seeded data (default 1000 / 100000)
 *   --seconds S --rounds R --connections C   (default 6 / 3 / 10)
 *   REDIS_URL             Redis for the limits and the cache (default redis://127.0.0.1:6379)
 */
import "../src/platform/runtime.ts";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { type App, buildApp } from "../src/app.ts";
import { connectRedis, type Redis } from "../src/platform/cache/redis.ts";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { logDestination } from "../src/platform/observability/logger.ts";
import { parseFlags } from "./cli.ts";
import { openBenchDatabase } from "./database.ts";
import { type LoadResult, mergeLoads, runLoad } from "./load.ts";
import { describeMachine } from "./report.ts";
import type { LoadUser } from "./scenarios.ts";
import { seedDatabase } from "./seed.ts";
import { round } from "./stats.ts";

const flags = parseFlags(
  "npm run bench:platform [-- --db postgres|pglite --users 1000 --tasks 100000 --seconds 6 --rounds 3 --connections 10]",
  {
    options: {
      db: { type: "string", default: "postgres" },
      users: { type: "string", default: "1000" },
      tasks: { type: "string", default: "100000" },
      seconds: { type: "string", default: "6" },
      rounds: { type: "string", default: "3" },
      connections: { type: "string", default: "10" },
    },
  },
);
const { values } = flags;
const db = flags.choice("db", values.db, ["postgres", "pglite"]);
const seconds = flags.integer("seconds", values.seconds);
const rounds = flags.integer("rounds", values.rounds);
const connections = flags.integer("connections", values.connections);
const userCount = flags.integer("users", values.users);
const taskCount = flags.integer("tasks", values.tasks);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const log = (message: string) => process.stderr.write(`${message}\n`);

type Config = { name: string; platform: boolean; userCache: boolean };
const configs: Config[] = [
  { name: "bare", platform: false, userCache: false },
  { name: "platform", platform: true, userCache: true },
  { name: "platform, no user cache", platform: true, userCache: false },
];

const bench = await openBenchDatabase({
  db,
  databaseUrl: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  poolSize: 10,
});
const redisClients: Redis[] = [];
const apps: App[] = [];
const loadSamples: number[] = [];
const sampler = setInterval(() => loadSamples.push(loadavg()[0] ?? 0), 5_000);
try {
  await runMigrations(bench.database.pool);
  log(`seeding ${values.users} users and ${values.tasks} tasks on ${bench.version}`);
  const seed = await seedDatabase(
    bench.database.pool,
    { users: userCount, tasks: taskCount, seed: 42 },
    log,
  );
  const users: LoadUser[] = seed.users.map((user) => ({
    token: user.token,
    taskIds: user.taskIds,
  }));

  const urls = new Map<string, string>();
  for (const config of configs) {
    const redis = config.platform ? connectRedis(redisUrl) : undefined;
    if (redis) redisClients.push(redis);
    const app = await buildApp({
      database: bench.database,
      authSecret: randomBytes(32).toString("base64url"),
      publicUrl: "http://127.0.0.1",
      // Logged as `npm start` logs (a JSON access line per request), to
      // /dev/null through the app's asynchronous pino destination, as in bench/run.ts.
      logLevel: "info",
      logStream: logDestination("/dev/null"),
      authRateLimit: false,
      redis,
      // Real limits, set high enough that no request is refused: the bench
      // measures what counting costs, not what refusing does (one address
      // plays every user).
      rateLimit: config.platform
        ? {
            windowMs: 60_000,
            anonymous: 1_000_000,
            user: 1_000_000,
            apiKey: 1_000_000,
            auth: 1_000_000,
            ai: 1_000_000,
            keyPrefix: `bench:${randomBytes(4).toString("hex")}:`,
          }
        : false,
      overload: config.platform ? undefined : false,
      userCacheTtlMs: config.userCache ? 300_000 : 0,
    });
    apps.push(app);
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    urls.set(config.name, `http://127.0.0.1:${address.port}`);
  }

  const runs = new Map<string, LoadResult[]>(configs.map((config) => [config.name, []]));
  let offset = 0;
  const nextOffset = () => {
    offset += 10_000_000;
    return offset;
  };
  // Warm-up: every server sees every user once (session and user caches filled).
  for (const config of configs) {
    await runLoad({
      url: urls.get(config.name) ?? "",
      scenario: "get",
      users,
      seconds: 2,
      connections,
      offset: nextOffset(),
      mode: { kind: "closed" },
    });
  }
  for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
    // Rotate the order each round so no configuration always runs first.
    const order = configs.map((_, i) => configs[(i + roundIndex) % configs.length] as Config);
    for (const config of order) {
      const result = await runLoad({
        url: urls.get(config.name) ?? "",
        scenario: "get",
        users,
        seconds,
        connections,
        offset: nextOffset(),
        mode: { kind: "closed" },
      });
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${config.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      }
      runs.get(config.name)?.push(result);
      log(
        `round ${roundIndex + 1} ${config.name.padEnd(24)} ${Math.round(result.perSecond)} req/s  p95 ${result.latency.p95.toFixed(2)} ms`,
      );
    }
  }

  const merged = configs.map((config) => {
    const result = mergeLoads(runs.get(config.name) ?? []);
    return {
      config: config.name,
      requestsPerSecond: Math.round(result.perSecond),
      p50: round(result.latency.p50, 2),
      p95: round(result.latency.p95, 2),
      p99: round(result.latency.p99, 2),
      requests: result.ok,
    };
  });
  const [bare, platform, noCache] = merged;
  if (!bare || !platform || !noCache) throw new Error("missing results");
  const p95Ratio = round(platform.p95 / bare.p95, 3);
  const cacheGain = round(platform.requestsPerSecond / noCache.requestsPerSecond, 3);
  const machine = describeMachine(bench.version);
  const load = loadSamples.length
    ? {
        min: round(Math.min(...loadSamples), 2),
        mean: round(loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length, 2),
        max: round(Math.max(...loadSamples), 2),
      }
    : undefined;
  const report = {
    bench: "platform",
    date: new Date().toISOString(),
    machine: { ...machine, loadAverage1m: load },
    parameters: { db, users: values.users, tasks: values.tasks, seconds, rounds, connections },
    scenario: "GET /v1/tasks/{id}, closed loop",
    results: merged,
    targets: [
      {
        target: "platform p95 / bare p95 <= 1.15",
        value: p95Ratio,
        met: p95Ratio <= 1.15,
      },
      {
        target: "user cache raises throughput (platform / platform without it > 1)",
        value: cacheGain,
        met: cacheGain > 1,
      },
    ],
  };
  const rows = merged
    .map(
      (row) =>
        `| ${row.config} | ${row.requestsPerSecond} | ${row.p50} | ${row.p95} | ${row.p99} |`,
    )
    .join("\n");
  const md = `# Platform cost: ${report.scenario}

${report.date}, ${machine.cpu} (${machine.cores} cores), ${machine.node}, ${bench.version}.
Load average (1 min) during the run: ${load ? `${load.min}-${load.max}, mean ${load.mean}` : "n/a"}.
${values.users} users, ${values.tasks} tasks, ${connections} connections, ${rounds} rounds of ${seconds} s per configuration, alternating.
Every server logs as \`npm start\` does (info, one JSON access line per request) to /dev/null.

| configuration | req/s | p50 ms | p95 ms | p99 ms |
|---|---:|---:|---:|---:|
${rows}

- platform p95 / bare p95 = **${p95Ratio}** (target <= 1.15: ${p95Ratio <= 1.15 ? "met" : "NOT met"})
- user cache throughput gain (platform / platform without it) = **${cacheGain}x**
`;
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const name = `${report.date.slice(0, 10)}-platform-${db}`;
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, `${name}.md`), md);
  process.stdout.write(md);
} finally {
  clearInterval(sampler);
  for (const app of apps) await app.close();
  for (const redis of redisClients) redis.disconnect();
  await bench.dispose();
}
