import { createHash } from "node:crypto";
import { DomainError } from "../http/errors.ts";
import type { LimitStore } from "./limit-store.ts";

/**
 * How hard sign-in may be tried (docs/security.md#passwords-sign-in-abuse-sessions-system-admins-two-factor).
 *
 * Per client address, over all accounts: better-auth's limiter with
 * `perAddress` (counted in the same store, see `authRateLimitStorage`).
 *
 * Per account: failures are counted per account and address, and per account
 * over all addresses; both counts are forgotten `failureMemoryMs` after the
 * last failure. An address that reached its allowance of failures for an
 * account is refused for that account, first for `firstLockMs`, doubling with
 * every further failure up to `maxLockMs`. The allowance is
 * `allowedFailures`, or `allowedFailuresUnderAttack` while the account has
 * `attackThreshold` failures from all addresses together. Locks never reach
 * beyond the address that earned them: an attacker can lock out their own
 * addresses, not the owner signing in from anywhere else, and a distributed
 * attack gets one guess per address before that address waits. Failures are
 * remembered longer than the longest lock, so waiting a lock out does not
 * reset the count: at the cap an address gets one guess per 15 minutes.
 */
export const signInPolicy = {
  perAddress: { window: 60, max: 10 },
  failureMemoryMs: 60 * 60_000,
  allowedFailures: 5,
  allowedFailuresUnderAttack: 1,
  attackThreshold: 20,
  firstLockMs: 30_000,
  maxLockMs: 15 * 60_000,
};

export type SignInPolicy = typeof signInPolicy;

/** One sign-in attempt: the account it names (known or not) and the client address. */
export type SignInAttempt = { email: string; ip: string };

/** Store keys never hold the email itself, so Redis holds no personal data. */
function accountKey(email: string): string {
  return createHash("sha256").update(email.trim().toLowerCase()).digest("base64url").slice(0, 22);
}

function keysOf(attempt: SignInAttempt) {
  const account = accountKey(attempt.email);
  return {
    accountFailures: `signin:account:${account}`,
    failures: `signin:failures:${account}:${attempt.ip}`,
    lock: `signin:lock:${account}:${attempt.ip}`,
  };
}

export class SignInLimits {
  readonly #store: LimitStore;
  readonly #policy: SignInPolicy;

  constructor(store: LimitStore, policy: SignInPolicy = signInPolicy) {
    this.#store = store;
    this.#policy = policy;
  }

  /** Refuses with 429 `rate_limited` and Retry-After while this address is locked for the account. */
  async assertAllowed(attempt: SignInAttempt): Promise<void> {
    const lockedForMs = await this.#store.blockedFor(keysOf(attempt).lock);
    if (lockedForMs <= 0) return;
    const seconds = Math.max(1, Math.ceil(lockedForMs / 1000));
    throw new DomainError(
      "rate_limited",
      `Too many failed sign-ins for this account; try again in ${seconds} s`,
      { headers: { "retry-after": String(seconds) } },
    );
  }

  async recordFailure(attempt: SignInAttempt): Promise<void> {
    const keys = keysOf(attempt);
    const memory = this.#policy.failureMemoryMs;
    const own = await this.#store.hit(keys.failures, memory, true);
    const all = await this.#store.hit(keys.accountFailures, memory, true);
    const allowance =
      all.count >= this.#policy.attackThreshold
        ? this.#policy.allowedFailuresUnderAttack
        : this.#policy.allowedFailures;
    if (own.count < allowance) return;
    await this.#store.block(keys.lock, this.lockMs(own.count - allowance));
  }

  /**
   * The right password clears this address's failures for the account. The
   * count over all addresses stays: the owner signing in must not reopen the
   * door for a distributed attack still going on.
   */
  async recordSuccess(attempt: SignInAttempt): Promise<void> {
    const keys = keysOf(attempt);
    await this.#store.remove(keys.failures, keys.lock);
  }

  /** The lock after `beyond` failures past the allowance: doubling from the first lock, capped. */
  lockMs(beyond: number): number {
    const { firstLockMs, maxLockMs } = this.#policy;
    return Math.min(firstLockMs * 2 ** Math.min(beyond, 30), maxLockMs);
  }
}

/** better-auth's per-address limiter (`rateLimit.customStorage`) on the same store. */
export function authRateLimitStorage(store: LimitStore) {
  return {
    consume: async (key: string, rule: { window: number; max: number }) => {
      const { count, ttlMs } = await store.hit(`auth:${key}`, rule.window * 1000, false);
      if (count <= rule.max) return { allowed: true, retryAfter: null };
      return { allowed: false, retryAfter: Math.max(1, Math.ceil(ttlMs / 1000)) };
    },
  };
}
