import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import {
  expectProblem,
  expectValidationError,
  listTitles,
  type Task,
} from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";

type Response = Awaited<ReturnType<App["inject"]>>;

const allowed = "https://app.example.com";

function expectSecurityHeaders(response: Response): void {
  expect(response.headers["content-security-policy"]).toBe(
    "default-src 'none';frame-ancestors 'none'",
  );
  expect(response.headers["x-content-type-options"]).toBe("nosniff");
  expect(response.headers["x-frame-options"]).toBe("SAMEORIGIN");
  expect(response.headers["strict-transport-security"]).toMatch(/^max-age=\d+/);
  expect(response.headers["referrer-policy"]).toBe("no-referrer");
  expect(response.headers["cross-origin-opener-policy"]).toBe("same-origin");
  expect(response.headers["x-powered-by"]).toBeUndefined();
  // The rest of helmet's defaults, worked out once at start (not per request).
  expect(response.headers).toMatchObject({
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
  });
}

describe("security headers", () => {
  const t = useTestApp();

  it("come with every API answer: 200, 401, 404", async () => {
    expectSecurityHeaders(await t.app.inject({ url: "/healthz" }));
    expectSecurityHeaders(await t.app.inject({ url: "/v1/tasks" }));
    expectSecurityHeaders(await t.app.inject({ url: "/nowhere" }));
  });

  it("come with answers the app writes itself: 405 and malformed JSON", async () => {
    expectSecurityHeaders(await t.app.inject({ method: "PUT", url: "/v1/me" }));
    expectSecurityHeaders(
      await t.app.inject({
        method: "POST",
        url: "/v1/tasks",
        headers: { "content-type": "application/json" },
        payload: "{",
      }),
    );
  });

  it("let the /docs page run its own script and styles, and nothing from elsewhere", async () => {
    const page = await t.app.inject({ url: "/docs/" });
    expect(page.statusCode).toBe(200);
    const policy = String(page.headers["content-security-policy"]);
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("script-src 'self' 'unsafe-inline'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toMatch(/https?:/);
    const script = /<script[^>]+src="([^"]+)"/.exec(page.body)?.[1] ?? "";
    const asset = await t.app.inject({ url: new URL(script, "http://x/docs/").pathname });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["content-type"]).toMatch(/javascript/);
    // The reference renders with the fonts in its bundle, not a CDN's.
    expect(page.body).toContain('"withDefaultFonts": false');
  });
});

describe("strict JSON", () => {
  const t = useTestApp();

  const postRaw = (headers: Record<string, string>, body: string) =>
    t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...headers, "content-type": "application/json" },
      payload: body,
    });

  it.each([
    ["__proto__", '{"title":"x","__proto__":{"admin":true}}', "__proto__"],
    ["__proto__, escaped", '{"title":"x","\\u005f_proto__":{"admin":true}}', "__proto__"],
    ["__proto__, nested", '{"title":"x","tags":[{"__proto__":{}}]}', "tags.0.__proto__"],
    [
      "__proto__, in a field",
      '{"title":"x","recurrence":{"__proto__":null}}',
      "recurrence.__proto__",
    ],
    [
      "constructor.prototype",
      '{"title":"x","constructor":{"prototype":{"admin":true}}}',
      "constructor",
    ],
  ])("rejects a body carrying %s with 400 naming the key", async (_case, body, field) => {
    const user = await signUp(t.app);
    expectValidationError(await postRaw(user.headers, body), field);
    expect(await listTitles(t.app, user)).toEqual([]);
  });

  it("still answers malformed_json for a body that is not JSON at all", async () => {
    const user = await signUp(t.app);
    expectProblem(await postRaw(user.headers, '{"__proto__": '), 400, "malformed_json");
  });

  it("reads duplicate keys as JSON.parse does: the last one wins", async () => {
    const user = await signUp(t.app);
    const response = await postRaw(user.headers, '{"title":"first","title":"last"}');
    expect(response.statusCode).toBe(201);
    expect(response.json<Task>().title).toBe("last");
  });
});

describe("CORS with an allowlist", () => {
  const t = useTestApp({ corsOrigins: [allowed] });

  const preflight = (origin: string) =>
    t.app.inject({
      method: "OPTIONS",
      url: "/v1/tasks",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key",
      },
    });

  it("answers a preflight from a listed origin, with credentials", async () => {
    const response = await preflight(allowed);
    expect(response.statusCode).toBe(204);
    expect(response.headers["access-control-allow-origin"]).toBe(allowed);
    expect(response.headers["access-control-allow-credentials"]).toBe("true");
    expect(String(response.headers["access-control-allow-headers"])).toContain("idempotency-key");
    // A fetch-based event-stream client resumes with it (GET /v1/events).
    expect(String(response.headers["access-control-allow-headers"])).toContain("last-event-id");
    expect(String(response.headers["access-control-allow-methods"])).toContain("PATCH");
    expect(response.headers["access-control-max-age"]).toBe("600");
    expect(response.headers.vary).toContain("Origin");
  });

  it("gives other origins nothing a browser would accept", async () => {
    const response = await preflight("https://evil.example");
    expect(response.headers["access-control-allow-origin"]).toBeUndefined();
    const read = await t.app.inject({
      url: "/healthz",
      headers: { origin: "https://evil.example" },
    });
    expect(read.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("lets a listed origin read the platform's headers", async () => {
    const response = await t.app.inject({ url: "/healthz", headers: { origin: allowed } });
    expect(response.headers["access-control-allow-origin"]).toBe(allowed);
    const exposed = String(response.headers["access-control-expose-headers"]);
    for (const name of ["x-request-id", "etag", "location", "ratelimit", "retry-after"]) {
      expect(exposed).toContain(name);
    }
  });

  it("accepts the session cookie on unsafe requests from a listed origin only", async () => {
    const user = await signUp(t.app);
    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      payload: { email: user.email, password: "correct horse battery staple" },
    });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
    const create = (origin: string) =>
      t.app.inject({
        method: "POST",
        url: "/v1/tasks",
        headers: { cookie, origin },
        payload: { title: `from ${origin}` },
      });
    expect((await create(allowed)).statusCode).toBe(201);
    expectProblem(await create("https://evil.example"), 403, "forbidden");
  });
});

describe("CORS open to any origin", () => {
  const t = useTestApp({ corsOrigins: ["*"] });

  it("never allows credentials with the wildcard", async () => {
    const response = await t.app.inject({
      url: "/healthz",
      headers: { origin: "https://anywhere.example" },
    });
    expect(response.headers["access-control-allow-origin"]).toBe("*");
    expect(response.headers["access-control-allow-credentials"]).toBeUndefined();
  });
});
