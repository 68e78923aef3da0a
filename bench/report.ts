import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import type { BaselineResult } from "./baseline.ts";
import type { LoadResult } from "./load.ts";
import type { BenchOptions } from "./options.ts";
import type { ProfileSummary } from "./profile.ts";
import { type ScenarioName, scenarioLabels, scenarioShortLabels } from "./scenarios.ts";
import { type LatencySummary, round } from "./stats.ts";

export type Machine = {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  database: string;
  /** 1-minute load average sampled every 5 s during the run (2 cores: above 2 means queueing). */
  loadAverage1m?: { min: number; mean: number; max: number };
};

export function describeMachine(databaseVersion: string): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    database: databaseVersion,
  };
}

/**
 * The main thread over a run: event-loop utilisation (busy wall time, which
 * includes time the OS did not schedule us) and CPU time, per operation.
 */
export type ThreadUse = {
  utilization: number;
  msPerOp: number;
  cpuMsPerOp: number;
  activeMs: number;
  cpuMs: number;
  elapsedMs: number;
  operations: number;
  /** CPU of the Postgres backends over the same time (local Postgres only). */
  pgCpuMs: number | null;
  pgCpuMsPerOp: number | null;
};

export function mergeThreadUse(parts: readonly ThreadUse[]): ThreadUse {
  const sum = (pick: (part: ThreadUse) => number) =>
    parts.reduce((total, part) => total + pick(part), 0);
  const activeMs = sum((part) => part.activeMs);
  const cpuMs = sum((part) => part.cpuMs);
  const elapsedMs = sum((part) => part.elapsedMs);
  const operations = sum((part) => part.operations);
  const pgKnown = parts.every((part) => part.pgCpuMs !== null);
  const pgCpuMs = pgKnown ? sum((part) => part.pgCpuMs ?? 0) : null;
  return {
    pgCpuMs: pgCpuMs === null ? null : round(pgCpuMs, 1),
    pgCpuMsPerOp: pgCpuMs === null ? null : round(pgCpuMs / Math.max(1, operations), 4),
    utilization: round(activeMs / Math.max(1, elapsedMs), 3),
    msPerOp: round(activeMs / Math.max(1, operations), 4),
    cpuMsPerOp: round(cpuMs / Math.max(1, operations), 4),
    activeMs: round(activeMs, 1),
    cpuMs: round(cpuMs, 1),
    elapsedMs: round(elapsedMs, 1),
    operations,
  };
}

/** The HTTP floor (bench/floor.ts) driven with the API's load job. */
export type FloorResult = {
  load: LoadResult;
  /** The floor server's thread (and the Postgres backends) during its runs. */
  thread: ThreadUse;
  /** Floor req/s divided by raw SQL ops/s: the ceiling for any HTTP server driven this way. */
  efficiency: number;
  /** API req/s divided by floor req/s. */
  apiOverFloor: number;
  statements: {
    /** Statements of one traced steady-state floor request, and whether they are the baseline's. */
    traced: number;
    identical: boolean;
    /** Statements sent during the floor's runs, per request. */
    duringRunPerRequest: number;
  };
};

export type ScenarioResult = {
  name: ScenarioName;
  label: string;
  /** List only: tasks in a page, averaged over the users' first pages (both variants). */
  tasksPerPage?: number;
  api: LoadResult;
  baseline: BaselineResult;
  /** API req/s divided by raw SQL ops/s. */
  efficiency: number;
  /** The server's thread during the API run. */
  serverThread: ThreadUse;
  /** The same thread running the pg client during the baseline run. */
  baselineThread: ThreadUse;
  statements: {
    api: number;
    baseline: number;
    identical: boolean;
    apiTexts: string[];
    baselineTexts: string[];
    /** Statements actually sent during the measured runs, per request / operation. */
    duringRun: {
      apiPerRequest: number;
      baselinePerOp: number;
      apiSessionLookupsPerRequest: number;
      baselineSessionLookupsPerOp: number;
    };
  };
  halfRate?: {
    peak: number;
    rate: number;
    autocannon: LoadResult;
    paced: LoadResult;
    /** The same paced load against the HTTP floor: the generator's and machine's own tail. */
    floorPaced?: LoadResult;
    /**
     * Fastify's own time for each request of the paced API run (from reading
     * the request to writing the answer): the rest of a latency is queueing
     * before the server reads the request, loopback and the generator.
     */
    pacedInServer?: LatencySummary;
  };
  profile?: ProfileSummary;
  /** Read scenarios, unless --no-floor. */
  floor?: FloorResult;
};

export type TargetCheck = { target: string; scenario: string; value: string; met: boolean };

export type BenchReport = {
  title: string;
  command: string;
  /** Git commit of the code under test. */
  source: string;
  startedAt: string;
  finishedAt: string;
  parameters: Omit<BenchOptions, "databaseUrl"> & { databaseName: string | null };
  machine: Machine;
  seed: { ms: number; rows: Record<string, number>; steps: Array<{ step: string; ms: number }> };
  scenarios: ScenarioResult[];
  targets: TargetCheck[];
  comparison?: {
    file: string;
    tasks: number;
    rows: Array<{
      scenario: ScenarioName;
      p95: number;
      previousP95: number;
      ratio: number;
      /** The same for the raw-SQL baseline, which background load on the API side does not blur. */
      rawP95: number;
      previousRawP95: number;
      /** Postgres CPU per API request now and then (local Postgres only). */
      pgCpuMsPerRequest: number | null;
      previousPgCpuMsPerRequest: number | null;
      /** List only: mean tasks per page now and then (null where a run did not measure it). */
      tasksPerPage: number | null;
      previousTasksPerPage: number | null;
    }>;
    /** Users in that run. */
    users: number;
  };
  failures: string[];
  notes: string[];
};

/** The scenarios the efficiency target and the HTTP floor are about. */
export const readScenarios: ScenarioName[] = ["list", "get", "me"];

export function checkTargets(report: Omit<BenchReport, "targets">): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const scenario of report.scenarios) {
    if (readScenarios.includes(scenario.name)) {
      checks.push({
        target: "efficiency >= 0.5 on reads",
        scenario: scenarioShortLabels[scenario.name],
        value: round(scenario.efficiency, 2).toFixed(2),
        met: scenario.efficiency >= 0.5,
      });
    }
  }
  for (const scenario of report.scenarios) {
    if (!scenario.halfRate) continue;
    const p95 = scenario.halfRate.paced.latency.p95;
    checks.push({
      target: `p95 <= 10 ms at half peak (${scenario.halfRate.rate} req/s, paced)`,
      scenario: scenarioShortLabels[scenario.name],
      value: `${round(p95, 2)} ms`,
      met: p95 <= 10,
    });
  }
  // The size target is about the list; other scenarios only appear in the comparison table.
  for (const row of report.comparison?.rows.filter((row) => row.scenario === "list") ?? []) {
    checks.push({
      target: `p95 within 1.5x of the ${report.comparison?.tasks.toLocaleString("en-US")}-task run`,
      scenario: scenarioShortLabels[row.scenario],
      value: `${round(row.ratio, 2)}x (${round(row.p95, 2)} vs ${round(row.previousP95, 2)} ms)`,
      met: row.ratio <= 1.5,
    });
  }
  return checks;
}

/** p95 of each scenario against the same scenario in an earlier result file. */
export function compareWith(
  file: string,
  scenarios: ScenarioResult[],
): BenchReport["comparison"] | undefined {
  const previous = JSON.parse(readFileSync(file, "utf8")) as BenchReport;
  const rows = scenarios.flatMap((scenario) => {
    const before = previous.scenarios.find((candidate) => candidate.name === scenario.name);
    if (!before) return [];
    return [
      {
        scenario: scenario.name,
        p95: scenario.api.latency.p95,
        previousP95: before.api.latency.p95,
        ratio: scenario.api.latency.p95 / before.api.latency.p95,
        rawP95: scenario.baseline.latency.p95,
        previousRawP95: before.baseline.latency.p95,
        pgCpuMsPerRequest: scenario.serverThread.pgCpuMsPerOp,
        previousPgCpuMsPerRequest: before.serverThread?.pgCpuMsPerOp ?? null,
        tasksPerPage: scenario.tasksPerPage ?? null,
        previousTasksPerPage: before.tasksPerPage ?? null,
      },
    ];
  });
  return { file, tasks: previous.parameters.tasks, users: previous.parameters.users, rows };
}

const ms = (value: number) => round(value, 2).toFixed(2);

/** A paced run's p95 per second: the median second and the worst. */
function secondsSpread(result: LoadResult): string {
  const seconds = (result.p95BySecond ?? []).filter((p95) => p95 !== null).sort((a, b) => a - b);
  if (seconds.length === 0) return "";
  return `${ms(seconds[Math.floor(seconds.length / 2)] ?? 0)} / ${ms(seconds.at(-1) ?? 0)}`;
}

/** A paced run's major GCs in the server thread: seconds that had one, and the longest pause. */
function majorGcs(result: LoadResult): string {
  if (!result.stalls) return "";
  const seconds = result.stalls.majorGcPauseMs.filter((pause) => pause > 0).length;
  const longest = Math.max(
    0,
    ...result.stalls.gcPauseMaxMs.filter((_, i) => (result.stalls?.majorGcPauseMs[i] ?? 0) > 0),
  );
  return `${seconds} / ${longest.toFixed(1)}`;
}

/** The load generator's CPU per answered request, where the run measured it. */
function generatorMsPerRequest(load: LoadResult): number | null {
  return load.generatorCpuMs === undefined ? null : load.generatorCpuMs / Math.max(1, load.ok);
}
const count = (value: number) => Math.round(value).toLocaleString("en-US");

export function toMarkdown(report: BenchReport): string {
  const p = report.parameters;
  const lines: string[] = [];
  lines.push(`# ${report.title}`, "");
  lines.push(`Run ${report.startedAt} to ${report.finishedAt} with`, "");
  lines.push("```sh", report.command, "```", "");
  lines.push(`Code under test: ${report.source}.`, "");
  lines.push("## Machine", "");
  lines.push("| | |", "|---|---|");
  lines.push(`| CPU | ${report.machine.cpu}, ${report.machine.cores} cores |`);
  lines.push(`| Memory | ${report.machine.memoryGiB} GiB |`);
  lines.push(`| OS | ${report.machine.os} |`);
  lines.push(`| Node | ${report.machine.node} |`);
  lines.push(`| Database | ${report.machine.database} |`);
  const load = report.machine.loadAverage1m;
  if (load) {
    lines.push(
      `| Load average (1 min) during the run | min ${load.min}, mean ${load.mean}, max ${load.max} (everything on this shared machine) |`,
    );
  }
  lines.push("");
  lines.push("## Parameters and data", "");
  lines.push(
    `${count(p.users)} users, ${count(p.tasks)} tasks, ${p.connections} connections, ` +
      `${p.duration} s per measured run (in ${p.rounds} slices alternating API and raw SQL) ` +
      `after ${p.warmup} s of warm-up, database pool ` +
      `${p.db === "pglite" ? "1 (PGlite serves one connection)" : p.poolSize}, seed ${p.seed}.`,
    "",
  );
  lines.push(
    `Seeded in ${round(report.seed.ms / 1000, 1)} s: ` +
      Object.entries(report.seed.rows)
        .map(([name, value]) => `${name} ${count(value)}`)
        .join(", ") +
      ".",
    "",
  );
  lines.push("## Peak throughput (closed loop)", "");
  lines.push(
    "API: autocannon against the real server on loopback, every request a different seeded user's bearer token. " +
      "Raw SQL: the statements the API issues for the same request (traced and compared below), sent through `pg` by the same number of concurrent workers. " +
      "Latencies in ms.",
    "",
  );
  lines.push(
    "| Scenario | API req/s | p50 | p95 | p99 | SQL stmts/req | Raw SQL ops/s | p50 | p95 | p99 | Efficiency |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const s of report.scenarios) {
    const a = s.api.latency;
    const b = s.baseline.latency;
    const stmts = s.statements.identical
      ? `${s.statements.api}`
      : `${s.statements.api} (baseline ${s.statements.baseline}, differs)`;
    lines.push(
      `| ${scenarioShortLabels[s.name]} | ${count(s.api.perSecond)} | ${ms(a.p50)} | ${ms(a.p95)} | ${ms(a.p99)} | ${stmts} | ` +
        `${count(s.baseline.perSecond)} | ${ms(b.p50)} | ${ms(b.p95)} | ${ms(b.p99)} | **${round(s.efficiency, 2).toFixed(2)}** |`,
    );
  }
  lines.push("");
  lines.push(
    "Latencies in ms. Efficiency = API req/s / raw SQL ops/s.",
    "",
    "### CPU per request",
    "",
    "| Scenario | Server thread CPU ms/req (busy) | Load generator CPU ms/req | pg client CPU ms/op (busy) | Postgres CPU ms/req, API | Postgres CPU ms/op, raw SQL |",
    "|---|---:|---:|---:|---:|---:|",
  );
  const pgMs = (value: number | null) => (value === null ? "n/a" : value.toFixed(3));
  for (const s of report.scenarios) {
    lines.push(
      `| ${scenarioShortLabels[s.name]} | ` +
        `${s.serverThread.cpuMsPerOp.toFixed(3)} (${Math.round(s.serverThread.utilization * 100)}%) | ` +
        `${pgMs(generatorMsPerRequest(s.api))} | ` +
        `${s.baselineThread.cpuMsPerOp.toFixed(3)} (${Math.round(s.baselineThread.utilization * 100)}%) | ` +
        `${pgMs(s.serverThread.pgCpuMsPerOp)} | ${pgMs(s.baselineThread.pgCpuMsPerOp)} |`,
    );
  }
  lines.push("");
  lines.push(
    "CPU time of the main thread per request (and its event-loop utilisation): the whole server " +
      "during API runs, just the pg client during raw-SQL runs. The load generator (autocannon, " +
      "in a worker thread of the same process) needs CPU of its own on the same cores; the raw-SQL " +
      "baseline has no such cost, which bounds every HTTP server's efficiency on this machine" +
      (p.db === "pglite"
        ? "; PGlite runs on that thread too, so the database's CPU is included there."
        : ". The Postgres columns add up the CPU of the database's backend processes (from /proc)."),
    "",
  );
  for (const s of report.scenarios) {
    const fill =
      s.tasksPerPage === undefined
        ? ""
        : ` (pages hold ${round(s.tasksPerPage, 1)} tasks on average over the users' first pages)`;
    lines.push(`- ${scenarioShortLabels[s.name]}: ${s.label}${fill}`);
  }
  lines.push("");
  lines.push(...floorSection(report));
  const half = report.scenarios.filter((s) => s.halfRate);
  if (half.length > 0) {
    lines.push("## At half of peak", "");
    lines.push(
      "Two ways to offer half the measured peak: `paced` sends requests evenly spaced (open loop, " +
        "latency counted from the scheduled send time, Node's keep-alive agent with the same number of " +
        "connections); `autocannon overallRate` gives each connection a per-second quota that it sends " +
        "back to back at the start of each second, so it is bursty and its latencies look like peak load. " +
        "`paced, HTTP floor` offers the same paced load to the HTTP floor server: what the load " +
        "generator, loopback and the machine add to any server at that rate. " +
        "`Worst second`: the highest p95 among the paced run's seconds, against its median second " +
        "(a tail spread over the run, or one stall). `In the server`: Fastify's own time for the " +
        "paced API requests, from reading the request to writing the answer; the rest of their " +
        "latency is spent waiting to be read (a busy event loop or CPU), on loopback and in the " +
        "load generator. `Major GC`: how many of the paced run's seconds had a mark-compact " +
        "collection in the server's thread, and the longest GC pause among those seconds (they are " +
        "usually the worst seconds; `bench/heap-probe.ts` finds what fills old space). " +
        "Paced runs start with the warm-up's seconds at the same rate, not measured.",
      "",
    );
    lines.push(
      "| Scenario | Peak req/s | Offered req/s | Load | Achieved req/s | p50 | p95 | p99 | p95 by second: median / worst | In the server: p50 / p95 / p99 | Major GC: seconds / longest ms |",
      "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const s of half) {
      const h = s.halfRate;
      if (!h) continue;
      const rows: Array<[string, LoadResult]> = [
        ["paced", h.paced],
        ["autocannon overallRate", h.autocannon],
      ];
      if (h.floorPaced) rows.push(["paced, HTTP floor", h.floorPaced]);
      for (const [kind, result] of rows) {
        const l = result.latency;
        const server = result === h.paced ? h.pacedInServer : undefined;
        lines.push(
          `| ${scenarioShortLabels[s.name]} | ${count(h.peak)} | ${count(h.rate)} | ${kind} | ` +
            `${count(result.perSecond)} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ` +
            `${secondsSpread(result)} | ` +
            `${server ? `${ms(server.p50)} / ${ms(server.p95)} / ${ms(server.p99)}` : ""} | ` +
            `${majorGcs(result)} |`,
        );
      }
    }
    lines.push("");
  }
  if (report.comparison) {
    lines.push(`## Against ${report.comparison.file}`, "");
    lines.push(
      `This run has ${count(p.users)} users and ${count(p.tasks)} tasks, that one ` +
        `${count(report.comparison.users ?? 1000)} and ${count(report.comparison.tasks)}. ` +
        "Tasks per page: how full the list's pages are on average; more tasks per user fill " +
        "more of them, and a fuller page costs more in Postgres, pg and JSON alike.",
      "",
      "| Scenario | API p95 now | API p95 then | Ratio | Raw SQL p95 now | then | Ratio | Postgres CPU ms/req now | then | Ratio | Tasks per page now | then |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    const page = (v: number | null) => (v === null ? "n/a" : round(v, 1).toFixed(1));
    const ratio = (now: number | null, then: number | null) =>
      now === null || then === null || then === 0 ? "n/a" : `${round(now / then, 2)}x`;
    const value = (v: number | null) => (v === null ? "n/a" : ms(v));
    for (const row of report.comparison.rows) {
      lines.push(
        `| ${scenarioShortLabels[row.scenario]} | ${ms(row.p95)} | ${ms(row.previousP95)} | ${round(row.ratio, 2)}x | ` +
          `${ms(row.rawP95)} | ${ms(row.previousRawP95)} | ${ratio(row.rawP95, row.previousRawP95)} | ` +
          `${value(row.pgCpuMsPerRequest)} | ${value(row.previousPgCpuMsPerRequest)} | ` +
          `${ratio(row.pgCpuMsPerRequest, row.previousPgCpuMsPerRequest)} | ` +
          `${page(row.tasksPerPage ?? null)} | ${page(row.previousTasksPerPage ?? null)} |`,
      );
    }
    lines.push("");
  }
  lines.push("## Targets", "");
  lines.push("| Target | Scenario | Value | Met |", "|---|---|---|---|");
  for (const check of report.targets) {
    lines.push(
      `| ${check.target} | ${check.scenario} | ${check.value} | ${check.met ? "yes" : "**no**"} |`,
    );
  }
  lines.push("");
  const profiled = report.scenarios.filter((s) => s.profile);
  if (profiled.length > 0) {
    lines.push("## Where the server's CPU goes", "");
    lines.push(
      "Self time by package while serving each scenario at peak (separate profiled run, not the measured one).",
      "",
    );
    for (const s of profiled) {
      const profile = s.profile;
      if (!profile) continue;
      lines.push(
        `- **${scenarioShortLabels[s.name]}**: ` +
          profile.byPackage
            .slice(0, 8)
            .map((entry) => `${entry.name} ${entry.percent}%`)
            .join(", "),
      );
    }
    lines.push("");
  }
  lines.push("## SQL per request", "");
  lines.push(
    "Traced: one request by a user whose token the app has just seen (the steady state). " +
      "During the runs: all statements sent, per request; session lookups show how often the " +
      `token was not in the session cache (TTL ${p.sessionCacheMs} ms; users ${p.userCacheMs ?? "?"} ms).`,
    "",
    "| Scenario | Traced, API | Traced, raw SQL | Same texts | During runs, API | During runs, raw SQL | Session lookups/req, API | raw SQL |",
    "|---|---:|---:|---|---:|---:|---:|---:|",
  );
  for (const s of report.scenarios) {
    const run = s.statements.duringRun;
    lines.push(
      `| ${scenarioShortLabels[s.name]} | ${s.statements.api} | ${s.statements.baseline} | ` +
        `${s.statements.identical ? "yes" : "**no**"} | ${run.apiPerRequest} | ${run.baselinePerOp} | ` +
        `${run.apiSessionLookupsPerRequest} | ${run.baselineSessionLookupsPerOp} |`,
    );
  }
  lines.push("");
  if (report.failures.length > 0) {
    lines.push("## FAILURES", "");
    for (const failure of report.failures) lines.push(`- ${failure}`);
    lines.push("");
  }
  if (report.notes.length > 0) {
    lines.push("## Notes", "");
    for (const note of report.notes) lines.push(`- ${note}`);
    lines.push("");
  }
  return lines.join("\n");
}

function floorSection(report: BenchReport): string[] {
  const floored = report.scenarios.filter((s) => s.floor);
  if (floored.length === 0) return [];
  const lines = ["## HTTP floor", ""];
  lines.push(
    "The floor is the least any HTTP service must do for the same request: a bare Fastify server " +
      "(`bench/floor.ts`: no plugins, no schemas, logger off) that resolves the bearer token " +
      "through an in-memory token map (the baseline's session and user caches, same TTLs, its own " +
      "instance), sends exactly the raw-SQL baseline's statements on the same pool and answers " +
      "`JSON.stringify` of the rows. No auth beyond that token map, no validation, no logging, " +
      "no headers beyond Fastify's own. It is driven by the same autocannon job as the API " +
      "(same users, connections, slices, closed loop, same warm-up), after the API and raw-SQL " +
      "slices. Floor efficiency = floor req/s / raw SQL ops/s is the ceiling for any HTTP server " +
      "driven this way on this machine (built like the app on Node, Fastify and `pg`); " +
      "API/floor = API req/s / floor req/s is how much of that ceiling the API reaches.",
    "",
    "| Scenario | Floor req/s | p50 | p95 | p99 | Floor CPU ms/req (busy) | Load generator CPU ms/req | Postgres CPU ms/req | Same SQL | Efficiency (API) | Floor efficiency | API/floor |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
  );
  for (const s of floored) {
    const f = s.floor;
    if (!f) continue;
    const l = f.load.latency;
    const pg = f.thread.pgCpuMsPerOp;
    lines.push(
      `| ${scenarioShortLabels[s.name]} | ${count(f.load.perSecond)} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ` +
        `${f.thread.cpuMsPerOp.toFixed(3)} (${Math.round(f.thread.utilization * 100)}%) | ` +
        `${generatorMsPerRequest(f.load)?.toFixed(3) ?? "n/a"} | ` +
        `${pg === null ? "n/a" : pg.toFixed(3)} | ` +
        `${f.statements.identical ? "yes" : "**no**"} (${f.statements.duringRunPerRequest}/req) | ` +
        `${round(s.efficiency, 2).toFixed(2)} | **${round(f.efficiency, 2).toFixed(2)}** | ` +
        `${round(f.apiOverFloor, 2).toFixed(2)} |`,
    );
  }
  lines.push(
    "",
    "Same SQL: the traced floor request sent the baseline's statements (and the statements " +
      "actually sent per floor request during its runs).",
    "",
  );
  return lines;
}

export function writeReport(report: BenchReport, outDir: string): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const p = report.parameters;
  const date = report.startedAt.slice(0, 10);
  const base = join(outDir, `${date}-${p.db}-${p.users}u-${p.tasks}t`);
  const json = `${base}.json`;
  const md = `${base}.md`;
  // Raw latency samples stay out of the file; the summaries are in it.
  const withoutSamples = (key: string, value: unknown) => (key === "samples" ? undefined : value);
  writeFileSync(json, `${JSON.stringify(report, withoutSamples, 2)}\n`);
  writeFileSync(md, toMarkdown(report));
  return { json, md };
}

export { scenarioLabels };
