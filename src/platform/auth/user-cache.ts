import { LRUCache } from "lru-cache";
import { NotifiedGate } from "../db/change-feed.ts";

/** The part of a user row that every request reads to become an actor. */
export type CachedUser = {
  userId: string;
  name: string;
  email: string;
  timezone: string;
  banned: boolean;
  banExpires: Date | null;
};

/**
 * A read-through cache of the user rows behind actors (name, time zone, ban),
 * so a request's authentication costs no database round trip once its user
 * is known. Correctness rests on invalidation, not on the TTL: every change
 * to a user row, by any code on any instance (or by hand in psql), is
 * announced by a trigger and dropped here within moments (auth-changes.ts);
 * while that feed is down nothing is served. The TTL bounds the damage of a
 * lost notification.
 */
export class UserCache {
  readonly #entries: LRUCache<string, CachedUser>;
  readonly #ttlMs: number;
  readonly #gate: NotifiedGate;

  constructor(options: { ttlMs: number; maxEntries?: number; serving?: boolean }) {
    this.#ttlMs = options.ttlMs;
    this.#entries = new LRUCache({
      max: options.maxEntries ?? 10_000,
      ttl: Math.max(1, options.ttlMs),
    });
    this.#gate = new NotifiedGate(() => this.#entries.clear(), options.serving);
  }

  /** True while entries may be served (the invalidation feed is up). */
  get serving(): boolean {
    return this.#gate.serving;
  }

  /** Take it before reading a row and hand it to `remember` (see NotifiedGate). */
  get generation(): number {
    return this.#gate.generation;
  }

  get(userId: string): CachedUser | undefined {
    return this.#gate.serving ? this.#entries.get(userId) : undefined;
  }

  remember(user: CachedUser, since: number): void {
    if (this.#ttlMs > 0 && this.#gate.accepts(since)) this.#entries.set(user.userId, user);
  }

  forget(userId: string): void {
    this.#gate.changed();
    this.#entries.delete(userId);
  }

  clear(): void {
    this.#gate.changed();
    this.#entries.clear();
  }

  suspend(): void {
    this.#gate.suspend();
  }

  resume(): void {
    this.#gate.resume();
  }
}
