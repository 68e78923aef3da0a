/**
 * A circuit breaker per provider: after `failureThreshold` consecutive
 * failures it opens and the router skips that provider; after `cooldownMs`
 * one probe call is let through (half-open). The probe's success closes the
 * breaker, its failure opens it again for another cool-down.
 *
 * A small state machine rather than opossum: opossum wraps one function call,
 * while here a provider's health is shared by several models, streaming
 * calls and fallbacks, and time must come from the app's clock.
 */
export type BreakerState = "closed" | "open" | "half-open";

export type BreakerOptions = { failureThreshold: number; cooldownMs: number };

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private probing = false;
  private readonly options: BreakerOptions;
  private readonly now: () => number;

  constructor(options: BreakerOptions, now: () => number) {
    this.options = options;
    this.now = now;
  }

  get state(): BreakerState {
    if (this.openedAt === null) return "closed";
    return this.now() - this.openedAt >= this.options.cooldownMs ? "half-open" : "open";
  }

  /** True when a call may go out now; in half-open state only one probe at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.probing) return false;
    this.probing = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.openedAt = null;
    this.probing = false;
  }

  recordFailure(): void {
    this.failures++;
    if (this.probing || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
    }
    this.probing = false;
  }

  /** A call that ended without telling us about the provider (e.g. the client left). */
  release(): void {
    this.probing = false;
  }
}

/** One breaker per provider name, created on first use. */
export class Breakers {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly options: BreakerOptions;
  private readonly now: () => number;

  constructor(options: BreakerOptions, now: () => number) {
    this.options = options;
    this.now = now;
  }

  for(provider: string): CircuitBreaker {
    let breaker = this.breakers.get(provider);
    if (!breaker) {
      breaker = new CircuitBreaker(this.options, this.now);
      this.breakers.set(provider, breaker);
    }
    return breaker;
  }
}
