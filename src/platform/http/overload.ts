import { getHeapStatistics } from "node:v8";
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import { DomainError } from "./errors.ts";

/** When to shed load; 0 turns a check off. */
export type OverloadSettings = {
  /** Mean event-loop delay over one sample. */
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
  /** Event-loop utilisation (0..1) over one sample. */
  maxEventLoopUtilization: number;
  retryAfterSeconds: number;
  sampleIntervalMs?: number;
};

export const defaultOverload: OverloadSettings = {
  maxEventLoopDelayMs: 1_000,
  // Shed before V8 runs out of heap and the process dies with every request.
  maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
  maxRssBytes: 0,
  maxEventLoopUtilization: 0,
  retryAfterSeconds: 10,
};

declare module "fastify" {
  interface FastifyContextConfig {
    /** false: answer even under pressure (liveness probes). */
    loadShedding?: boolean;
  }
}

/**
 * Load shedding: while the process is overloaded every request is answered
 * at once with 503 `unavailable` and `Retry-After`, instead of joining a
 * queue that makes every answer late. `/readyz` sheds too, so a load
 * balancer stops sending traffic; `/healthz` does not, so an orchestrator
 * does not restart a process that is only busy.
 */
export async function registerLoadShedding(
  app: FastifyInstance,
  settings: OverloadSettings,
): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: settings.maxEventLoopDelayMs,
    maxHeapUsedBytes: settings.maxHeapUsedBytes,
    maxRssBytes: settings.maxRssBytes,
    maxEventLoopUtilization: settings.maxEventLoopUtilization,
    eventLoopUtilizationMode: "interval",
    sampleInterval: settings.sampleIntervalMs ?? 1_000,
    pressureHandler: async (request, _reply, type, value) => {
      if (request.routeOptions.config.loadShedding === false) return;
      request.log.debug({ type, value }, "shedding load");
      throw new DomainError("unavailable", "The server is overloaded; retry later", {
        headers: { "retry-after": String(settings.retryAfterSeconds) },
      });
    },
  });
}
