import { APICallError } from "@ai-sdk/provider";
import type { CircuitBreaker } from "./breaker.ts";
import type { AiSettings, ModelRef } from "./settings.ts";

/** How a failed model call is treated by the router. */
export type FailureKind =
  | "rate_limited" // 429: retry after a while, then fall back
  | "server" // 5xx: retry, then fall back
  | "timeout" // no answer in time: retry, then fall back
  | "network" // connection refused or reset: retry, then fall back
  | "rejected" // other 4xx (bad key, bad request): fall back at once
  | "malformed" // the answer could not be read: fall back at once
  | "aborted"; // the client went away: stop everything

export type Failure = {
  kind: FailureKind;
  status?: number;
  retryAfterMs?: number;
  message: string;
};

export class CallTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "CallTimeoutError";
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current && chain.length < 5) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

export function classifyFailure(error: unknown, clientSignal: AbortSignal | undefined): Failure {
  const message = error instanceof Error ? error.message : String(error);
  if (clientSignal?.aborted) return { kind: "aborted", message: "the client went away" };
  const chain = causeChain(error);
  if (chain.some((item) => item instanceof CallTimeoutError)) return { kind: "timeout", message };
  const apiError = chain.find((item) => APICallError.isInstance(item));
  if (apiError && APICallError.isInstance(apiError)) {
    const status = apiError.statusCode;
    if (status === undefined) return { kind: "network", message };
    // A 2xx whose body could not be parsed.
    if (status < 400) return { kind: "malformed", status, message };
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(apiError.responseHeaders?.["retry-after"], Date.now());
      return {
        kind: "rate_limited",
        status,
        message,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    if (status >= 500 || status === 408) return { kind: "server", status, message };
    return { kind: "rejected", status, message };
  }
  if (
    chain.some(
      (item) =>
        item instanceof TypeError && /fetch|network|socket/i.test(String((item as Error).message)),
    )
  ) {
    return { kind: "network", message };
  }
  return { kind: "malformed", message };
}

export const retryable = (failure: Failure) =>
  failure.kind === "rate_limited" ||
  failure.kind === "server" ||
  failure.kind === "timeout" ||
  failure.kind === "network";

/**
 * How long to wait before retry `attempt` (1-based): the server's
 * Retry-After when it sent one, else exponential backoff with full jitter.
 * Null when Retry-After asks for longer than we are willing to wait.
 */
export function retryDelay(
  failure: Failure,
  attempt: number,
  options: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number | null {
  if (failure.retryAfterMs !== undefined) {
    return failure.retryAfterMs > options.capMs ? null : failure.retryAfterMs;
  }
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

/** Thrown when a chain member is passed over; the router moves to the next one. */
export class ModelSkipped extends Error {
  readonly failure: Failure;

  constructor(failure: Failure) {
    super(failure.message);
    this.failure = failure;
  }
}

/** The ledger outcome of a failed call. */
export const outcomeOf = (failure: Failure) =>
  failure.kind === "timeout"
    ? "timeout"
    : failure.kind === "rate_limited"
      ? "rate_limited"
      : failure.kind === "aborted"
        ? "aborted"
        : "error";

/** Waits between retries; the client's signal cuts the wait short. */
export const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** What one call to a model came to: its answer, or how it failed. */
export type AttemptResult<T> =
  | { value: T }
  /** `stop`: fail the whole request with this error instead of retrying or falling back. */
  | { failure: Failure; stop?: Error };

/**
 * Calls one model until it answers, for the gateway and the embedder alike:
 * each attempt first passes the provider's circuit breaker; a failure counts
 * against the breaker and is logged, and a retryable one is tried again
 * after `retryDelay` (the client's signal cuts the wait short). Throws
 * ModelSkipped when this model is done failing (the router tries the next),
 * `aborted()` when the client went away, or an attempt's `stop` error.
 * Errors `attempt` throws pass through untouched.
 */
export async function attemptModel<T>(options: {
  ref: Pick<ModelRef, "provider" | "model">;
  breaker: CircuitBreaker | undefined;
  settings: Pick<AiSettings, "maxRetries" | "retryBaseMs" | "retryAfterCapMs">;
  signal: AbortSignal | undefined;
  attempt: (attempt: number) => Promise<AttemptResult<T>>;
  /** Each failure is logged at warn with this message. */
  log: { warn: (object: object, message: string) => void };
  failureMessage: string;
  aborted: () => Error;
}): Promise<T> {
  const { ref, breaker, settings } = options;
  const delays = { baseMs: settings.retryBaseMs, capMs: settings.retryAfterCapMs };
  for (let attempt = 1; ; attempt++) {
    if (breaker && !breaker.tryAcquire()) {
      throw new ModelSkipped({ kind: "server", message: `${ref.provider} circuit is open` });
    }
    const result = await options.attempt(attempt);
    if ("value" in result) {
      breaker?.recordSuccess();
      return result.value;
    }
    const { failure } = result;
    if (failure.kind === "aborted") {
      breaker?.release();
      throw options.aborted();
    }
    breaker?.recordFailure();
    options.log.warn(
      { provider: ref.provider, model: ref.model, attempt, failure },
      options.failureMessage,
    );
    if (result.stop) throw result.stop;
    const delay =
      retryable(failure) && attempt <= settings.maxRetries
        ? retryDelay(failure, attempt, delays)
        : null;
    if (delay === null) throw new ModelSkipped(failure);
    await sleep(delay, options.signal);
  }
}
