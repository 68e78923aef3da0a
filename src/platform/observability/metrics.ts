import { hash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { z } from "zod";
import { DomainError } from "../http/errors.ts";
import { problemResponse } from "../http/route-helpers.ts";

/**
 * The process's own metrics (CPU, memory, heap, event-loop lag, GC, handles),
 * collected once per process: they describe the process, not an app, and
 * each collection starts an event-loop monitor. Every app in the process
 * shows them beside its own.
 */
let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Request durations in seconds: the API's answers take 1-20 ms, model calls
 * up to the AI timeout (30 s).
 */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * An app's metric registry, holding the database pool's gauges. Modules add
 * their own metrics to it (names start with `taskpilot_`); `/metrics` shows
 * them with the process's.
 */
export function createMetrics(pool: pg.Pool): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: "taskpilot_db_pool_connections",
    help: "Database connections of this instance's pool, by state",
    labelNames: ["state"] as const,
    registers,
    collect() {
      this.set({ state: "idle" }, pool.idleCount);
      this.set({ state: "in_use" }, pool.totalCount - pool.idleCount);
    },
  });
  new Gauge({
    name: "taskpilot_db_pool_waiting",
    help: "Queries waiting for a database connection",
    registers,
    collect() {
      this.set(pool.waitingCount);
    },
  });
  return registry;
}

/** The route label: the route's pattern, never the path (ids would make a series each). */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? "unmatched";
}

/**
 * Times every answer (`http_request_duration_seconds` by method, route
 * pattern and status) and serves `GET /metrics` in Prometheus's text
 * format. With `token` set the scrape must send it as a bearer token;
 * without, anyone who reaches the port may read the metrics, which name
 * routes and counts, never users or data.
 */
export function registerMetrics(
  app: FastifyInstance,
  registry: Registry,
  options: { token?: string | undefined } = {},
): void {
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving a request to sending its answer, by method, route and status",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: durationBuckets,
    registers: [registry],
  });
  // Synchronous (`done`): an async hook costs a promise and a microtask per request.
  app.addHook("onResponse", (request, reply, done) => {
    duration.observe(
      { method: request.method, route: routeOf(request), status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });
  const expected = options.token === undefined ? undefined : digest(options.token);
  app.get("/metrics", {
    // A scrape must get through when the instance is busiest.
    config: { rateLimit: false, loadShedding: false },
    schema: {
      tags: ["Operations"],
      summary: "Prometheus metrics of this instance",
      description:
        "Prometheus text format: request durations by route and status, the database pool, " +
        "model calls and tokens, and the process (CPU, memory, event loop, GC). Each " +
        "instance serves its own. With `METRICS_TOKEN` set, send it as a bearer token.",
      response: {
        200: { description: "The metrics", content: { "text/plain": { schema: z.string() } } },
        401: problemResponse,
        500: problemResponse,
      },
    },
    handler: async (request, reply) => {
      if (expected && !bearerMatches(request.headers.authorization, expected)) {
        throw new DomainError("unauthenticated", "Send the metrics token as a bearer token", {
          headers: { "www-authenticate": 'Bearer realm="metrics"' },
        });
      }
      const merged = Registry.merge([processMetrics(), registry]);
      return reply
        .header("cache-control", "no-store")
        .type(merged.contentType)
        .send(await merged.metrics());
    },
  });
}

function digest(text: string): Buffer {
  return hash("sha256", text, "buffer");
}

/** Compares digests, so the comparison takes the same time whatever the header holds. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const token = /^Bearer ([^\s]+)$/i.exec(header ?? "")?.[1];
  return token !== undefined && timingSafeEqual(digest(token), expected);
}
