import { Redis } from "ioredis";

export type { Redis };

/**
 * A Redis client for shared counters and caches. Commands fail fast while the
 * server is unreachable (no offline queue, one retry per request, half a
 * second at most for an answer) so callers can fall back to in-process state
 * instead of waiting; the client keeps reconnecting in the background.
 */
export function connectRedis(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Outages surface where commands fail, and those callers log them once per
  // outage; without a listener ioredis would print every reconnect attempt.
  client.on("error", () => {});
  return client;
}
