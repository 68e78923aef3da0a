/**
 * `npx node bench/heap-probe.ts [get|list]`: what the server allocates that
 * outlives a scavenge, by allocation site, per request. Such objects are
 * promoted to old space, and only a major (mark-compact) GC frees them: those
 * pauses (8-14 ms on this machine) are what made whole seconds of a paced
 * run slow. Seeds a small Postgres database (200 users, 20,000 tasks), serves
 * the app as the bench does (info logging to /dev/null), loads it from a
 * worker thread over keep-alive HTTP (10 connections), then samples the heap
 * for 8 s with V8's sampling profiler told to forget objects a minor GC
 * collected and keep those a major GC collected.
 *
 *   npx node bench/heap-probe.ts get     # GET /v1/tasks/{id}
 *   npx node bench/heap-probe.ts list    # GET /v1/tasks?status=open&sort=dueAt&limit=50
 */
import "../src/platform/runtime.ts";
import { randomBytes } from "node:crypto";
import { Session } from "node:inspector/promises";
import { Worker } from "node:worker_threads";
import { buildApp } from "../src/app.ts";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { logDestination } from "../src/platform/observability/logger.ts";
import { openBenchDatabase } from "./database.ts";
import { seedDatabase } from "./seed.ts";

const scenario = process.argv[2] === "list" ? "list" : "get";
const connections = 10;

/** The load: each connection sends its next request 1 ms after the last answer. */
const loadCode = `
const { workerData, parentPort } = require("node:worker_threads");
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: workerData.connections });
const end = Date.now() + workerData.ms;
let next = 0, answered = 0, live = workerData.connections;
const one = () => {
  if (Date.now() > end) { if (--live === 0) parentPort.postMessage(answered); return; }
  const call = workerData.calls[next++ % workerData.calls.length];
  http.get({ agent, host: "127.0.0.1", port: workerData.port, path: call.path,
    headers: { authorization: "Bearer " + call.token } }, (response) => {
    if (response.statusCode !== 200) throw new Error("answered " + response.statusCode);
    response.resume();
    response.on("end", () => { answered++; setTimeout(one, 1); });
  });
};
for (let i = 0; i < workerData.connections; i++) one();`;

type ProfileNode = {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
};

const bench = await openBenchDatabase({
  db: "postgres",
  databaseUrl: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  poolSize: connections,
});
try {
  await runMigrations(bench.database.pool);
  const seed = await seedDatabase(
    bench.database.pool,
    { users: 200, tasks: 20_000, seed: 7 },
    () => {},
  );
  const app = await buildApp({
    database: bench.database,
    authSecret: randomBytes(32).toString("base64url"),
    publicUrl: "http://127.0.0.1",
    logLevel: "info",
    logStream: logDestination("/dev/null"),
    authRateLimit: false,
    rateLimit: false,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const calls = seed.users
    .filter((user) => user.taskIds.length > 0)
    .map((user) => ({
      token: user.token,
      path:
        scenario === "get"
          ? `/v1/tasks/${user.taskIds[0]}`
          : "/v1/tasks?status=open&sort=dueAt&limit=50",
    }));
  const drive = (ms: number) =>
    new Promise<number>((resolve, reject) => {
      const worker = new Worker(loadCode, {
        eval: true,
        workerData: { ms, port: address.port, calls, connections },
      });
      worker.once("error", reject);
      worker.once("message", (answered: number) => {
        void worker.terminate();
        resolve(answered);
      });
    });

  await drive(3_000); // warm-up: JIT, caches, connections
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  const answered = await drive(8_000);
  const { profile } = await session.post("HeapProfiler.stopSampling");
  session.disconnect();

  const bySite = new Map<string, number>();
  const place = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/.*node_modules\//, "").replace(/^file:\/\/.*?\/(src|bench)\//, "$1/");
    return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
  };
  const walk = (node: ProfileNode, stack: string[]) => {
    const here = [place(node), ...stack].slice(0, 4);
    if (node.selfSize > 0) {
      const key = here.join(" < ");
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(profile.head as ProfileNode, []);
  const total = [...bySite.values()].reduce((sum, bytes) => sum + bytes, 0);
  console.log(
    `${scenario}: ${answered} requests in 8 s; sampled bytes that outlived a scavenge: ` +
      `${(total / 1e6).toFixed(1)} MB, ${(total / Math.max(1, answered)).toFixed(0)} B per request`,
  );
  console.log("\n| B/request | allocated at (innermost first) |\n|---:|---|");
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`| ${(bytes / Math.max(1, answered)).toFixed(0)} | ${site} |`);
  }
  await app.close();
} finally {
  await bench.dispose();
}
