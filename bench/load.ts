/**
 * Drives HTTP load from a worker thread, so the load generator has its own
 * event loop and does not steal the server's (they still share the CPU).
 */

import { Worker } from "node:worker_threads";
import type { LoadUser, ScenarioName } from "./scenarios.ts";
import type { StallsBySecond } from "./stalls.ts";
import { concatSamples, type LatencySummary, summarize } from "./stats.ts";

export type LoadMode =
  /** autocannon, closed loop: each connection sends its next request when the last answers. */
  | { kind: "closed" }
  /** autocannon with `overallRate`: a per-connection quota each second (sent in bursts). */
  | { kind: "autocannon-rate"; rate: number }
  /**
   * Open loop, evenly spaced sends; latency counts from the scheduled send
   * time. The first `warmupSeconds` are sent at the same rate and not
   * measured (a non-2xx answer still counts as a failure).
   */
  | { kind: "paced"; rate: number; warmupSeconds: number };

export type LoadJob = {
  url: string;
  scenario: ScenarioName;
  users: LoadUser[];
  seconds: number;
  connections: number;
  /** First request counter, so runs do not repeat each other's inputs. */
  offset: number;
  mode: LoadMode;
};

export type LoadResult = {
  /** 2xx responses per second over the run. */
  perSecond: number;
  ok: number;
  elapsedMs: number;
  latency: LatencySummary;
  /** Every 2xx latency in ms (kept out of the JSON report). */
  samples: Float64Array;
  statusCounts: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** A few non-2xx answers or errors, for the failure message. */
  failures: string[];
  /** Paced runs: how late requests left the generator (its own stalls count as latency). */
  sendLag?: LatencySummary;
  /** Paced runs: the p95 of the requests due in each second of the run, in order (null: none answered 2xx). */
  p95BySecond?: Array<number | null>;
  /** Paced runs: the longest send lag among the requests due in each second (ms). */
  sendLagMaxBySecond?: number[];
  /** Paced runs: the server thread's event-loop delay, GC pauses and the VM's steal by second. */
  stalls?: StallsBySecond;
  /** CPU time of the load generator's own thread over the run (it shares the machine's cores). */
  generatorCpuMs?: number;
  /** autocannon's own histogram (integer ms, coordinated-omission corrected in rate mode). */
  autocannon?: { p50: number; p90: number; p99: number; averageRps: number };
};

/** Several runs of the same load as one: counts add up, latencies pool. */
export function mergeLoads(parts: readonly LoadResult[]): LoadResult {
  const first = parts[0];
  if (!first || parts.length === 1) {
    if (!first) throw new Error("nothing to merge");
    return first;
  }
  const samples = concatSamples(parts.map((part) => part.samples));
  const elapsedMs = parts.reduce((sum, part) => sum + part.elapsedMs, 0);
  const ok = parts.reduce((sum, part) => sum + part.ok, 0);
  const statusCounts: Record<string, number> = {};
  for (const part of parts) {
    for (const [status, count] of Object.entries(part.statusCounts)) {
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
    }
  }
  return {
    perSecond: ok / (elapsedMs / 1000),
    ok,
    elapsedMs,
    latency: summarize(samples),
    samples,
    statusCounts,
    non2xx: parts.reduce((sum, part) => sum + part.non2xx, 0),
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    timeouts: parts.reduce((sum, part) => sum + part.timeouts, 0),
    failures: parts.flatMap((part) => part.failures).slice(0, 5),
    generatorCpuMs: parts.reduce((sum, part) => sum + (part.generatorCpuMs ?? 0), 0),
    ...(first.autocannon ? { autocannon: first.autocannon } : {}),
  };
}

export function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./load-worker.ts", import.meta.url), { workerData: job });
    let settled = false;
    worker.once("message", (result: LoadResult) => {
      settled = true;
      resolve(result);
    });
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`load worker exited with code ${code} before reporting`));
    });
  });
}
