/**
 * `npm run bench`: seeds a fresh database, starts the real server on
 * loopback in this process, drives each scenario with autocannon from a
 * worker thread, runs the same SQL straight through `pg` as a baseline, and
 * writes bench/results/<date>-<db>-<users>u-<tasks>t.{json,md}.
 */
import "../src/platform/runtime.ts";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Server, ServerResponse } from "node:http";
import os from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { buildApp } from "../src/app.ts";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { logDestination } from "../src/platform/observability/logger.ts";
import {
  authenticate,
  type BaselineResult,
  BaselineSessionCache,
  baselineOp,
  mergeBaselines,
  readList,
  runBaseline,
  statements,
} from "./baseline.ts";
import { openBenchDatabase } from "./database.ts";
import { startFloor } from "./floor.ts";
import { type LoadJob, type LoadResult, mergeLoads, runLoad } from "./load.ts";
import { type BenchOptions, parseOptions, UsageError, usage } from "./options.ts";
import { canMeasurePgCpu, startPgCpu } from "./pgcpu.ts";
import { type ProfileSummary, startProfile } from "./profile.ts";
import {
  type BenchReport,
  checkTargets,
  compareWith,
  describeMachine,
  type FloorResult,
  mergeThreadUse,
  readScenarios,
  type ScenarioResult,
  type ThreadUse,
  writeReport,
} from "./report.ts";
import {
  httpCall,
  type LoadUser,
  listPageSize,
  listUsesPriority,
  pickUser,
  type ScenarioName,
  scenarioLabels,
  scenarioShortLabels,
  usersFor,
} from "./scenarios.ts";
import { seedDatabase } from "./seed.ts";
import { stallLines, watchStalls } from "./stalls.ts";
import { round, summarize } from "./stats.ts";
import {
  captureStatements,
  countStatements,
  type StatementCounts,
  sameStatements,
  withoutStatements,
} from "./trace.ts";

const started = performance.now();
function log(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${seconds}s] ${message}`);
}

/** Calls `work(i)` for every i below `count`, with `concurrency` calls in flight. */
async function inParallel(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
}

/** A server under load: where to send requests, and how many it has not answered yet. */
type LoadTarget = { url: string; inFlight: () => number };

/**
 * How busy the main thread was (the server during API and HTTP floor runs,
 * the pg client during baseline runs) and its busy time per request.
 */
function threadMeter(pool: pg.Pool | null) {
  const before = performance.eventLoopUtilization();
  const cpuBefore = process.threadCpuUsage();
  const pgMeter = pool ? startPgCpu(pool) : null;
  return {
    async stop(operations: number): Promise<ThreadUse> {
      const used = performance.eventLoopUtilization(before);
      const cpu = process.threadCpuUsage(cpuBefore);
      const pgCpuMs = pgMeter ? ((await (await pgMeter).stop()) ?? null) : null;
      return mergeThreadUse([
        {
          utilization: 0,
          msPerOp: 0,
          cpuMsPerOp: 0,
          activeMs: used.active,
          cpuMs: (cpu.user + cpu.system) / 1000,
          elapsedMs: used.idle + used.active,
          operations,
          pgCpuMs,
          pgCpuMsPerOp: null,
        },
      ]);
    },
  };
}

/**
 * Requests a server has accepted and not yet answered. autocannon stops on
 * time and drops its connections, but the server finishes what it already
 * accepted (PGlite may have a long queue), so the next measurement or trace
 * waits for that.
 */
function inFlightOf(server: Server): () => number {
  let inFlight = 0;
  server.on("request", (_request, response: ServerResponse) => {
    inFlight++;
    response.once("close", () => {
      inFlight--;
    });
  });
  return () => inFlight;
}

function addCounts(into: StatementCounts, from: StatementCounts): void {
  into.total += from.total;
  into.watched += from.watched;
}

/** The commit the server code came from, and whether src had local changes. */
function sourceVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();
    const commit = git("rev-parse", "--short", "HEAD");
    const changed = git("status", "--porcelain", "--", "src").split("\n").filter(Boolean).length;
    return changed > 0 ? `${commit} + ${changed} uncommitted changes in src/` : commit;
  } catch {
    return "unknown (not a git checkout)";
  }
}

function commandLine(options: BenchOptions): string {
  const parts = [
    "npm run bench --",
    `--db ${options.db}`,
    `--users ${options.users}`,
    `--tasks ${options.tasks}`,
    `--duration ${options.duration}`,
    `--connections ${options.connections}`,
  ];
  if (options.db === "postgres" && options.poolSize !== 10)
    parts.push(`--pool ${options.poolSize}`);
  if (options.warmup !== 2) parts.push(`--warmup ${options.warmup}`);
  if (options.rounds !== 2) parts.push(`--rounds ${options.rounds}`);
  if (options.scenarios.length !== 5) parts.push(`--scenarios ${options.scenarios.join(",")}`);
  if (options.halfRate.join(",") !== "list,get") {
    parts.push(`--half-rate ${options.halfRate.join(",") || "none"}`);
  }
  if (options.seed !== 42) parts.push(`--seed ${options.seed}`);
  if (options.profile) parts.push("--profile");
  if (!options.floor) parts.push("--no-floor");
  if (options.sessionCacheMs !== 300_000) {
    parts.push(`--session-cache-ms ${options.sessionCacheMs}`);
  }
  if (options.userCacheMs !== 300_000) parts.push(`--user-cache-ms ${options.userCacheMs}`);
  if (options.logLevel !== "info") parts.push(`--log-level ${options.logLevel}`);
  if (options.compare) parts.push(`--compare ${options.compare}`);
  return parts.join(" ");
}

function describeFailures(what: string, result: LoadResult): string[] {
  if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0) return [];
  return [
    `${what}: ${result.non2xx} non-2xx (${JSON.stringify(result.statusCounts)}), ` +
      `${result.errors} errors, ${result.timeouts} timeouts. First: ${result.failures.join(" | ")}`,
  ];
}

/**
 * A paced run, second by second: its p95 (one stall, or a tail spread over
 * the run), what the server thread and the machine went through, and
 * whether the generator itself stalled.
 */
function secondsLines(result: LoadResult): string[] {
  const p95s = (result.p95BySecond ?? []).map((p95) => (p95 === null ? "-" : p95.toFixed(1)));
  const lags = (result.sendLagMaxBySecond ?? []).map((lag) => lag.toFixed(1));
  return [
    `p95 by second: ${p95s.join(" ")}`,
    ...(result.stalls ? stallLines(result.stalls) : []),
    `generator send lag, max by second: ${lags.join(" ")}`,
  ];
}

function line(label: string, perSecond: number, latency: LoadResult["latency"]): string {
  return (
    `${label.padEnd(22)} ${round(perSecond, 0).toString().padStart(7)}/s  ` +
    `p50 ${latency.p50.toFixed(2).padStart(6)}  p95 ${latency.p95.toFixed(2).padStart(6)}  ` +
    `p99 ${latency.p99.toFixed(2).padStart(6)} ms`
  );
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if (parsed === "help") {
    console.log(usage);
    return 0;
  }
  const options = parsed;
  const startedAt = new Date().toISOString();
  // The server code is loaded now; others may change src while we run.
  const sourceAtStart = sourceVersion();
  log(`Taskpilot bench: ${commandLine(options)}`);
  // The machine is shared: sample the load average so the report says how busy it was.
  const loadSamples: number[] = [];
  const loadSampler = setInterval(() => loadSamples.push(os.loadavg()[0] ?? 0), 5_000);
  loadSampler.unref();
  log(
    `load average now ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")}`,
  );
  const bench = await openBenchDatabase(options);
  const failures: string[] = [];
  const notes: string[] = [];
  // SIGINT and SIGTERM drop the database (openBenchDatabase); the server dies with the process.
  let closeApp = async () => {};
  try {
    log(`database: ${bench.version}${bench.name ? ` (fresh database ${bench.name})` : ""}`);
    await runMigrations(bench.database.pool);
    log(`seeding ${options.users} users and ${options.tasks} tasks`);
    const seed = await seedDatabase(
      bench.database.pool,
      { users: options.users, tasks: options.tasks, seed: options.seed },
      log,
    );
    log(`seeded in ${(seed.ms / 1000).toFixed(1)} s`);
    const users: LoadUser[] = seed.users.map((user) => ({
      token: user.token,
      taskIds: user.taskIds,
    }));

    const app = await buildApp({
      database: bench.database,
      authSecret: randomBytes(32).toString("base64url"),
      publicUrl: "http://127.0.0.1",
      // Logged like `npm start` (info: an access line per request), to
      // /dev/null: the cost of writing JSON lines, not of a log collector.
      logLevel: options.logLevel,
      // The destination `npm start` writes stdout through (asynchronous pino destination).
      logStream: logDestination("/dev/null"),
      authRateLimit: false,
      // One address plays a thousand users: the request limits would measure themselves.
      rateLimit: false,
      // The embedding worker would backfill every seeded task (on PGlite, in
      // the server's own thread, until the overload guard sheds requests):
      // that is background work, not the API under test.
      search: { worker: false },
      sessionCacheTtlMs: options.sessionCacheMs,
      userCacheTtlMs: options.userCacheMs,
    });
    notes.push(
      options.logLevel === "info"
        ? "The app logs as `npm start` does (LOG_LEVEL=info: one JSON access line per request, " +
            "written through the same asynchronous pino destination as its stdout) to /dev/null."
        : "The app's logging is off (`--log-level silent`); `npm start` logs a JSON line per request.",
    );
    notes.push(
      "The semantic-search embedding worker is off: started on a seeded database it backfills " +
        "every task's embedding (with PGlite in the server's thread, where it made the overload " +
        "guard answer 503 to a quarter of the requests in a trial run).",
    );
    const sessions = new BaselineSessionCache(options.sessionCacheMs, options.userCacheMs);
    // The floor's own token map, kept across its servers like the app's and the baseline's.
    const floorSessions = new BaselineSessionCache(options.sessionCacheMs, options.userCacheMs);
    // Fastify's own time per request, gathered while a paced run wants it.
    let serverTimes: number[] | null = null;
    app.addHook("onResponse", (_request, reply, done) => {
      serverTimes?.push(reply.elapsedTime);
      done();
    });
    closeApp = () => app.close();
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    const url = `http://127.0.0.1:${address.port}`;
    log(`server listening on ${url}`);
    const apiTarget: LoadTarget = { url, inFlight: inFlightOf(app.server) };
    // Postgres backends' CPU per request, when Postgres runs on this machine.
    const pgCpuPool =
      options.db === "postgres" && (await canMeasurePgCpu(bench.database.pool))
        ? bench.database.pool
        : null;
    if (options.db === "postgres" && !pgCpuPool) {
      notes.push(
        "Postgres CPU per request is not measured: its processes are not visible in /proc.",
      );
    }
    // A request whose client hung up counts as closed while its handler may
    // still be running, so also wait for the pool to stay idle for a while.
    const pool = bench.database.pool;
    const drained = async (target: LoadTarget) => {
      const deadline = performance.now() + 120_000;
      let idleSince = performance.now();
      for (;;) {
        const now = performance.now();
        const busy =
          target.inFlight() > 0 || pool.waitingCount > 0 || pool.totalCount > pool.idleCount;
        if (busy) idleSince = now;
        else if (now - idleSince >= 100) return;
        if (now > deadline) throw new Error("the server was still busy 2 min after a run ended");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    // The bearer plugin must accept a raw session token before we measure anything.
    const probeUser = seed.users[0];
    if (!probeUser) throw new Error("no users seeded");
    // Seeding an embedded database blocks the event loop for seconds, and the
    // server's overload guard then sheds load until its next sample: wait for
    // it like a client honouring Retry-After would.
    let probe = await fetch(`${url}/v1/me`, {
      headers: { authorization: `Bearer ${probeUser.token}` },
    });
    for (let attempt = 0; probe.status === 503 && attempt < 10; attempt++) {
      await probe.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      probe = await fetch(`${url}/v1/me`, {
        headers: { authorization: `Bearer ${probeUser.token}` },
      });
    }
    const probeBody = (await probe.json()) as { id?: string; email?: string };
    if (probe.status !== 200 || probeBody.id !== probeUser.id) {
      throw new Error(
        `bearer session token rejected: GET /v1/me answered ${probe.status} ${JSON.stringify(probeBody)}`,
      );
    }
    log(`bearer token check: GET /v1/me -> 200 as ${probeBody.email}`);

    // The cold path: what a token neither side has seen costs in SQL. The
    // app's extra statements on a cold token (its request minus the same
    // request again) must be the baseline's authentication, or the session
    // lookups counted during the runs compare different statements.
    const coldUser = users.at(-1);
    if (!coldUser) throw new Error("no users seeded");
    const meAs = async (base: string, user: LoadUser) => {
      const response = await fetch(`${base}/v1/me`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`GET /v1/me answered ${response.status}: ${text}`);
    };
    const coldApi = await captureStatements(() => meAs(url, coldUser));
    const warmApi = await captureStatements(() => meAs(url, coldUser));
    const apiAuth = withoutStatements(coldApi, warmApi);
    const baselineAuth = await captureStatements(async () => {
      await authenticate(bench.database.pool, sessions, coldUser.token);
    });
    const sameAuth = sameStatements(apiAuth, baselineAuth);
    if (!sameAuth) {
      const message =
        `authentication of an unseen token: the app sent ${apiAuth.length} statements, the ` +
        `baseline ${baselineAuth.length}, and the texts differ; update bench/baseline.ts`;
      log(`WARNING ${message}`);
      log(`  app:      ${[...apiAuth].sort().join("\n            ")}`);
      log(`  baseline: ${[...baselineAuth].sort().join("\n            ")}`);
      notes.push(message);
    }
    log(
      `SQL to authenticate an unseen token: ${apiAuth.length} statements (baseline identical: ${sameAuth})`,
    );

    // Steady state: a server that has been up sees every active user's token
    // once per cache TTL, so every token is seen once before anything is
    // measured, by the app, the baseline and the floor alike. Without this the
    // first slices paid better-auth's full session check for every user the
    // warm-up had not reached (a third of the list requests in a cold run).
    // Entries then expire at their jittered TTL and are read again during
    // the runs, as in production; the session lookups per request say how often.
    const primed = performance.now();
    await inParallel(users.length, options.connections, async (i) => {
      const user = pickUser(users, i);
      await meAs(url, user);
      await authenticate(bench.database.pool, sessions, user.token);
      await authenticate(bench.database.pool, floorSessions, user.token);
    });
    log(
      `every user's token seen once (app, baseline, floor) in ${((performance.now() - primed) / 1000).toFixed(1)} s`,
    );

    // How full a list page is. With few tasks per user many pages are short
    // (a user with 20 open tasks, 4 of them high or urgent), and a fuller
    // page costs more everywhere (Postgres, pg, JSON): runs of different
    // sizes serve different pages, and the report says how different.
    let tasksPerPage: number | undefined;
    if (options.scenarios.includes("list")) {
      const sample = Math.min(users.length, 2_000);
      let served = 0;
      await inParallel(sample, options.connections, async (i) => {
        const me = await authenticate(bench.database.pool, sessions, pickUser(users, i).token);
        const rows = await readList(bench.database.pool, me.userId, listUsesPriority(i));
        served += Math.min(rows.length, listPageSize);
      });
      tasksPerPage = served / sample;
      log(`list pages hold ${tasksPerPage.toFixed(1)} tasks on average (${sample} users sampled)`);
    }

    let offset = 0;
    const nextOffset = () => {
      offset += 10_000_000;
      return offset;
    };
    /** One load run; also reports how busy the server thread was (before draining). */
    const loadWithThread = async (
      scenario: ScenarioName,
      seconds: number,
      mode: LoadJob["mode"],
      count = false,
      target = apiTarget,
    ): Promise<[LoadResult, ThreadUse, StatementCounts]> => {
      const meter = threadMeter(pgCpuPool);
      const counter = count ? countStatements(statements.session) : null;
      const result = await runLoad({
        url: target.url,
        scenario,
        users,
        seconds,
        connections: options.connections,
        offset: nextOffset(),
        mode,
      });
      const counts = counter?.stop() ?? { total: 0, watched: 0 };
      const thread = await meter.stop(result.ok);
      await drained(target);
      return [result, thread, counts];
    };
    const load = async (
      scenario: ScenarioName,
      seconds: number,
      mode: LoadJob["mode"],
      target = apiTarget,
    ) => (await loadWithThread(scenario, seconds, mode, false, target))[0];
    /** Measured closed-loop slices of one server, gathered for merging. */
    type Slices = { loads: LoadResult[]; threads: ThreadUse[]; counts: StatementCounts };
    const slices = (): Slices => ({ loads: [], threads: [], counts: { total: 0, watched: 0 } });
    const measureSlice = async (
      into: Slices,
      scenario: ScenarioName,
      seconds: number,
      target = apiTarget,
    ) => {
      const [part, thread, counts] = await loadWithThread(
        scenario,
        seconds,
        { kind: "closed" },
        true,
        target,
      );
      into.loads.push(part);
      into.threads.push(thread);
      addCounts(into.counts, counts);
    };

    const results: ScenarioResult[] = [];
    for (const scenario of options.scenarios) {
      const title = scenarioShortLabels[scenario];
      log(`--- ${scenarioLabels[scenario]}`);
      const search = app.services.search;
      const op = baselineOp(
        bench.database.pool,
        sessions,
        scenario,
        users,
        search?.capabilities.semantic.available ? { debounceMs: search.settings.debounceMs } : null,
      );
      const scenarioUsers = usersFor(scenario, users);
      const n = scenarioUsers.length;
      const requestTo = (base: string) => async (i: number) => {
        const { user, call } = httpCall(scenario, scenarioUsers, i);
        const response = await fetch(`${base}${call.path}`, {
          method: call.method,
          headers: {
            authorization: `Bearer ${user.token}`,
            ...(call.body ? { "content-type": "application/json" } : {}),
          },
          ...(call.body ? { body: call.body } : {}),
        });
        const text = await response.text();
        if (!response.ok) throw new Error(`${title} answered ${response.status}: ${text}`);
      };
      const apiRequest = requestTo(url);

      // Same SQL? Trace one API request and one baseline operation in the
      // steady state: the same user made a request just before (i and i + n
      // pick the same user), so a session cache, if any, knows the token.
      const traceAt = nextOffset();
      await apiRequest(traceAt);
      const apiTexts = await captureStatements(() => apiRequest(traceAt + n));
      await op(traceAt + 2 * n);
      const baselineTexts = await captureStatements(() => op(traceAt + 3 * n));
      // Consecutive requests may differ (every second list request filters
      // by priority): the odd variant must send the baseline's SQL as well.
      await apiRequest(traceAt + 1);
      const apiOdd = await captureStatements(() => apiRequest(traceAt + 1 + n));
      await op(traceAt + 1 + 2 * n);
      const baselineOdd = await captureStatements(() => op(traceAt + 1 + 3 * n));
      const identical =
        sameStatements(apiTexts, baselineTexts) && sameStatements(apiOdd, baselineOdd);
      if (!identical) {
        const message =
          `${title}: the API sent ${apiTexts.length} statements for a request, the baseline ` +
          `${baselineTexts.length}, and the texts differ; update bench/baseline.ts`;
        log(`WARNING ${message}`);
        notes.push(message);
      }
      log(`SQL per request: ${apiTexts.length} statements (baseline identical: ${identical})`);

      // Warm both sides up, then alternate API and raw-SQL slices so a burst
      // of background load on this shared machine hits both about equally.
      if (options.warmup > 0) {
        await load(scenario, options.warmup, { kind: "closed" });
        await runBaseline(op, {
          concurrency: options.connections,
          seconds: options.warmup,
          offset: nextOffset(),
        });
      }
      const slice = options.duration / options.rounds;
      const apiSide = slices();
      const baselineParts: BaselineResult[] = [];
      const clientParts: ThreadUse[] = [];
      const baselineCounts: StatementCounts = { total: 0, watched: 0 };
      for (let round = 0; round < options.rounds; round++) {
        await measureSlice(apiSide, scenario, slice);
        const meter = threadMeter(pgCpuPool);
        const counter = countStatements(statements.session);
        const sqlPart = await runBaseline(op, {
          concurrency: options.connections,
          seconds: slice,
          offset: nextOffset(),
        });
        addCounts(baselineCounts, counter.stop());
        baselineParts.push(sqlPart);
        clientParts.push(await meter.stop(sqlPart.ops));
      }
      const api = mergeLoads(apiSide.loads);
      const serverThread = mergeThreadUse(apiSide.threads);
      const baseline = mergeBaselines(baselineParts);
      const baselineThread = mergeThreadUse(clientParts);
      failures.push(...describeFailures(`${title} (peak)`, api));
      if (baseline.errors > 0) {
        failures.push(
          `${title} (raw SQL): ${baseline.errors} errors. First: ${baseline.failures.join(" | ")}`,
        );
      }
      log(
        `${line("API", api.perSecond, api.latency)}  (server thread: ${serverThread.cpuMsPerOp.toFixed(3)} ms CPU/req, ${Math.round(serverThread.utilization * 100)}% busy; load generator ${((api.generatorCpuMs ?? 0) / Math.max(1, api.ok)).toFixed(3)} ms CPU/req)`,
      );
      log(
        `${line("raw SQL", baseline.perSecond, baseline.latency)}  (client thread: ${baselineThread.cpuMsPerOp.toFixed(3)} ms CPU/op, ${Math.round(baselineThread.utilization * 100)}% busy)`,
      );

      // The HTTP floor: a bare server sending the baseline's SQL, driven
      // with the API's job (same warm-up, slices, users and connections).
      let floor: FloorResult | undefined;
      if (options.floor && readScenarios.includes(scenario)) {
        const server = await startFloor(pool, floorSessions);
        try {
          const target: LoadTarget = { url: server.url, inFlight: inFlightOf(server.server) };
          const floorRequest = requestTo(server.url);
          await floorRequest(traceAt + 4 * n);
          const floorTexts = await captureStatements(() => floorRequest(traceAt + 5 * n));
          const sameSql = sameStatements(floorTexts, baselineTexts);
          if (!sameSql) {
            const message =
              `${title}: the HTTP floor sent ${floorTexts.length} statements for a request, the ` +
              `baseline ${baselineTexts.length}, and the texts differ; update bench/floor.ts`;
            log(`WARNING ${message}`);
            notes.push(message);
          }
          if (options.warmup > 0) {
            await load(scenario, options.warmup, { kind: "closed" }, target);
          }
          const floorSide = slices();
          for (let round = 0; round < options.rounds; round++) {
            await measureSlice(floorSide, scenario, slice, target);
          }
          const floorLoad = mergeLoads(floorSide.loads);
          const floorThread = mergeThreadUse(floorSide.threads);
          failures.push(...describeFailures(`${title} (HTTP floor)`, floorLoad));
          floor = {
            load: floorLoad,
            thread: floorThread,
            efficiency: floorLoad.perSecond / baseline.perSecond,
            apiOverFloor: api.perSecond / floorLoad.perSecond,
            statements: {
              traced: floorTexts.length,
              identical: sameSql,
              duringRunPerRequest: round(floorSide.counts.total / Math.max(1, floorLoad.ok), 3),
            },
          };
          log(
            `${line("HTTP floor", floorLoad.perSecond, floorLoad.latency)}  (server thread: ${floorThread.cpuMsPerOp.toFixed(3)} ms CPU/req, ${Math.round(floorThread.utilization * 100)}% busy)`,
          );
          log(
            `floor efficiency ${floor.efficiency.toFixed(2)}, API/floor ${floor.apiOverFloor.toFixed(2)}`,
          );
        } finally {
          await server.close();
        }
      }

      let profile: ProfileSummary | undefined;
      if (options.profile) {
        const stop = await startProfile();
        await load(scenario, options.duration, { kind: "closed" });
        const file = join(
          options.outDir,
          `${startedAt.slice(0, 10)}-${options.db}-${options.users}u-${options.tasks}t-${scenario}.cpuprofile`,
        );
        profile = await stop(file);
        log(
          `profile: ${profile.byPackage
            .slice(0, 6)
            .map((entry) => `${entry.name} ${entry.percent}%`)
            .join(", ")}`,
        );
      }
      const efficiency = api.perSecond / baseline.perSecond;
      log(`efficiency ${efficiency.toFixed(2)}`);

      const result: ScenarioResult = {
        name: scenario,
        label: scenarioLabels[scenario],
        ...(scenario === "list" && tasksPerPage !== undefined ? { tasksPerPage } : {}),
        api,
        baseline,
        efficiency,
        serverThread,
        baselineThread,
        statements: {
          api: apiTexts.length,
          baseline: baselineTexts.length,
          identical,
          apiTexts,
          baselineTexts,
          duringRun: {
            apiPerRequest: round(apiSide.counts.total / Math.max(1, api.ok), 3),
            baselinePerOp: round(baselineCounts.total / Math.max(1, baseline.ops), 3),
            apiSessionLookupsPerRequest: round(apiSide.counts.watched / Math.max(1, api.ok), 3),
            baselineSessionLookupsPerOp: round(
              baselineCounts.watched / Math.max(1, baseline.ops),
              3,
            ),
          },
        },
        ...(profile ? { profile } : {}),
        ...(floor ? { floor } : {}),
      };

      if (options.halfRate.includes(scenario)) {
        const rate = Math.max(1, Math.floor(api.perSecond / 2));
        serverTimes = [];
        /** Paced load, with the server thread's and the machine's stalls watched meanwhile. */
        const pacedLoad = async (target?: LoadTarget) => {
          const stalls = watchStalls(options.warmup);
          const mode = { kind: "paced", rate, warmupSeconds: options.warmup } as const;
          const paced = await load(scenario, options.duration, mode, target);
          paced.stalls = stalls.stop();
          return paced;
        };
        const paced = await pacedLoad();
        const pacedInServer = summarize(serverTimes);
        serverTimes = null;
        failures.push(...describeFailures(`${title} (half rate, paced)`, paced));
        log(
          `${line(`half rate ${rate}/s paced`, paced.perSecond, paced.latency)}  (send lag p95 ${paced.sendLag?.p95.toFixed(2) ?? "?"} ms)`,
        );
        for (const second of secondsLines(paced)) log(`  ${second}`);
        log(
          `  in the server: p50 ${pacedInServer.p50.toFixed(2)}  p95 ${pacedInServer.p95.toFixed(2)}  p99 ${pacedInServer.p99.toFixed(2)} ms`,
        );
        const bursty = await load(scenario, options.duration, { kind: "autocannon-rate", rate });
        failures.push(...describeFailures(`${title} (half rate, autocannon)`, bursty));
        log(line(`half rate autocannon`, bursty.perSecond, bursty.latency));
        result.halfRate = { peak: api.perSecond, rate, paced, autocannon: bursty, pacedInServer };
        if (options.floor && readScenarios.includes(scenario)) {
          // The same paced load against the bare floor: how much of the tail
          // is the generator, loopback and the machine rather than the API.
          const server = await startFloor(pool, floorSessions);
          try {
            const target: LoadTarget = { url: server.url, inFlight: inFlightOf(server.server) };
            const floorPaced = await pacedLoad(target);
            failures.push(
              ...describeFailures(`${title} (half rate, paced, HTTP floor)`, floorPaced),
            );
            log(line(`half rate floor paced`, floorPaced.perSecond, floorPaced.latency));
            for (const second of secondsLines(floorPaced)) log(`  ${second}`);
            result.halfRate.floorPaced = floorPaced;
          } finally {
            await server.close();
          }
        }
      }
      results.push(result);
    }

    await app.close();
    closeApp = async () => {};

    const sourceAtEnd = sourceVersion();
    if (sourceAtEnd !== sourceAtStart) {
      notes.push(
        `src changed while the bench ran (now ${sourceAtEnd}); the numbers are for ${sourceAtStart}, which was loaded at the start.`,
      );
    }
    notes.push(
      "Server and load generator share one process: Fastify runs on the main thread, autocannon " +
        "in a worker thread; the raw-SQL baseline runs on the main thread. Postgres runs on the " +
        "same machine, so all of them compete for the same cores. Compare numbers within one run.",
    );
    if (!options.floor) notes.push("The HTTP floor was not measured (--no-floor).");
    if (options.db === "pglite") {
      notes.push(
        "PGlite executes one statement at a time, so concurrency only queues; the 10 ms target is " +
          "meant for real Postgres.",
      );
    }
    const draft = {
      title: `Taskpilot benchmark: ${options.db}, ${options.users.toLocaleString("en-US")} users, ${options.tasks.toLocaleString("en-US")} tasks`,
      command: commandLine(options),
      source: sourceAtStart,
      startedAt,
      finishedAt: new Date().toISOString(),
      parameters: {
        ...Object.fromEntries(Object.entries(options).filter(([key]) => key !== "databaseUrl")),
        databaseName: bench.name,
      } as BenchReport["parameters"],
      machine: {
        ...describeMachine(bench.version),
        loadAverage1m: {
          min: round(Math.min(...loadSamples), 2),
          mean: round(
            loadSamples.reduce((sum, value) => sum + value, 0) / Math.max(1, loadSamples.length),
            2,
          ),
          max: round(Math.max(...loadSamples), 2),
        },
      },
      seed: { ms: seed.ms, rows: seed.rows, steps: seed.steps },
      scenarios: results,
      failures,
      notes,
      ...(options.compare ? { comparison: compareWith(options.compare, results) } : {}),
    };
    const report: BenchReport = { ...draft, targets: checkTargets(draft) };
    const files = writeReport(report, options.outDir);

    console.log("");
    console.log(
      "| Scenario | API req/s | p50 | p95 | p99 | Raw SQL ops/s | p50 | p95 | p99 | Efficiency |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const s of results) {
      const a = s.api.latency;
      const b = s.baseline.latency;
      console.log(
        `| ${scenarioShortLabels[s.name]} | ${Math.round(s.api.perSecond)} | ${a.p50.toFixed(2)} | ${a.p95.toFixed(2)} | ${a.p99.toFixed(2)} | ` +
          `${Math.round(s.baseline.perSecond)} | ${b.p50.toFixed(2)} | ${b.p95.toFixed(2)} | ${b.p99.toFixed(2)} | ${s.efficiency.toFixed(2)} |`,
      );
    }
    const floored = results.filter((s) => s.floor);
    if (floored.length > 0) {
      console.log("");
      console.log(
        "| Scenario | Floor req/s | p50 | p95 | p99 | Floor CPU ms/req | Efficiency (API) | Floor efficiency | API/floor |",
      );
      console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
      for (const s of floored) {
        const f = s.floor;
        if (!f) continue;
        const l = f.load.latency;
        console.log(
          `| ${scenarioShortLabels[s.name]} | ${Math.round(f.load.perSecond)} | ${l.p50.toFixed(2)} | ${l.p95.toFixed(2)} | ${l.p99.toFixed(2)} | ` +
            `${f.thread.cpuMsPerOp.toFixed(3)} | ${s.efficiency.toFixed(2)} | ${f.efficiency.toFixed(2)} | ${f.apiOverFloor.toFixed(2)} |`,
        );
      }
    }
    console.log("");
    for (const check of report.targets) {
      console.log(
        `${check.met ? "met    " : "NOT MET"}  ${check.target}: ${check.scenario} ${check.value}`,
      );
    }
    console.log("");
    log(`wrote ${files.md} and ${files.json}`);
    if (failures.length > 0) {
      console.error("\nBENCH FAILED: some requests did not answer 2xx");
      for (const failure of failures) console.error(`  - ${failure}`);
      return 1;
    }
    return 0;
  } finally {
    clearInterval(loadSampler);
    await closeApp();
    await bench.dispose();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
