import { afterEach, describe, expect, it, vi } from "vitest";
import { CircuitBreaker } from "./breaker.ts";
import { type AttemptResult, attemptModel, type Failure, ModelSkipped } from "./retry.ts";

const serverError: Failure = { kind: "server", status: 503, message: "unavailable" };
const rejected: Failure = { kind: "rejected", status: 401, message: "bad key" };

/** attemptModel over scripted attempts, with the failures it logged. */
function run<T>(
  script: Array<AttemptResult<T>>,
  options: { breaker?: CircuitBreaker; maxRetries?: number; signal?: AbortSignal } = {},
) {
  const logged: Array<[number, Failure]> = [];
  const attempts: number[] = [];
  const promise = attemptModel<T>({
    ref: { provider: "openai", model: "gpt-test" },
    breaker: options.breaker,
    settings: { maxRetries: options.maxRetries ?? 2, retryBaseMs: 1, retryAfterCapMs: 60_000 },
    signal: options.signal,
    attempt: async (attempt) => {
      attempts.push(attempt);
      const next = script[attempts.length - 1];
      if (!next) throw new Error("attempted more often than scripted");
      return next;
    },
    log: {
      warn: (object, message) => {
        const { attempt, failure, provider, model } = object as {
          attempt: number;
          failure: Failure;
          provider: string;
          model: string;
        };
        expect({ provider, model, message }).toEqual({
          provider: "openai",
          model: "gpt-test",
          message: "call failed",
        });
        logged.push([attempt, failure]);
      },
    },
    failureMessage: "call failed",
    aborted: () => new Error("client went away"),
  });
  return { promise, logged, attempts };
}

const breaker = (failureThreshold = 5) =>
  new CircuitBreaker({ failureThreshold, cooldownMs: 1_000 }, () => 0);

afterEach(() => {
  vi.useRealTimers();
});

describe("attemptModel", () => {
  it("retries a retryable failure and returns the answer, closing the breaker", async () => {
    const subject = breaker();
    const { promise, logged, attempts } = run(
      [{ failure: serverError }, { failure: serverError }, { value: "answer" }],
      { breaker: subject },
    );
    await expect(promise).resolves.toBe("answer");
    expect(attempts).toEqual([1, 2, 3]);
    expect(logged).toEqual([
      [1, serverError],
      [2, serverError],
    ]);
    expect(subject.state).toBe("closed");
  });

  it("skips the model after its retries, and at once on a failure retrying cannot mend", async () => {
    const exhausted = run([{ failure: serverError }, { failure: serverError }], { maxRetries: 1 });
    const skipped = await exhausted.promise.catch((error: unknown) => error);
    expect(skipped).toBeInstanceOf(ModelSkipped);
    expect((skipped as ModelSkipped).failure).toEqual(serverError);
    expect(exhausted.attempts).toEqual([1, 2]);

    const refused = run([{ failure: rejected }]);
    await expect(refused.promise).rejects.toMatchObject({ failure: rejected });
    expect(refused.attempts).toEqual([1]);
  });

  it("does not call a provider whose breaker is open", async () => {
    const subject = breaker(1);
    subject.recordFailure();
    const { promise, attempts } = run([{ value: "never" }], { breaker: subject });
    await expect(promise).rejects.toMatchObject({
      failure: { kind: "server", message: "openai circuit is open" },
    });
    expect(attempts).toEqual([]);
  });

  it("ends with the caller's error when the client left, without holding a half-open probe", async () => {
    let now = 0;
    const subject = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1_000 }, () => now);
    subject.recordFailure();
    now = 1_000;
    const { promise, logged } = run([{ failure: { kind: "aborted", message: "gone" } }], {
      breaker: subject,
    });
    await expect(promise).rejects.toThrow("client went away");
    expect(logged).toEqual([]);
    // The probe slot is free again: the next call may probe.
    expect(subject.tryAcquire()).toBe(true);
  });

  it("throws an attempt's stop error after counting the failure, without retrying", async () => {
    const subject = breaker(1);
    const stop = new Error("failed mid-stream");
    const { promise, logged, attempts } = run([{ failure: serverError, stop }], {
      breaker: subject,
    });
    await expect(promise).rejects.toBe(stop);
    expect(attempts).toEqual([1]);
    expect(logged).toEqual([[1, serverError]]);
    expect(subject.state).toBe("open");
  });

  it("stops waiting for the next retry when the client's signal aborts", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const wait: Failure = { ...serverError, retryAfterMs: 30_000 };
    const { promise, attempts } = run([{ failure: wait }, { value: "too late" }], {
      signal: controller.signal,
    });
    const outcome = promise.catch((error: unknown) => error);
    await vi.waitFor(() => expect(attempts).toEqual([1]));
    controller.abort(new Error("client left"));
    await expect(outcome).resolves.toMatchObject({ message: "client left" });
    expect(attempts).toEqual([1]);
  });
});
