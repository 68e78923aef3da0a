import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../../test/harness.ts";
import { expectProblem } from "../../../../test/tasks-helpers.ts";
import type { App } from "../../../app.ts";
import type { RateLimitSettings } from "./policy.ts";

const limits: RateLimitSettings = {
  windowMs: 60_000,
  anonymous: 3,
  user: 5,
  apiKey: 5,
  auth: 2,
  ai: 2,
};

type Response = Awaited<ReturnType<App["inject"]>>;

/** A documentation-range address no other test uses, so each test has its own buckets. */
function freshAddress(): string {
  const octet = () => Math.floor(Math.random() * 250) + 1;
  return `198.51.${octet()}.${octet()}`;
}

function policyOf(response: Response): string | undefined {
  return /^"([a-z-]+)"/.exec(String(response.headers["ratelimit-policy"]))?.[1];
}

function remainingOf(response: Response): number {
  return Number(response.headers["x-ratelimit-remaining"]);
}

function expectRateLimitHeaders(response: Response, policy: string, limit: number): void {
  expect(response.headers["ratelimit-policy"]).toBe(`"${policy}";q=${limit};w=60`);
  expect(response.headers.ratelimit).toMatch(new RegExp(`^"${policy}";r=\\d+;t=\\d+$`));
  expect(response.headers["x-ratelimit-limit"]).toBe(String(limit));
  expect(response.headers["x-ratelimit-remaining"]).toMatch(/^\d+$/);
  expect(Number(response.headers["x-ratelimit-reset"])).toBeGreaterThan(0);
  expect(Number(response.headers["x-ratelimit-reset"])).toBeLessThanOrEqual(60);
}

describe("rate limits", () => {
  const t = useTestApp({ rateLimit: limits });

  const get = (url: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    t.app.inject({ url, remoteAddress, headers });

  /** A user whose token this instance has already seen authenticate. */
  async function knownUser(remoteAddress: string): Promise<TestUser> {
    const user = await signUp(t.app, "Rate Limited", { remoteAddress: freshAddress() });
    expect((await get("/v1/me", remoteAddress, user.headers)).statusCode).toBe(200);
    return user;
  }

  it("sends the headers on a 200, a 401 and a 404", async () => {
    const address = freshAddress();
    const ok = await get("/openapi.json", address);
    expect(ok.statusCode).toBe(200);
    expectRateLimitHeaders(ok, "anonymous", 3);
    expect(ok.headers.ratelimit).toMatch(/^"anonymous";r=2;t=\d+$/);

    const unauthenticated = await get("/v1/tasks", address);
    expectProblem(unauthenticated, 401, "unauthenticated");
    expectRateLimitHeaders(unauthenticated, "anonymous", 3);
    expect(remainingOf(unauthenticated)).toBe(1);

    const missing = await get(`/no-such-route/${randomUUID()}`, address);
    expectProblem(missing, 404, "not_found");
    expectRateLimitHeaders(missing, "anonymous", 3);
    expect(remainingOf(missing)).toBe(0);
  });

  it("answers 429 rate_limited with Retry-After once an address has used its budget, 404s included", async () => {
    const address = freshAddress();
    for (let i = 0; i < 3; i++) {
      expect((await get(`/missing-${i}`, address)).statusCode).toBe(404);
    }
    const limited = await get("/openapi.json", address);
    const problem = expectProblem(limited, 429, "rate_limited");
    expect(problem.detail).toMatch(/3 requests per 60 s/);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(60);
    expect(limited.headers.ratelimit).toMatch(/^"anonymous";r=0;t=\d+$/);
    expect(remainingOf(limited)).toBe(0);

    // Another address has its own budget.
    expect((await get("/openapi.json", freshAddress())).statusCode).toBe(200);
  });

  it("never limits the health probes", async () => {
    const address = freshAddress();
    for (let i = 0; i < 5; i++) {
      const probe = await get("/healthz", address);
      expect(probe.statusCode).toBe(200);
      expect(probe.headers["ratelimit-policy"]).toBeUndefined();
    }
    expect(remainingOf(await get("/openapi.json", address))).toBe(2);
  });

  it("charges a user's requests to the user, over all of its sessions, not to the address", async () => {
    const address = freshAddress();
    const user = await knownUser(address);
    const first = await get("/v1/me", address, user.headers);
    expectRateLimitHeaders(first, "user", 5);
    expect(remainingOf(first)).toBe(4);

    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      remoteAddress: freshAddress(),
      payload: { email: user.email, password: "correct horse battery staple" },
    });
    expect(signIn.statusCode).toBe(200);
    const secondSession = { authorization: `Bearer ${signIn.json<{ token: string }>().token}` };
    // A new credential pays from its address until it has been seen to work...
    expect(policyOf(await get("/v1/me", freshAddress(), secondSession))).toBe("unverified");
    // ...then it shares the user's budget, from any address.
    const shared = await get("/v1/me", freshAddress(), secondSession);
    expect(policyOf(shared)).toBe("user");
    expect(remainingOf(shared)).toBe(3);

    for (let i = 0; i < 3; i++) await get("/v1/me", address, user.headers);
    expectProblem(await get("/v1/tasks", freshAddress(), secondSession), 429, "rate_limited");
    // Anonymous requests from the same address are not affected.
    expect((await get("/openapi.json", address)).statusCode).toBe(200);
  });

  it("charges made-up credentials to the address, so rotating them buys nothing", async () => {
    const address = freshAddress();
    for (let i = 0; i < 5; i++) {
      const guess = await get("/v1/me", address, { authorization: `Bearer ${randomUUID()}` });
      expectProblem(guess, 401, "unauthenticated");
      expect(policyOf(guess)).toBe("unverified");
    }
    const blocked = await get("/v1/me", address, { "x-api-key": `tp_${randomUUID()}` });
    expectProblem(blocked, 429, "rate_limited");
  });

  it("gives AI routes their own, stricter bucket per user", async () => {
    const address = freshAddress();
    const user = await knownUser(address);
    // Every route under an AI prefix draws on the user's AI budget (2 here).
    const first = await get("/v1/ai/usage", address, user.headers);
    expect(first.statusCode, first.body).toBe(200);
    expectRateLimitHeaders(first, "ai", 2);
    await get("/v1/chat", address, user.headers);
    expectProblem(await get("/v1/tasks/x/summary", address, user.headers), 429, "rate_limited");
    expect((await get("/v1/me", address, user.headers)).statusCode).toBe(200);
  });

  it("charges the assistant, /v1/chat and the hackathon chat route, to the user's AI bucket", async () => {
    const address = freshAddress();
    const user = await knownUser(address);
    const chat = (url: string) =>
      t.app.inject({
        method: "POST",
        url,
        remoteAddress: address,
        headers: user.headers,
        payload: { message: "what's due this week?" },
      });
    const first = await chat("/v1/chat");
    expect(first.statusCode).toBe(200);
    expectRateLimitHeaders(first, "ai", 2);
    expect((await chat(`/api/${user.id}/chat`)).statusCode).toBe(200);
    expectProblem(await chat(`/api/${user.id}/chat`), 429, "rate_limited");
    expectProblem(await chat("/v1/chat"), 429, "rate_limited");
    expect((await get("/v1/me", address, user.headers)).statusCode).toBe(200);
  });

  it("limits sign-in per address with the auth budget, whatever credentials come along", async () => {
    const address = freshAddress();
    const signIn = () =>
      t.app.inject({
        method: "POST",
        url: "/api/auth/sign-in/email",
        remoteAddress: address,
        payload: { email: `nobody-${randomUUID()}@example.com`, password: "wrong password" },
      });
    const first = await signIn();
    expectProblem(first, 401, "unauthenticated");
    expectRateLimitHeaders(first, "auth", 2);
    await signIn();
    expectProblem(await signIn(), 429, "rate_limited");
  });

  it("ignores X-Forwarded-For from a peer that is not a configured proxy", async () => {
    const address = freshAddress();
    for (let i = 0; i < 3; i++) {
      const response = await get("/openapi.json", address, { "x-forwarded-for": freshAddress() });
      expect(response.statusCode).toBe(200);
    }
    const spoofed = await get("/openapi.json", address, { "x-forwarded-for": freshAddress() });
    expectProblem(spoofed, 429, "rate_limited");
  });
});

describe("rate limits behind a trusted proxy", () => {
  const proxy = "192.0.2.10";
  const t = useTestApp({ rateLimit: limits, trustProxy: [`${proxy}/32`] });

  it("charges the client named by the proxy's X-Forwarded-For", async () => {
    const client = freshAddress();
    const viaProxy = (forwardedFor: string) =>
      t.app.inject({
        url: "/openapi.json",
        remoteAddress: proxy,
        headers: { "x-forwarded-for": forwardedFor },
      });
    for (let i = 0; i < 3; i++) expect((await viaProxy(client)).statusCode).toBe(200);
    expectProblem(await viaProxy(client), 429, "rate_limited");
    // Another client behind the same proxy has its own budget.
    expect((await viaProxy(freshAddress())).statusCode).toBe(200);
    // A client cannot prepend its own entry: the proxy appends the real peer last.
    expectProblem(await viaProxy(`${freshAddress()}, ${client}`), 429, "rate_limited");
  });
});
