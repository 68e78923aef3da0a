import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "../cache/redis.ts";

/**
 * Counters and blocks with a time to live: the state behind the sign-in
 * limits. In Redis when `REDIS_URL` is set, so every instance sees the same
 * counts; in this process otherwise.
 */
export interface LimitStore {
  /**
   * Adds one to `key` and returns the new count and the milliseconds until it
   * is forgotten. The TTL starts with the first hit (a fixed window) or, with
   * `slide`, restarts on every hit (forgotten `ttlMs` after the last one).
   */
  hit(key: string, ttlMs: number, slide: boolean): Promise<{ count: number; ttlMs: number }>;
  /** Marks `key` as blocked for `ttlMs`. */
  block(key: string, ttlMs: number): Promise<void>;
  /** Milliseconds `key` stays blocked, 0 when it is not. */
  blockedFor(key: string): Promise<number>;
  remove(...keys: string[]): Promise<void>;
}

type Entry = { count: number; expiresAt: number };

export class MemoryLimitStore implements LimitStore {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #set(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the entry touched longest ago.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, entry);
  }

  async hit(key: string, ttlMs: number, slide: boolean) {
    const now = this.#now();
    const entry = this.#live(key, now);
    const count = (entry?.count ?? 0) + 1;
    const expiresAt = entry && !slide ? entry.expiresAt : now + ttlMs;
    this.#set(key, { count, expiresAt });
    return { count, ttlMs: expiresAt - now };
  }

  async block(key: string, ttlMs: number) {
    this.#set(key, { count: 1, expiresAt: this.#now() + ttlMs });
  }

  async blockedFor(key: string) {
    const now = this.#now();
    const entry = this.#live(key, now);
    return entry ? entry.expiresAt - now : 0;
  }

  async remove(...keys: string[]) {
    for (const key of keys) this.#entries.delete(key);
  }
}

// One round trip, atomic: concurrent hits on several instances never lose a count.
const hitScript = `
local count = redis.call('INCR', KEYS[1])
if count == 1 or ARGV[2] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

export class RedisLimitStore implements LimitStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = "taskpilot:limits:") {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async hit(key: string, ttlMs: number, slide: boolean) {
    const [count, ttl] = (await this.#redis.eval(
      hitScript,
      1,
      this.#prefix + key,
      String(Math.ceil(ttlMs)),
      slide ? "1" : "0",
    )) as [number, number];
    return { count, ttlMs: Math.max(ttl, 0) };
  }

  async block(key: string, ttlMs: number) {
    await this.#redis.set(this.#prefix + key, "1", "PX", Math.ceil(ttlMs));
  }

  async blockedFor(key: string) {
    return Math.max(await this.#redis.pttl(this.#prefix + key), 0);
  }

  async remove(...keys: string[]) {
    if (keys.length > 0) await this.#redis.del(...keys.map((key) => this.#prefix + key));
  }
}

/**
 * Redis first; while Redis cannot answer (down, unreachable, slow), the
 * counts live in this process instead, so sign-in keeps working and stays
 * limited per instance. Limits are never a reason to answer 5xx. The switch
 * is logged once each way. After a failure Redis is left alone for
 * `retryMs`, so an unreachable server does not add its timeout to every
 * sign-in.
 */
export class FallbackLimitStore implements LimitStore {
  readonly #primary: LimitStore;
  readonly #fallback: LimitStore;
  readonly #log: Pick<FastifyBaseLogger, "warn" | "info">;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  #degraded = false;
  #retryAt = 0;

  constructor(options: {
    primary: LimitStore;
    fallback: LimitStore;
    log: Pick<FastifyBaseLogger, "warn" | "info">;
    timeoutMs?: number;
    retryMs?: number;
  }) {
    this.#primary = options.primary;
    this.#fallback = options.fallback;
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#retryMs = options.retryMs ?? 2_000;
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  async #run<T>(operation: (store: LimitStore) => Promise<T>): Promise<T> {
    if (this.#degraded && Date.now() < this.#retryAt) return operation(this.#fallback);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("limit store timed out")), this.#timeoutMs);
    });
    const primary = operation(this.#primary);
    // When the timeout wins, the Redis command still fails later (ioredis has
    // its own timeout); that failure is already handled by falling back.
    primary.catch(() => {});
    try {
      const result = await Promise.race([primary, timeout]);
      if (this.#degraded) {
        this.#degraded = false;
        this.#log.info("sign-in limits are shared through Redis again");
      }
      return result;
    } catch (error) {
      this.#retryAt = Date.now() + this.#retryMs;
      if (!this.#degraded) {
        this.#degraded = true;
        this.#log.warn(
          { err: error },
          "Redis is unavailable: sign-in limits fall back to this instance's memory",
        );
      }
      return operation(this.#fallback);
    } finally {
      clearTimeout(timer);
    }
  }

  hit(key: string, ttlMs: number, slide: boolean) {
    return this.#run((store) => store.hit(key, ttlMs, slide));
  }

  block(key: string, ttlMs: number) {
    return this.#run((store) => store.block(key, ttlMs));
  }

  blockedFor(key: string) {
    return this.#run((store) => store.blockedFor(key));
  }

  remove(...keys: string[]) {
    return this.#run((store) => store.remove(...keys));
  }
}
