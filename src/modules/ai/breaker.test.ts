import { beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import { CircuitBreaker } from "./breaker.ts";
import { parseRetryAfter, retryDelay } from "./retry.ts";

describe("CircuitBreaker", () => {
  let now = 0;
  const breaker = () => new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000 }, () => now);
  beforeEach(() => {
    now = 0;
  });

  it("opens after the threshold of consecutive failures, and a success resets the count", () => {
    const subject = breaker();
    subject.recordFailure();
    subject.recordFailure();
    subject.recordSuccess();
    subject.recordFailure();
    subject.recordFailure();
    expect(subject.state).toBe("closed");
    subject.recordFailure();
    expect(subject.state).toBe("open");
    expect(subject.tryAcquire()).toBe(false);
  });

  it("half-opens after the cool-down and lets exactly one probe through", () => {
    const subject = breaker();
    for (let index = 0; index < 3; index++) subject.recordFailure();
    now = 999;
    expect(subject.tryAcquire()).toBe(false);
    now = 1_000;
    expect(subject.state).toBe("half-open");
    expect(subject.tryAcquire()).toBe(true);
    expect(subject.tryAcquire()).toBe(false);
  });

  it("closes when the probe succeeds and reopens for a new cool-down when it fails", () => {
    const subject = breaker();
    for (let index = 0; index < 3; index++) subject.recordFailure();
    now = 1_000;
    subject.tryAcquire();
    subject.recordFailure();
    expect(subject.state).toBe("open");
    now = 1_999;
    expect(subject.tryAcquire()).toBe(false);
    now = 2_000;
    expect(subject.tryAcquire()).toBe(true);
    subject.recordSuccess();
    expect(subject.state).toBe("closed");
  });

  it("frees the probe slot when a call ends without a verdict (client left)", () => {
    const subject = breaker();
    for (let index = 0; index < 3; index++) subject.recordFailure();
    now = 1_000;
    expect(subject.tryAcquire()).toBe(true);
    subject.release();
    expect(subject.tryAcquire()).toBe(true);
  });
});

describe("retry timing", () => {
  it("honours Retry-After in seconds or as a date, and gives up beyond the cap", () => {
    expect(parseRetryAfter("3", 0)).toBe(3_000);
    expect(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4_000)).toBe(6_000);
    const options = { baseMs: 100, capMs: 5_000 };
    expect(retryDelay({ kind: "rate_limited", retryAfterMs: 3_000, message: "" }, 1, options)).toBe(
      3_000,
    );
    expect(
      retryDelay({ kind: "rate_limited", retryAfterMs: 60_000, message: "" }, 1, options),
    ).toBeNull();
  });

  it("backs off exponentially with full jitter, capped", () => {
    const options = { baseMs: 100, capMs: 1_000 };
    const failure = { kind: "server", message: "" } as const;
    expect(retryDelay(failure, 1, options, () => 1)).toBe(100);
    expect(retryDelay(failure, 3, options, () => 1)).toBe(400);
    expect(retryDelay(failure, 10, options, () => 1)).toBe(1_000);
    expect(retryDelay(failure, 3, options, () => 0.5)).toBe(200);
  });
});

const t = useAiTestApp({
  settings: (fake) =>
    testSettings(fake, {
      AI_ROUTES: JSON.stringify({ summary: ["openai", "local"] }),
      AI_MAX_RETRIES: 0,
      AI_BREAKER_FAILURES: 2,
      AI_BREAKER_COOLDOWN_MS: 10_000,
      AI_CACHE: false,
    }),
});

describe("the breaker in the router", () => {
  let user: TestUser;
  beforeEach(async () => {
    t.fake.reset();
    user ??= await signUp(t.app);
  });

  it("skips an open provider, probes it after the cool-down, and closes on success", async () => {
    const task = await createTask(t.app, user, { title: "Keep answering" });
    const summarise = async () =>
      (await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`)).json<{ provider: string }>()
        .provider;
    const openaiCalls = () => t.fake.requests.filter((r) => r.vendor === "openai").length;
    t.fake.setDefault("openai", { kind: "status", status: 500 });

    expect(await summarise()).toBe("local");
    expect(await summarise()).toBe("local");
    expect(openaiCalls()).toBe(2);

    // Open: OpenAI is not even asked.
    expect(await summarise()).toBe("local");
    expect(openaiCalls()).toBe(2);

    // Half-open: one probe; it fails, so the breaker opens again.
    t.clock.advance(10_000);
    expect(await summarise()).toBe("local");
    expect(openaiCalls()).toBe(3);
    t.clock.advance(9_999);
    expect(await summarise()).toBe("local");
    expect(openaiCalls()).toBe(3);

    // The next probe succeeds and closes it.
    t.clock.advance(1);
    t.fake.setDefault("openai", { kind: "text", text: "Back." });
    expect(await summarise()).toBe("openai");
    expect(await summarise()).toBe("openai");
    expect(openaiCalls()).toBe(5);
  });
});
