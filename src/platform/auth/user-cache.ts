import { LRUCache } from "lru-cache";
import type { Redis } from "../cache/redis.ts";

/** The part of a user row that every request reads to become an actor. */
export type CachedUser = {
  userId: string;
  name: string;
  email: string;
  timezone: string;
  banned: boolean;
  banExpires: Date | null;
};

type Log = { warn: (object: object, message: string) => void; info: (message: string) => void };

const channel = "taskpilot:user-cache";
const everyone = "*";

/**
 * A read-through cache of the user rows behind actors (name, time zone, ban),
 * so a request's authentication costs no database round trip once its user
 * is known. Correctness rests on invalidation, not on the TTL:
 *
 * - a change made through this instance (profile edits, and every auth
 *   action: ban, unban, password change, session revocation, deletion)
 *   invalidates the entry here and publishes the invalidation on Redis;
 * - every instance subscribes and drops what it hears;
 * - an instance that cannot hear (its subscription is down) stops using the
 *   cache until it is back, so it never serves a row it may have missed a
 *   change to.
 *
 * Only deployments that can hear everything use it: embedded PGlite (one
 * process) or any database with Redis. The TTL bounds the damage of a lost
 * message (Redis accepted the publish but a subscriber dropped it).
 */
export class UserCache {
  readonly #entries: LRUCache<string, CachedUser>;
  readonly #redis: Redis | undefined;
  readonly #subscriber: Redis | undefined;
  readonly #log: Log;
  #listening: boolean;

  constructor(options: { ttlMs: number; maxEntries?: number; redis?: Redis; log: Log }) {
    this.#entries = new LRUCache({ max: options.maxEntries ?? 10_000, ttl: options.ttlMs });
    this.#redis = options.redis;
    this.#log = options.log;
    this.#listening = options.redis === undefined;
    if (options.redis) {
      // A connection in subscriber mode cannot send other commands.
      const subscriber = options.redis.duplicate({ enableOfflineQueue: true });
      subscriber.on("error", () => {});
      subscriber.on("message", (_channel: string, message: string) => this.#forget(message));
      // ioredis resubscribes after a reconnect; until then this instance is deaf.
      subscriber.on("close", () => this.#deaf());
      subscriber.on("ready", () => void this.#subscribe(subscriber));
      this.#subscriber = subscriber;
    }
  }

  /** True while entries may be served (always without Redis; with it, while subscribed). */
  get listening(): boolean {
    return this.#listening;
  }

  get(userId: string): CachedUser | undefined {
    return this.#listening ? this.#entries.get(userId) : undefined;
  }

  remember(user: CachedUser): void {
    if (this.#listening) this.#entries.set(user.userId, user);
  }

  /** Drops one user here and on every other instance. */
  async invalidate(userId: string): Promise<void> {
    this.#forget(userId);
    await this.#publish(userId);
  }

  /** Drops every user here and on every other instance. */
  async clear(): Promise<void> {
    this.#forget(everyone);
    await this.#publish(everyone);
  }

  async close(): Promise<void> {
    this.#subscriber?.disconnect();
  }

  #forget(message: string): void {
    if (message === everyone) this.#entries.clear();
    else this.#entries.delete(message);
  }

  #deaf(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#entries.clear();
    this.#log.warn({}, "user cache: lost its Redis subscription; reading users from the database");
  }

  async #subscribe(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(channel);
      // Whatever changed while this instance was deaf is not in the cache:
      // it was cleared when the subscription dropped.
      if (!this.#listening) this.#log.info("user cache: listening for invalidations");
      this.#listening = true;
    } catch (error) {
      this.#log.warn({ err: error }, "user cache: could not subscribe to invalidations");
    }
  }

  async #publish(message: string): Promise<void> {
    if (!this.#redis) return;
    try {
      await this.#redis.publish(channel, message);
    } catch (error) {
      // Other instances keep the row until their TTL ends.
      this.#log.warn({ err: error }, "user cache: could not publish an invalidation");
    }
  }
}
