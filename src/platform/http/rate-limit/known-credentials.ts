type Entry = { principal: string; validUntil: number };

/**
 * Which principal a credential turned out to belong to, learnt from requests
 * that authenticated. The limiter runs before authentication (so 401s, 404s
 * and every other early answer are limited too) and reads this map to charge
 * a request to its user or key. A credential not seen succeeding here is
 * charged to the client address, so rotating made-up tokens cannot open
 * fresh budgets. Entries expire so revoked credentials fall out.
 */
export class KnownCredentials {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(options: { ttlMs: number; maxEntries: number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
  }

  principalOf(credential: string, now: number): string | undefined {
    const entry = this.#entries.get(credential);
    if (!entry) return undefined;
    if (entry.validUntil > now) return entry.principal;
    this.#entries.delete(credential);
    return undefined;
  }

  remember(credential: string, principal: string, now: number): void {
    const known = this.#entries.get(credential);
    if (known && known.principal === principal && known.validUntil - now > this.#ttlMs / 2) return;
    this.#entries.delete(credential);
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(credential, { principal, validUntil: now + this.#ttlMs });
  }
}
