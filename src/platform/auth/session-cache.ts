import { NotifiedGate } from "../db/change-feed.ts";

type Entry = { userId: string; validUntil: number };

/**
 * Remembers which user a session credential (bearer token or signed session
 * cookie) belongs to, so the hot path skips better-auth's full session check
 * (HMAC, its context, a query: most of a request's CPU, see bench/results).
 * Correctness rests on invalidation (auth-changes.ts): a session that
 * changes or ends anywhere drops its user's credentials here within moments,
 * and while that feed is down nothing is served. The TTL only bounds the
 * damage of a lost notification; entries never outlive the session.
 */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  /** Each user's credentials, so forgetting a user does not scan every entry. */
  readonly #byUser = new Map<string, Set<string>>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #gate: NotifiedGate;

  constructor(options: { ttlMs: number; maxEntries?: number; serving?: boolean }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#gate = new NotifiedGate(() => this.#forgetAll(), options.serving);
  }

  /** True while entries may be served (the invalidation feed is up). */
  get serving(): boolean {
    return this.#gate.serving;
  }

  /**
   * Changes whenever something is forgotten. Take it before checking a
   * credential and hand it to `remember`: an answer read before a change
   * that was forgotten meanwhile is not kept.
   */
  get generation(): number {
    return this.#gate.generation;
  }

  get(credential: string, now: number): string | undefined {
    if (!this.#gate.serving) return undefined;
    const entry = this.#entries.get(credential);
    if (!entry) return undefined;
    if (entry.validUntil <= now) {
      this.#forget(credential, entry.userId);
      return undefined;
    }
    return entry.userId;
  }

  remember(
    credential: string,
    userId: string,
    sessionExpiresAt: number,
    now: number,
    since: number,
  ): void {
    if (this.#ttlMs <= 0 || !this.#gate.accepts(since)) return;
    const previous = this.#entries.get(credential);
    if (previous) this.#forget(credential, previous.userId);
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const [oldest] = this.#entries;
      if (oldest) this.#forget(oldest[0], oldest[1].userId);
    }
    // Spread expiries over the second half of the TTL so entries cached
    // together do not all miss together (a latency spike every TTL).
    const ttl = this.#ttlMs * (0.5 + Math.random() * 0.5);
    this.#entries.set(credential, { userId, validUntil: Math.min(now + ttl, sessionExpiresAt) });
    const credentials = this.#byUser.get(userId);
    if (credentials) credentials.add(credential);
    else this.#byUser.set(userId, new Set([credential]));
  }

  /** Drops every credential of one user (one of their sessions changed or ended). */
  forgetUser(userId: string): void {
    this.#gate.changed();
    for (const credential of this.#byUser.get(userId) ?? []) this.#entries.delete(credential);
    this.#byUser.delete(userId);
  }

  clear(): void {
    this.#gate.changed();
    this.#forgetAll();
  }

  /** How many credentials are held (tests). */
  get size(): number {
    return this.#entries.size;
  }

  #forget(credential: string, userId: string): void {
    this.#entries.delete(credential);
    const credentials = this.#byUser.get(userId);
    credentials?.delete(credential);
    if (credentials?.size === 0) this.#byUser.delete(userId);
  }

  #forgetAll(): void {
    this.#entries.clear();
    this.#byUser.clear();
  }

  /** Stops serving (the feed is down: changes may go unheard) and forgets everything. */
  suspend(): void {
    this.#gate.suspend();
  }

  /** Serves again, from an empty cache: whatever changed while deaf is not in it. */
  resume(): void {
    this.#gate.resume();
  }
}

/** The value of the first cookie called `name` in a Cookie header, if any. */
function cookieValue(cookie: string | undefined, name: string): string | null {
  for (const pair of cookie?.split(";") ?? []) {
    const at = pair.indexOf("=");
    if (at !== -1 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim() || null;
  }
  return null;
}

/**
 * The credential a request carries: its bearer header, else the session
 * cookie under exactly the name better-auth reads (`cookieName`, with its
 * `__Secure-` prefix behind https). Any other name let a string better-auth
 * never issued, or a cookie without the prefix, work once the cache knew
 * the value of the one better-auth had checked.
 */
export function credentialOf(
  headers: { authorization?: string | undefined; cookie?: string | undefined },
  cookieName: string,
): string | null {
  const { authorization, cookie } = headers;
  if (authorization?.startsWith("Bearer ")) return authorization;
  const value = cookieValue(cookie, cookieName);
  return value ? `cookie:${value}` : null;
}
