import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import autocannon from "autocannon";
import type { LoadJob, LoadResult } from "./load.ts";
import { httpCall, usersFor } from "./scenarios.ts";
import { summarize } from "./stats.ts";

type Recorder = {
  latencies: number[];
  statusCounts: Record<string, number>;
  failures: string[];
  errors: number;
  timeouts: number;
};

function newRecorder(): Recorder {
  return { latencies: [], statusCounts: {}, failures: [], errors: 0, timeouts: 0 };
}

function record(recorder: Recorder, status: number, ms: number): void {
  recorder.statusCounts[status] = (recorder.statusCounts[status] ?? 0) + 1;
  if (status >= 200 && status < 300) recorder.latencies.push(ms);
}

function finish(
  recorder: Recorder,
  elapsedMs: number,
  extra?: Pick<LoadResult, "autocannon">,
): LoadResult {
  const ok = recorder.latencies.length;
  const total = Object.values(recorder.statusCounts).reduce((sum, count) => sum + count, 0);
  return {
    perSecond: ok / (elapsedMs / 1000),
    ok,
    elapsedMs,
    latency: summarize(recorder.latencies),
    samples: Float64Array.from(recorder.latencies),
    statusCounts: recorder.statusCounts,
    non2xx: total - ok,
    errors: recorder.errors,
    timeouts: recorder.timeouts,
    failures: recorder.failures,
    ...extra,
  };
}

function headersFor(token: string, body: string | undefined): Record<string, string> {
  return body === undefined
    ? { authorization: `Bearer ${token}` }
    : { authorization: `Bearer ${token}`, "content-type": "application/json" };
}

function withAutocannon(job: LoadJob): Promise<LoadResult> {
  const users = usersFor(job.scenario, job.users);
  const recorder = newRecorder();
  let counter = job.offset;
  const request: autocannon.Request = {
    setupRequest: (base) => {
      const { user, call } = httpCall(job.scenario, users, counter++);
      return {
        ...base,
        method: call.method,
        path: call.path,
        headers: headersFor(user.token, call.body),
        body: call.body ?? "",
      };
    },
    onResponse: (status, body) => {
      if ((status < 200 || status >= 300) && recorder.failures.length < 5) {
        recorder.failures.push(`${status} ${body.slice(0, 400)}`);
      }
    },
  };
  const options: autocannon.Options = {
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    timeout: 10,
    requests: [request],
    ...(job.mode.kind === "autocannon-rate" ? { overallRate: job.mode.rate } : {}),
  };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, raw) => {
      if (error) {
        reject(error);
        return;
      }
      // Off the main thread autocannon leaves its histograms encoded.
      const result = autocannon.aggregateResult([raw], options);
      recorder.timeouts = result.timeouts;
      recorder.errors = result.errors - result.timeouts;
      resolve(
        finish(recorder, performance.now() - started, {
          autocannon: {
            p50: result.latency.p50,
            p90: result.latency.p90,
            p99: result.latency.p99,
            averageRps: result.requests.average,
          },
        }),
      );
    });
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) =>
      record(recorder, status, ms),
    );
    instance.on("reqError", (error: Error) => {
      if (recorder.failures.length < 5) recorder.failures.push(`error: ${error.message}`);
    });
  });
}

/**
 * Open-loop load: request n is due at start + n/rate and its latency counts
 * from then, so time spent waiting for a free connection is included (no
 * coordinated omission). Node's keep-alive agent holds `connections` sockets.
 */
function paced(job: LoadJob, rate: number, warmupSeconds: number): Promise<LoadResult> {
  const users = usersFor(job.scenario, job.users);
  const recorder = newRecorder();
  const target = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const interval = 1000 / rate;
  const total = Math.max(1, Math.floor((warmupSeconds + job.seconds) * rate));
  // New sockets, a new thread's JIT: both the API and the floor showed slow
  // first seconds without it.
  const warmupMs = warmupSeconds * 1000;
  /** How late each request left compared with its schedule (a busy generator). */
  const lags: number[] = [];
  /** The longest send lag among the requests due in each second. */
  const lagMaxBySecond: number[] = [];
  /** 2xx latencies by the second they were due in: is the tail spread out or one stall? */
  const bySecond: number[][] = [];
  return new Promise((resolve) => {
    const start = performance.now();
    let sent = 0;
    let done = 0;
    const complete = () => {
      done++;
      if (done === total) {
        agent.destroy();
        resolve({
          ...finish(recorder, performance.now() - start - warmupMs),
          sendLag: summarize(lags),
          sendLagMaxBySecond: Array.from(lagMaxBySecond, (lag) => lag ?? 0),
          p95BySecond: Array.from(bySecond, (latencies) =>
            latencies ? summarize(latencies).p95 : null,
          ),
        });
      }
    };
    const fire = (scheduled: number) => {
      const measured = scheduled - start >= warmupMs;
      const second = Math.floor((scheduled - start - warmupMs) / 1000);
      const lag = performance.now() - scheduled;
      if (measured) {
        lags.push(lag);
        lagMaxBySecond[second] = Math.max(lagMaxBySecond[second] ?? 0, lag);
      }
      const { user, call } = httpCall(job.scenario, users, job.offset + sent);
      sent++;
      const request = http.request(
        {
          agent,
          hostname: target.hostname,
          port: target.port,
          method: call.method,
          path: call.path,
          headers: headersFor(user.token, call.body),
          timeout: 10_000,
        },
        (response) => {
          const status = response.statusCode ?? 0;
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            if (status >= 300) body += chunk;
          });
          response.on("end", () => {
            const ms = performance.now() - scheduled;
            const ok = status >= 200 && status < 300;
            if (measured || !ok) record(recorder, status, ms);
            if (measured && ok) {
              const bucket = bySecond[second] ?? [];
              bucket.push(ms);
              bySecond[second] = bucket;
            }
            if (status >= 300 && recorder.failures.length < 5) {
              recorder.failures.push(`${status} ${body.slice(0, 400)}`);
            }
            complete();
          });
        },
      );
      request.on("timeout", () => {
        recorder.timeouts++;
        request.destroy(new Error("timeout"));
      });
      request.on("error", (error) => {
        recorder.errors++;
        if (recorder.failures.length < 5) recorder.failures.push(`error: ${error.message}`);
        complete();
      });
      request.end(call.body);
    };
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) fire(start + sent * interval);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

async function main(): Promise<void> {
  const job = workerData as LoadJob;
  const before = process.threadCpuUsage();
  const result =
    job.mode.kind === "paced"
      ? await paced(job, job.mode.rate, job.mode.warmupSeconds)
      : await withAutocannon(job);
  const used = process.threadCpuUsage(before);
  const message: LoadResult = { ...result, generatorCpuMs: (used.user + used.system) / 1000 };
  parentPort?.postMessage(message);
}

await main();
