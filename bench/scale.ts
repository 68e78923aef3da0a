/**
 * `npm run bench:scale`: the list's p95 on a large dataset against a small
 * one, measured in the same minutes. `npm run bench -- --compare` sets two
 * runs made at different times side by side; on this shared machine the
 * same code's list p95 moved from 4.7 to 8.8 ms between two quiet days and
 * from 8.8 to 6.9 ms within ten minutes, which moved that ratio from 1.37x
 * to 1.80x. Here both datasets are seeded (one Postgres database each, the
 * same users and seed), each is served by its own server process
 * (`bench/ab-server.ts`, this checkout, logging as `npm start` does), and
 * closed-loop slices of the list alternate between them (ABBA), so both
 * sides see the same noise and the ratio is taken within each round.
 *
 *   npm run bench:scale [-- --users 1000 --small 100000 --large 1000000 --rounds 8 --seconds 5]
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { type BaselineOp, BaselineSessionCache, baselineOp, runBaseline } from "./baseline.ts";
import { parseFlags } from "./cli.ts";
import { type BenchDatabase, openBenchDatabase } from "./database.ts";
import { runLoad } from "./load.ts";
import { describeMachine } from "./report.ts";
import { type LoadUser, scenarioLabels } from "./scenarios.ts";
import { seedDatabase } from "./seed.ts";
import { median, processCpuMs, type ServerProcess, startServerProcess } from "./server-process.ts";
import { concatSamples, round, summarize } from "./stats.ts";

const flags = parseFlags(
  "npm run bench:scale [-- --users 1000 --large-users N --small 100000 --large 1000000 --rounds 8 --seconds 5 --cluster none|large|both]",
  {
    options: {
      users: { type: "string", default: "1000" },
      /** Users of the large dataset (default: --users): 10x the users keeps each user's tasks the same. */
      "large-users": { type: "string" },
      small: { type: "string", default: "100000" },
      large: { type: "string", default: "1000000" },
      rounds: { type: "string", default: "8" },
      seconds: { type: "string", default: "5" },
      /** Rewrite which sides' tasks tables in list-index order after seeding (CLUSTER): none, large or both. */
      cluster: { type: "string", default: "none" },
      out: { type: "string", default: "bench/results" },
    },
  },
);
const { values } = flags;
const clusterChoices = ["none", "large", "both"] as const;
type ClusterChoice = (typeof clusterChoices)[number];
const cluster = flags.choice("cluster", values.cluster, clusterChoices);
const clusterText: Record<ClusterChoice, string> = {
  none: "the tasks as the seed wrote them (users interleaved, as sign-ups are).",
  large:
    "the large side's tasks table then rewritten in the list index's order (CLUSTER), the small side's as the seed wrote it.",
  both: "both tasks tables then rewritten in the list index's order (CLUSTER).",
};
const users = flags.integer("users", values.users);
const largeUsers = flags.integer("large-users", values["large-users"] ?? values.users);
const rounds = flags.integer("rounds", values.rounds);
const seconds = flags.integer("seconds", values.seconds);
const smallTasks = flags.integer("small", values.small);
const largeTasks = flags.integer("large", values.large);
const connections = 10;
const target = 1.5;
const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
/** Progress on the terminal (a CLI's output, not the server's logs). */
const log = (line: string) =>
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

type Side = {
  label: "small" | "large";
  users: number;
  tasks: number;
  database?: BenchDatabase;
  server?: ServerProcess;
  loadUsers: LoadUser[];
  /** The next request's counter: each slice goes on where the last stopped, so every user takes turns. */
  next: number;
  /** The same for the raw-SQL slices. */
  sqlNext: number;
  /** Whether its tasks table was rewritten in the list index's order (`--cluster`). */
  clustered: boolean;
  /** The raw-SQL baseline's list statement on this side's database (bench/baseline.ts). */
  sql?: BaselineOp;
  slices: Array<{
    perSecond: number;
    p50: number;
    p95: number;
    cpuMsPerRequest: number;
    sqlPerSecond: number;
    sqlP95: number;
  }>;
  samples: Float64Array[];
};
const sides: Side[] = [
  {
    label: "small",
    users,
    tasks: smallTasks,
    loadUsers: [],
    next: 0,
    sqlNext: 0,
    clustered: cluster === "both",
    slices: [],
    samples: [],
  },
  {
    label: "large",
    users: largeUsers,
    tasks: largeTasks,
    loadUsers: [],
    next: 0,
    sqlNext: 0,
    clustered: cluster !== "none",
    slices: [],
    samples: [],
  },
];

try {
  for (const side of sides) {
    side.database = await openBenchDatabase({
      db: "postgres",
      databaseUrl: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
      poolSize: connections,
    });
    await runMigrations(side.database.database.pool);
    log(`seeding ${side.users} users and ${side.tasks} tasks into ${side.database.name}`);
    const seed = await seedDatabase(
      side.database.database.pool,
      { users: side.users, tasks: side.tasks, seed: 42 },
      () => {},
    );
    log(`seeded in ${(seed.ms / 1000).toFixed(1)} s`);
    if (side.clustered) {
      // What an operator's CLUSTER (or pg_repack) would do: a workspace's
      // open tasks in due order end up on neighbouring heap pages instead of
      // one page each. Postgres does not keep that order for later writes.
      // CLUSTER refuses the partial list index, so it goes by a full copy of
      // its keys, dropped again.
      const started = Date.now();
      const pool = side.database.database.pool;
      await pool.query(
        `create index tasks_cluster_order on tasks (workspace_id, status, due_at, id)`,
      );
      await pool.query("cluster tasks using tasks_cluster_order");
      await pool.query("drop index tasks_cluster_order");
      await pool.query("vacuum analyze tasks");
      log(`clustered tasks in list order in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    side.loadUsers = seed.users.map((user) => ({ token: user.token, taskIds: user.taskIds }));
    side.server = await startServerProcess(process.cwd(), side.database.url ?? "", side.label);
    // The app's caches' TTLs (5 min), as in `npm run bench`.
    const sessions = new BaselineSessionCache(300_000, 300_000);
    side.sql = baselineOp(side.database.database.pool, sessions, "list", side.loadUsers);
  }
  const drive = async (side: Side, runSeconds: number) => {
    const result = await runLoad({
      url: `http://127.0.0.1:${side.server?.port}`,
      scenario: "list",
      users: side.loadUsers,
      seconds: runSeconds,
      connections,
      offset: side.next,
      mode: { kind: "closed" },
    });
    side.next += result.ok + result.non2xx;
    return result;
  };
  // Warm-up: the JIT, and every user's session, user and first page seen
  // once by each server (10,000 users take longer than one 4 s slice).
  const sqlSlice = async (side: Side, runSeconds: number) => {
    if (!side.sql) throw new Error("no baseline");
    const result = await runBaseline(side.sql, {
      concurrency: connections,
      seconds: runSeconds,
      offset: side.sqlNext,
    });
    side.sqlNext += result.ops + result.errors;
    return result;
  };
  for (const side of sides) {
    do await drive(side, 4);
    while (side.next < side.loadUsers.length);
    do await sqlSlice(side, 4);
    while (side.sqlNext < side.loadUsers.length);
  }
  for (let index = 0; index < rounds; index++) {
    for (const side of index % 2 === 0 ? sides : [...sides].reverse()) {
      const pid = side.server?.pid ?? 0;
      const before = processCpuMs(pid);
      const result = await drive(side, seconds);
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${side.label}: ${result.failures.join("; ")}`);
      }
      const cpuMsPerRequest = round((processCpuMs(pid) - before) / result.ok, 3);
      const sql = await sqlSlice(side, seconds);
      if (sql.errors > 0) throw new Error(`${side.label} raw SQL: ${sql.failures.join("; ")}`);
      side.slices.push({
        perSecond: round(result.perSecond, 0),
        p50: round(result.latency.p50),
        p95: round(result.latency.p95),
        cpuMsPerRequest,
        sqlPerSecond: round(sql.perSecond, 0),
        sqlP95: round(sql.latency.p95),
      });
      side.samples.push(result.samples);
    }
    const [small, large] = sides.map((side) => side.slices.at(-1)) as [
      Side["slices"][number],
      Side["slices"][number],
    ];
    log(
      `round ${index + 1}: p95 ${small.p95} -> ${large.p95} ms (${(large.p95 / small.p95).toFixed(2)}x), ` +
        `${small.perSecond} -> ${large.perSecond} req/s; raw SQL p95 ${small.sqlP95} -> ${large.sqlP95} ms`,
    );
  }
  const [small, large] = sides as [Side, Side];
  const perRound = small.slices.map((slice, index) =>
    round((large.slices[index]?.p95 ?? Number.NaN) / slice.p95),
  );
  const pooled = sides.map((side) => summarize(concatSamples(side.samples)));
  const pooledRatio = round((pooled[1]?.p95 ?? Number.NaN) / (pooled[0]?.p95 ?? Number.NaN));
  const medianRatio = median(perRound);
  const sqlPerRound = small.slices.map((slice, index) =>
    round((large.slices[index]?.sqlP95 ?? Number.NaN) / slice.sqlP95),
  );
  const machine = describeMachine(small.database?.version ?? "");
  const date = new Date().toISOString().slice(0, 10);
  const largeFlag = largeUsers === users ? "" : ` --large-users ${largeUsers}`;
  const clusterFlag = cluster === "none" ? "" : ` --cluster ${cluster}`;
  const command = `npm run bench:scale -- --users ${users}${largeFlag} --small ${small.tasks} --large ${large.tasks} --rounds ${rounds} --seconds ${seconds}${clusterFlag}`;
  const met = medianRatio <= target;
  const report = {
    date,
    command,
    head,
    machine,
    loadAverage1m: os.loadavg()[0],
    scenario: scenarioLabels.list,
    sides: sides.map((side, index) => ({
      users: side.users,
      tasks: side.tasks,
      clustered: side.clustered,
      slices: side.slices,
      pooled: pooled[index],
      cpuMsPerRequest: median(side.slices.map((slice) => slice.cpuMsPerRequest)),
    })),
    p95RatioPerRound: perRound,
    p95RatioMedian: medianRatio,
    p95RatioPooled: pooledRatio,
    sqlP95RatioPerRound: sqlPerRound,
    sqlP95RatioMedian: median(sqlPerRound),
    target: { ratio: target, met },
  };
  const file = join(
    values.out,
    `${date}-scale-${users}u-${small.tasks}t-${largeUsers}u-${large.tasks}t${cluster === "none" ? "" : `-cluster-${cluster}`}`,
  );
  writeFileSync(`${file}.json`, `${JSON.stringify(report, null, 2)}\n`);
  const n = (value: number) => value.toLocaleString("en-US");
  const cells = (side: Side, key: "p95" | "perSecond" | "sqlP95" | "sqlPerSecond") =>
    side.slices.map((slice) => slice[key]).join(", ");
  writeFileSync(
    `${file}.md`,
    `# List p95 at ${n(largeUsers)} users / ${n(large.tasks)} tasks against ${n(users)} / ${n(small.tasks)}, measured in turn

\`\`\`sh
${command}
\`\`\`

${date}, code ${head}; ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ${machine.database}. 1-minute load average at the end: ${os.loadavg()[0]?.toFixed(2)} (a shared machine: compare the sides within a round, not with other runs).

GET /v1/tasks: ${scenarioLabels.list}. Two Postgres databases seeded with the same seed: ${n(users)} users and ${n(small.tasks)} tasks, ${n(largeUsers)} users and ${n(large.tasks)} tasks (tasks per user ${n(Math.round(small.tasks / users))} and ${n(Math.round(large.tasks / largeUsers))}); ${clusterText[cluster]} Each served by its own server process (this checkout, logging as \`npm start\` does, to /dev/null). ${rounds} rounds of ${seconds} s closed-loop slices at ${connections} connections, each followed by a raw-SQL slice on the same side, the sides taken in turn (ABBA), after a warm-up of each (4 s slices until every user has been served once).

| | ${n(users)} users, ${n(small.tasks)} tasks | ${n(largeUsers)} users, ${n(large.tasks)} tasks |
|---|---|---|
| p95 by round (ms) | ${cells(small, "p95")} | ${cells(large, "p95")} |
| req/s by round | ${cells(small, "perSecond")} | ${cells(large, "perSecond")} |
| p95 over all slices (ms) | ${pooled[0]?.p95.toFixed(2)} | ${pooled[1]?.p95.toFixed(2)} |
| raw SQL p95 by round (ms) | ${cells(small, "sqlP95")} | ${cells(large, "sqlP95")} |
| raw SQL ops/s by round | ${cells(small, "sqlPerSecond")} | ${cells(large, "sqlPerSecond")} |
| server CPU ms/req (whole process, median) | ${report.sides[0]?.cpuMsPerRequest.toFixed(3)} | ${report.sides[1]?.cpuMsPerRequest.toFixed(3)} |

p95 ratio (large / small) by round: ${perRound.join(", ")}; **median ${medianRatio.toFixed(2)}x**, over all slices ${pooledRatio.toFixed(2)}x. Target: within ${target}x, **${met ? "met" : "not met"}** (median of the rounds).

Raw SQL (the list statement the API sends, through \`pg\` from this process at the same concurrency, right after each API slice on the same side; bench/baseline.ts): p95 ratio by round ${sqlPerRound.join(", ")}; median ${median(sqlPerRound).toFixed(2)}x. Where the API's ratio is below this one, the rest of a request (HTTP, auth, JSON) does not grow with the data.
`,
  );
  log(
    `p95 ratio by round ${perRound.join(" ")}; median ${medianRatio.toFixed(2)}x (${met ? "met" : "NOT MET"}), pooled ${pooledRatio.toFixed(2)}x`,
  );
  log(`wrote ${file}.md and ${file}.json`);
} finally {
  for (const side of sides) side.server?.child.kill("SIGKILL");
  for (const side of sides) await side.database?.dispose();
}
