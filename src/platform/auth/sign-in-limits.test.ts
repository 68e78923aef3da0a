import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { postAuth, testPassword } from "../../../test/auth-helpers.ts";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { DomainError } from "../http/errors.ts";
import { MemoryLimitStore } from "./limit-store.ts";
import { authRateLimitStorage, SignInLimits, signInPolicy } from "./sign-in-limits.ts";

/** A limiter on an in-process store whose clock the test moves. */
function limiterWithClock() {
  let now = 1_000_000;
  const limits = new SignInLimits(new MemoryLimitStore({ now: () => now }));
  return { limits, advance: (ms: number) => (now += ms) };
}

/** The Retry-After seconds of a refused attempt, or null when it is allowed. */
async function retryAfter(limits: SignInLimits, attempt: { email: string; ip: string }) {
  try {
    await limits.assertAllowed(attempt);
    return null;
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== "rate_limited") throw error;
    return Number(error.headers?.["retry-after"]);
  }
}

describe("SignInLimits", () => {
  const victim = (ip: string) => ({ email: "Victim@Example.com", ip });

  it("locks an address for an account after 5 failures, doubling the lock from 30 s up to 15 min", async () => {
    const { limits, advance } = limiterWithClock();
    for (let i = 0; i < signInPolicy.allowedFailures - 1; i += 1) {
      await limits.recordFailure(victim("198.51.100.1"));
      expect(await retryAfter(limits, victim("198.51.100.1"))).toBeNull();
    }
    const expected = [30, 60, 120, 240, 480, 900, 900];
    for (const seconds of expected) {
      await limits.recordFailure(victim("198.51.100.1"));
      expect(await retryAfter(limits, victim("198.51.100.1"))).toBe(seconds);
      advance(seconds * 1000);
      expect(await retryAfter(limits, victim("198.51.100.1"))).toBeNull();
    }
  });

  it("never locks the account for other addresses, and the right password clears the address", async () => {
    const { limits } = limiterWithClock();
    for (let i = 0; i < signInPolicy.allowedFailures; i += 1) {
      await limits.recordFailure(victim("198.51.100.1"));
    }
    expect(await retryAfter(limits, victim("198.51.100.1"))).toBe(30);
    expect(await retryAfter(limits, victim("198.51.100.2"))).toBeNull();
    expect(await retryAfter(limits, { email: "other@example.com", ip: "198.51.100.1" })).toBeNull();

    await limits.recordSuccess(victim("198.51.100.1"));
    expect(await retryAfter(limits, victim("198.51.100.1"))).toBeNull();
  });

  it("counts the account in any letter case as one account", async () => {
    const { limits } = limiterWithClock();
    for (let i = 0; i < signInPolicy.allowedFailures; i += 1) {
      await limits.recordFailure({ email: i % 2 ? "a@example.com" : "A@EXAMPLE.COM", ip: "x" });
    }
    expect(await retryAfter(limits, { email: " a@Example.com ", ip: "x" })).toBe(30);
  });

  it("under a distributed attack gives each new address one failure before it waits", async () => {
    const { limits } = limiterWithClock();
    const attackers = signInPolicy.attackThreshold / (signInPolicy.allowedFailures - 1);
    for (let a = 0; a < attackers; a += 1) {
      for (let i = 0; i < signInPolicy.allowedFailures - 1; i += 1) {
        await limits.recordFailure(victim(`203.0.113.${a}`));
      }
    }
    // The owner at an address the attack did not use still gets in.
    expect(await retryAfter(limits, victim("192.0.2.50"))).toBeNull();
    await limits.recordSuccess(victim("192.0.2.50"));
    // A new address that guesses wrong once waits from then on.
    await limits.recordFailure(victim("192.0.2.99"));
    expect(await retryAfter(limits, victim("192.0.2.99"))).toBe(30);
  });

  it("forgets failures an hour after the last one", async () => {
    const { limits, advance } = limiterWithClock();
    for (let i = 0; i < signInPolicy.allowedFailures - 1; i += 1) {
      await limits.recordFailure(victim("198.51.100.1"));
    }
    advance(signInPolicy.failureMemoryMs);
    await limits.recordFailure(victim("198.51.100.1"));
    expect(await retryAfter(limits, victim("198.51.100.1"))).toBeNull();
  });
});

describe("authRateLimitStorage", () => {
  it("allows `max` requests per fixed window and then says how long to wait", async () => {
    let now = 0;
    const storage = authRateLimitStorage(new MemoryLimitStore({ now: () => now }));
    const rule = { window: 60, max: 2 };
    expect(await storage.consume("ip|/sign-in/email", rule)).toEqual({
      allowed: true,
      retryAfter: null,
    });
    now = 20_000;
    expect((await storage.consume("ip|/sign-in/email", rule)).allowed).toBe(true);
    expect(await storage.consume("ip|/sign-in/email", rule)).toEqual({
      allowed: false,
      retryAfter: 40,
    });
    now = 60_000;
    expect((await storage.consume("ip|/sign-in/email", rule)).allowed).toBe(true);
  });
});

describe("sign-in lockout over HTTP", () => {
  const t = useTestApp();

  const attempt = (email: string, password: string, remoteAddress: string) =>
    postAuth(t.app, "sign-in/email", { email, password }, {}, remoteAddress);

  it("answers 429 rate_limited problem+json with Retry-After after 5 wrong passwords", async () => {
    const user = await signUp(t.app);
    for (let i = 0; i < signInPolicy.allowedFailures; i += 1) {
      const wrong = await attempt(user.email, "wrong password here", "198.51.100.10");
      expect(expectProblem(wrong, 401, "unauthenticated")).toBeDefined();
    }
    const locked = await attempt(user.email, testPassword, "198.51.100.10");
    const problem = expectProblem(locked, 429, "rate_limited");
    expect(problem.detail).toMatch(/try again in 30 s/);
    expect(locked.headers["retry-after"]).toBe("30");
    expect(locked.json()).not.toHaveProperty("token");

    // The owner elsewhere is not locked out.
    const elsewhere = await attempt(user.email, testPassword, "198.51.100.11");
    expect(elsewhere.statusCode, elsewhere.body).toBe(200);
  });

  it("locks an unknown email exactly like a known one, so the lock tells nothing", async () => {
    const user = await signUp(t.app);
    const unknown = `nobody-${randomUUID()}@example.com`;
    const answers = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i <= signInPolicy.allowedFailures; i += 1) {
      answers.known.push(
        (await attempt(user.email, "wrong password here", "198.51.100.20")).statusCode,
      );
      answers.unknown.push(
        (await attempt(unknown, "wrong password here", "198.51.100.21")).statusCode,
      );
    }
    expect(answers.known).toEqual([401, 401, 401, 401, 401, 429]);
    expect(answers.unknown).toEqual(answers.known);
    const known = await attempt(user.email, "wrong password here", "198.51.100.20");
    const other = await attempt(unknown, "wrong password here", "198.51.100.21");
    const { requestId: _a, ...knownBody } = expectProblem(known, 429, "rate_limited");
    const { requestId: _b, ...unknownBody } = expectProblem(other, 429, "rate_limited");
    expect(unknownBody).toEqual(knownBody);
    expect(other.headers["retry-after"]).toBe(known.headers["retry-after"]);
  });

  it("forgets an address's failures when the right password comes from it", async () => {
    const user = await signUp(t.app);
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < signInPolicy.allowedFailures - 1; i += 1) {
        expect((await attempt(user.email, "wrong password here", "198.51.100.30")).statusCode).toBe(
          401,
        );
      }
      expect((await attempt(user.email, testPassword, "198.51.100.30")).statusCode).toBe(200);
    }
  });
});
