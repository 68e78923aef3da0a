import { Redis } from "ioredis";

export type { Redis };

/**
 * A Redis client for shared counters and caches. Commands fail fast while the
 * server is unreachable (no offline queue, one retry per request) so callers
 * can fall back to in-process state instead of waiting; the client keeps
 * reconnecting in the background.
 */
export function connectRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}
