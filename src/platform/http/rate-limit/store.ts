import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import LocalStore from "@fastify/rate-limit/store/LocalStore.js";
import RedisStore from "@fastify/rate-limit/store/RedisStore.js";
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "../../cache/redis.ts";

type Incr = FastifyRateLimitStore["incr"];

/**
 * Remembers whether the shared counters are reachable, so an outage is
 * logged once when it starts and once when it ends, not on every request.
 */
class RedisHealth {
  #degraded = false;
  readonly #log: FastifyBaseLogger;

  constructor(log: FastifyBaseLogger) {
    this.#log = log;
  }

  down(error?: unknown): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#log.warn(
      { err: error },
      "Redis is unreachable: rate limits fall back to this instance's own counters",
    );
  }

  up(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#log.info("Redis is reachable again: rate limits are shared across instances again");
  }
}

/**
 * A rate-limit store that counts in Redis when it is there and in this
 * process when it is not. A Redis failure costs the request nothing but the
 * sharing: each instance then enforces the limits on its own (so a client
 * spread over N instances may get up to N times the limit until Redis
 * returns). It never turns into an error answer.
 */
export function fallbackStore(options: {
  redis: Redis | undefined;
  keyPrefix: string;
  log: FastifyBaseLogger;
}): FastifyRateLimitStoreCtor {
  const local = new LocalStore(false, false, 50_000);
  const shared = options.redis
    ? new RedisStore(false, false, options.redis, options.keyPrefix)
    : undefined;
  const health = new RedisHealth(options.log);
  const client = options.redis;

  const incr: Incr = (key, callback, timeWindow, max) => {
    // ioredis reports "ready" only while connected; anything else would fail
    // (or, without an offline queue, be refused) anyway.
    if (!shared || client?.status !== "ready") {
      if (shared) health.down();
      local.incr(key, callback, timeWindow, max);
      return;
    }
    shared.incr(
      key,
      (error, result) => {
        if (error || !result) {
          health.down(error);
          local.incr(key, callback, timeWindow, max);
          return;
        }
        health.up();
        callback(null, result);
      },
      timeWindow,
      max,
    );
  };

  // One store for every limiter: policies are part of the key already.
  class FallbackStore implements FastifyRateLimitStore {
    incr = incr;
    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return FallbackStore;
}
