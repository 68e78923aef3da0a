/**
 * `npm run bench:ab -- <rev>`: this checkout against an earlier commit, on
 * one seeded Postgres database, in alternating closed-loop slices. On a
 * shared machine whose load changes by the minute, two runs of `npm run
 * bench` cannot show a 10% change; slices of the two servers taken in turn
 * (ABBA order) see the same noise, so their ratio can.
 *
 * The earlier commit is checked out with `git worktree` under the system's
 * temp directory and installed there with `npm ci` (kept for the next run).
 * Each side runs in its own process (`bench/ab-server.ts`), logs as its own
 * `npm start` does (to /dev/null) and answers the same users' requests;
 * the load comes from a worker thread of this process. Server CPU is the
 * whole process's (every thread: libuv's pool writes asynchronous logs).
 *
 *   npm run bench:ab -- 2e83465 [--scenarios get,list,me] [--rounds 6] [--seconds 5] [--viewer-of N]
 *
 * `--viewer-of N` makes every seeded user also a viewer of N teams besides
 * their own, for the lists of users in many workspaces.
 *
 * `--traced` compares this checkout with itself, traces off against on:
 * both sides preload the tracing module as `npm start` does, and the "head"
 * side exports its spans over OTLP/HTTP to a sink in this process that
 * counts and discards them (a collector's cost is not the server's).
 *
 *   npm run bench:ab -- --traced [--scenarios get,list,me]
 *   OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 npm run bench:ab -- --traced
 *
 * The SDK's own sampler settings in the environment reach the traced side
 * and are named in the report.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import { join } from "node:path";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { parseFlags } from "./cli.ts";
import { openBenchDatabase } from "./database.ts";
import { runLoad } from "./load.ts";
import { describeMachine } from "./report.ts";
import { type LoadUser, type ScenarioName, scenarioNames } from "./scenarios.ts";
import { seedDatabase } from "./seed.ts";
import { median, processCpuMs, type ServerProcess, startServerProcess } from "./server-process.ts";

const flags = parseFlags(
  "npm run bench:ab -- <earlier commit> | --traced [--scenarios get,list,me] [--rounds 6] [--seconds 5] [--users 1000] [--tasks 100000] [--viewer-of N]",
  {
    allowPositionals: true,
    options: {
      scenarios: { type: "string", default: "get,list,me" },
      rounds: { type: "string", default: "6" },
      seconds: { type: "string", default: "5" },
      users: { type: "string", default: "1000" },
      tasks: { type: "string", default: "100000" },
      /** Every user also a viewer of this many other teams (bench/seed.ts `viewerOf`). */
      "viewer-of": { type: "string", default: "0" },
      out: { type: "string", default: "bench/results" },
      /** This checkout against itself, traces off (base) and on (head). */
      traced: { type: "boolean", default: false },
    },
  },
);
const { values, positionals } = flags;
const traced = values.traced;
const samplerEnv = ["OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"]
  .filter((name) => traced && process.env[name])
  .map((name) => `${name}=${process.env[name]}`)
  .join(" ");
const baseRev = traced
  ? "HEAD"
  : (positionals[0] ?? flags.fail("name the earlier commit to compare with, or --traced"));
const scenarios = values.scenarios
  .split(",")
  .map((name) => flags.choice("scenarios", name.trim(), scenarioNames));
const rounds = flags.integer("rounds", values.rounds);
const seconds = flags.integer("seconds", values.seconds);
const userCount = flags.integer("users", values.users);
const taskCount = flags.integer("tasks", values.tasks);
const viewerOf = flags.integer("viewer-of", values["viewer-of"], 0);
const connections = 10;
const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();
const base = git("rev-parse", "--short", baseRev);
const head = git("rev-parse", "--short", "HEAD");
const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
const baseRoot = traced ? process.cwd() : join(os.tmpdir(), `taskpilot-ab-${base}`);
if (!existsSync(join(baseRoot, "package.json"))) {
  git("worktree", "add", "--detach", "--force", baseRoot, base);
}
if (!existsSync(join(baseRoot, "node_modules"))) {
  console.log(`npm ci in ${baseRoot}`);
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: baseRoot, stdio: "ignore" });
}

const bench = await openBenchDatabase({
  db: "postgres",
  databaseUrl: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  poolSize: connections,
});
// The OTLP/HTTP sink of `--traced`: counts export requests and their bytes.
const sink = { requests: 0, bytes: 0 };
const sinkServer = createServer((request, response) => {
  sink.requests += 1;
  request.on("data", (chunk: Buffer) => {
    sink.bytes += chunk.length;
  });
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
const sinkUrl = traced
  ? await new Promise<string>((resolve) =>
      sinkServer.listen(0, "127.0.0.1", () => {
        const address = sinkServer.address();
        resolve(`http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`);
      }),
    )
  : "";
// Both sides preload the tracing module as `npm start` does; only the traced
// one is told where to send spans.
const preload = ["--import", join(process.cwd(), "src/platform/observability/tracing.ts")];
const noOtel = { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_TRACES_EXPORTER: "" };
const sides = [
  {
    label: traced ? "traces off" : `base ${base}`,
    root: baseRoot,
    extra: traced ? { execArgv: preload, env: noOtel } : {},
    port: 0,
    pid: 0,
  },
  {
    label: traced ? "traces on" : `head ${head}${dirty ? " (uncommitted changes)" : ""}`,
    root: process.cwd(),
    extra: traced
      ? {
          execArgv: preload,
          env: { ...noOtel, OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_SERVICE_NAME: "bench" },
        }
      : {},
    port: 0,
    pid: 0,
  },
];
const children: ServerProcess[] = [];
try {
  await runMigrations(bench.database.pool);
  const seed = await seedDatabase(
    bench.database.pool,
    {
      users: userCount,
      tasks: taskCount,
      seed: 42,
      viewerOf,
    },
    () => {},
  );
  const users: LoadUser[] = seed.users.map((user) => ({
    token: user.token,
    taskIds: user.taskIds,
  }));
  for (const side of sides) {
    const server = await startServerProcess(side.root, bench.url ?? "", side.label, side.extra);
    children.push(server);
    side.port = server.port;
    side.pid = server.pid;
  }
  let offset = 0;
  const drive = (side: (typeof sides)[number], scenario: ScenarioName, runSeconds: number) => {
    offset += 100_000;
    return runLoad({
      url: `http://127.0.0.1:${side.port}`,
      scenario,
      users,
      seconds: runSeconds,
      connections,
      offset,
      mode: { kind: "closed" },
    });
  };
  const report = [];
  for (const scenario of scenarios) {
    // Warm-up: the JIT, and every user's token seen once by each side.
    for (const side of sides) await drive(side, scenario, 4);
    const slices = sides.map(() => ({
      perSecond: [] as number[],
      cpuMsPerRequest: [] as number[],
    }));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        const side = sides[index] as (typeof sides)[number];
        const before = processCpuMs(side.pid);
        const result = await drive(side, scenario, seconds);
        slices[index]?.perSecond.push(result.perSecond);
        slices[index]?.cpuMsPerRequest.push((processCpuMs(side.pid) - before) / result.ok);
      }
    }
    const [baseSlices, headSlices] = slices as [(typeof slices)[0], (typeof slices)[0]];
    const ratios = headSlices.perSecond.map((x, i) => x / (baseSlices.perSecond[i] as number));
    const entry = {
      scenario,
      base: {
        perSecond: baseSlices.perSecond.map(Math.round),
        cpuMsPerRequest: median(baseSlices.cpuMsPerRequest),
      },
      head: {
        perSecond: headSlices.perSecond.map(Math.round),
        cpuMsPerRequest: median(headSlices.cpuMsPerRequest),
      },
      headOverBasePerRound: ratios.map((x) => Math.round(x * 100) / 100),
      medianRatio: median(ratios),
      cpuRatio: median(headSlices.cpuMsPerRequest) / median(baseSlices.cpuMsPerRequest),
    };
    report.push(entry);
    console.log(
      `${scenario}: head/base req/s ${entry.headOverBasePerRound.join(" ")} (median ${entry.medianRatio.toFixed(2)}); ` +
        `server CPU ms/req ${entry.head.cpuMsPerRequest.toFixed(3)} vs ${entry.base.cpuMsPerRequest.toFixed(3)} (${entry.cpuRatio.toFixed(2)})`,
    );
  }
  const machine = describeMachine(bench.version);
  const date = new Date().toISOString().slice(0, 10);
  const file = join(
    values.out,
    `${date}-ab-${traced ? `traced${samplerEnv ? `-${process.env.OTEL_TRACES_SAMPLER_ARG ?? process.env.OTEL_TRACES_SAMPLER}` : ""}` : base}-${head}${viewerOf > 0 ? `-viewer-of-${viewerOf}` : ""}`,
  );
  mkdirSync(values.out, { recursive: true });
  const command =
    `${samplerEnv ? `${samplerEnv} ` : ""}npm run bench:ab -- ${traced ? "--traced" : baseRev} --scenarios ${values.scenarios} --rounds ${rounds} --seconds ${seconds}` +
    (viewerOf > 0 ? ` --viewer-of ${viewerOf}` : "");
  writeFileSync(
    `${file}.json`,
    `${JSON.stringify({ date, command, base, head, dirty, traced, ...(traced ? { otlpExports: sink } : {}), users: users.length, machine, loadAverage1m: os.loadavg()[0], report }, null, 2)}\n`,
  );
  const rows = report.map(
    (entry) =>
      `| ${entry.scenario} | ${entry.base.perSecond.join(", ")} | ${entry.head.perSecond.join(", ")} | ${entry.headOverBasePerRound.join(", ")} | **${entry.medianRatio.toFixed(2)}** | ${entry.base.cpuMsPerRequest.toFixed(3)} | ${entry.head.cpuMsPerRequest.toFixed(3)} | **${entry.cpuRatio.toFixed(2)}** |`,
  );
  writeFileSync(
    `${file}.md`,
    `# A/B: ${traced ? `traces on against off, ${head}` : `${head} against ${base}`}${dirty ? " (uncommitted changes)" : ""}

\`\`\`sh
${command}
\`\`\`

${date}; ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ${machine.database}. 1-minute load average at the end: ${os.loadavg()[0]?.toFixed(2)} (a shared machine: compare the sides within a round, not with other runs).

Both servers on one seeded database (${users.length} users, ${values.tasks} tasks${viewerOf > 0 ? `, every user also a viewer of ${viewerOf} teams besides their own` : ""}), each in its own process and logging as its own \`npm start\` does (to /dev/null)${traced ? `; both preload the tracing module as \`npm start\` does, and "head" is the side with traces on, exporting over OTLP/HTTP to a sink in the bench process that discards them (${sink.requests} export requests, ${(sink.bytes / 1e6).toFixed(1)} MB in all), "base" the side with them off` : ""}; ${rounds} rounds of ${seconds} s closed-loop slices at ${connections} connections, the sides taken in turn (ABBA), after a 4 s warm-up of each. Server CPU: the whole process (all threads) per request, median over the slices.

| Scenario | base req/s by round | head req/s by round | head/base by round | head/base median | base CPU ms/req | head CPU ms/req | CPU head/base |
|---|---|---|---|---:|---:|---:|---:|
${rows.join("\n")}
`,
  );
  console.log(`wrote ${file}.md and ${file}.json`);
} finally {
  for (const server of children) server.child.kill("SIGKILL");
  sinkServer.close();
  await bench.dispose();
}
