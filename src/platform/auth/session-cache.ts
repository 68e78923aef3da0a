type Entry = { userId: string; validUntil: number };

/**
 * Remembers, for a few seconds, which user a session credential (bearer
 * token or signed session cookie) belongs to, so the hot path skips
 * better-auth's full session check (about 1 ms of CPU per request, see
 * bench/results). The user row itself is still read on every request, so a
 * profile change or a deleted user is seen at once. Sign-out and other
 * session changes made through this instance clear the cache; on other
 * instances a revoked session lives at most `ttlMs` longer.
 */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(options: { ttlMs: number; maxEntries?: number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get(credential: string, now: number): string | undefined {
    const entry = this.#entries.get(credential);
    if (!entry) return undefined;
    if (entry.validUntil <= now) {
      this.#entries.delete(credential);
      return undefined;
    }
    return entry.userId;
  }

  remember(credential: string, userId: string, sessionExpiresAt: number, now: number): void {
    if (this.#ttlMs <= 0) return;
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    // Spread expiries over the second half of the TTL so entries cached
    // together do not all miss together (a latency spike every TTL).
    const ttl = this.#ttlMs * (0.5 + Math.random() * 0.5);
    this.#entries.set(credential, { userId, validUntil: Math.min(now + ttl, sessionExpiresAt) });
  }

  clear(): void {
    this.#entries.clear();
  }
}

const sessionCookie = /(?:^|;\s*)(?:__Secure-)?better-auth\.session_token=([^;]+)/;

/** The credential a request carries: its bearer header, else its session cookie. */
export function credentialOf(headers: {
  authorization?: string | undefined;
  cookie?: string | undefined;
}): string | null {
  const { authorization, cookie } = headers;
  if (authorization?.startsWith("Bearer ")) return authorization;
  const match = cookie ? sessionCookie.exec(cookie) : null;
  return match?.[1] ? `cookie:${match[1]}` : null;
}
