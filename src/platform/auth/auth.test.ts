import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import type { Profile } from "../../modules/profile/contracts.ts";
import { member, workspace } from "../../modules/workspaces/schema.ts";
import { user } from "./schema.ts";
import { signInPolicy } from "./sign-in-limits.ts";

const t = useTestApp();

const password = "correct horse battery staple";
type Problem = {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  errors?: Array<{ path: string }>;
};

const freshEmail = () => `auth-${randomUUID()}@example.com`;

function postAuth(path: string, payload: Record<string, unknown>) {
  return t.app.inject({ method: "POST", url: `/api/auth/${path}`, payload });
}

function expectProblem(response: { headers: Record<string, unknown>; json: () => unknown }) {
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = response.json() as Problem;
  expect(Object.keys(body)).toEqual(
    expect.arrayContaining(["type", "title", "status", "code", "detail", "requestId"]),
  );
  return body;
}

describe("sign-up", () => {
  it("answers 200 with a token and the user", async () => {
    const email = freshEmail();
    const response = await postAuth("sign-up/email", { name: "Grace", email, password });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ token: string; user: Record<string, unknown> }>();
    expect(body.token).toEqual(expect.any(String));
    expect(body.user).toMatchObject({ name: "Grace", email, emailVerified: false });
    expect(body.user).not.toHaveProperty("password");
  });

  it("answers 409 problem+json for an email that is already registered, in any case", async () => {
    const email = freshEmail();
    expect((await postAuth("sign-up/email", { name: "A", email, password })).statusCode).toBe(200);
    const again = await postAuth("sign-up/email", {
      name: "B",
      email: email.toUpperCase(),
      password,
    });
    expect(again.statusCode).toBe(409);
    const body = expectProblem(again);
    expect(body.code).toBe("conflict");
    expect(body.errors?.map((entry) => entry.path)).toEqual(["email"]);
  });

  it("answers simultaneous sign-ups with one email as it answers a later one: one 200, the rest 409", async () => {
    const email = freshEmail();
    const answers = await Promise.all(
      ["A", "B", "C", "D"].map((name) => postAuth("sign-up/email", { name, email, password })),
    );
    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect(statuses).toEqual([200, 409, 409, 409]);
    for (const answer of answers.filter((each) => each.statusCode === 409)) {
      const body = expectProblem(answer);
      expect(body.code).toBe("conflict");
      expect(body.errors?.map((entry) => entry.path)).toEqual(["email"]);
    }
    const users = await t.database.db.select().from(user).where(eq(user.email, email));
    expect(users).toHaveLength(1);
  });

  it.each([
    ["an invalid email", { name: "N", email: "not-an-email", password }, "email"],
    [
      "a password under 8 characters",
      { name: "N", email: freshEmail(), password: "short" },
      "password",
    ],
    [
      "a password over 128 characters",
      { name: "N", email: freshEmail(), password: "p".repeat(129) },
      "password",
    ],
    ["a missing name", { email: freshEmail(), password }, "name"],
    [
      "an image that is not an http(s) URL",
      { name: "N", email: freshEmail(), password, image: "javascript:alert(1)" },
      "image",
    ],
    ["an unknown field", { name: "N", email: freshEmail(), password, role: "admin" }, "role"],
  ])("answers 400 for %s, naming the field", async (_case, payload, field) => {
    const response = await postAuth("sign-up/email", payload);
    expect(response.statusCode).toBe(400);
    const body = expectProblem(response);
    expect(body.code).toBe("validation_failed");
    expect(body.errors?.map((entry) => entry.path)).toContain(field);
  });

  it("gives each new user exactly one personal workspace, which they own", async () => {
    const user = await signUp(t.app);
    const owned = await t.database.db
      .select({ id: workspace.id, role: member.role })
      .from(workspace)
      .innerJoin(member, eq(member.organizationId, workspace.id))
      .where(eq(workspace.personalOwnerId, user.id));
    expect(owned).toEqual([{ id: expect.any(String), role: "owner" }]);
    const profile = (await t.app.inject({ url: "/v1/me", headers: user.headers })).json<Profile>();
    expect(profile.workspaces).toEqual([{ id: owned[0]?.id, name: "Personal", role: "owner" }]);
  });
});

describe("sign-in", () => {
  it("returns a token that works as a Bearer credential", async () => {
    const user = await signUp(t.app);
    const response = await postAuth("sign-in/email", { email: user.email, password });
    expect(response.statusCode).toBe(200);
    const { token } = response.json<{ token: string }>();
    expect(token).not.toBe(user.token);
    const me = await t.app.inject({ url: "/v1/me", headers: { authorization: `Bearer ${token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json<Profile>().id).toBe(user.id);
  });

  it("sets a session cookie that authenticates /v1 on its own", async () => {
    const user = await signUp(t.app);
    const response = await postAuth("sign-in/email", { email: user.email, password });
    const setCookie = response.headers["set-cookie"];
    const cookies = (Array.isArray(setCookie) ? setCookie : [String(setCookie)]).map(
      (cookie) => cookie.split(";")[0] ?? "",
    );
    expect(cookies.some((cookie) => cookie.includes("session_token="))).toBe(true);
    const me = await t.app.inject({ url: "/v1/me", headers: { cookie: cookies.join("; ") } });
    expect(me.statusCode).toBe(200);
    expect(me.json<Profile>().email).toBe(user.email);
  });

  it("lets the session cookie change data only from the app's own origin", async () => {
    const user = await signUp(t.app);
    const signIn = await postAuth("sign-in/email", { email: user.email, password });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
    const patch = (headers: Record<string, string>) =>
      t.app.inject({ method: "PATCH", url: "/v1/me", headers, payload: { name: "Changed" } });

    const forged = await patch({ cookie, origin: "https://evil.example" });
    expect(forged.statusCode).toBe(403);
    expect(expectProblem(forged).code).toBe("forbidden");
    const read = await t.app.inject({
      url: "/v1/me",
      headers: { cookie, origin: "https://evil.example" },
    });
    expect(read.statusCode).toBe(200);
    expect(read.json<Profile>().name).toBe("Test User");
    // Without an Origin (or with a Referer from elsewhere) it is refused too.
    const withoutOrigin: Array<Record<string, string>> = [
      { cookie },
      { cookie, referer: "https://evil.example/page" },
    ];
    for (const headers of withoutOrigin) {
      const bare = await patch(headers);
      expect(bare.statusCode).toBe(403);
      expect(expectProblem(bare).detail).toBe(
        "A request that changes data with the session cookie must send Origin",
      );
    }
    expect((await t.app.inject({ url: "/v1/me", headers: { cookie } })).json<Profile>().name).toBe(
      "Test User",
    );

    expect((await patch({ cookie, origin: "http://localhost:3000" })).statusCode).toBe(200);
    expect((await patch({ ...user.headers, origin: "https://evil.example" })).statusCode).toBe(200);
  });

  it("answers a wrong password and an unknown email alike", async () => {
    const user = await signUp(t.app);
    const wrong = await postAuth("sign-in/email", { email: user.email, password: "not it at all" });
    const unknown = await postAuth("sign-in/email", { email: freshEmail(), password });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(wrong.statusCode);
    const wrongBody = expectProblem(wrong);
    const unknownBody = expectProblem(unknown);
    expect(wrongBody.code).toBe("unauthenticated");
    const { requestId: _a, ...wrongRest } = wrongBody;
    const { requestId: _b, ...unknownRest } = unknownBody;
    expect(unknownRest).toEqual(wrongRest);
  });
});

describe("credentials on /v1", () => {
  it("answers 401 unauthenticated problem+json with WWW-Authenticate when none are sent", async () => {
    for (const url of ["/v1/me", "/v1/tasks", "/v1/categories"]) {
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(401);
      expect(response.headers["www-authenticate"]).toMatch(/^Bearer /);
      expect(expectProblem(response).code).toBe("unauthenticated");
    }
  });

  it("answers 401 for a garbage bearer token", async () => {
    for (const authorization of ["Bearer garbage", "Bearer ", "Basic dXNlcjpwYXNz"]) {
      const response = await t.app.inject({ url: "/v1/me", headers: { authorization } });
      expect(response.statusCode, authorization).toBe(401);
      expect(expectProblem(response).code).toBe("unauthenticated");
    }
  });

  it("rejects the token after sign-out", async () => {
    const user = await signUp(t.app);
    expect((await t.app.inject({ url: "/v1/me", headers: user.headers })).statusCode).toBe(200);
    const out = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-out",
      headers: user.headers,
    });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ success: true });
    const after = await t.app.inject({ url: "/v1/me", headers: user.headers });
    expect(after.statusCode).toBe(401);
  });

  it("reports the current session through get-session", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({ url: "/api/auth/get-session", headers: user.headers });
    expect(response.statusCode).toBe(200);
    expect(response.json<{ user: { id: string } }>().user.id).toBe(user.id);
  });

  it("answers a failing better-auth endpoint with a 500 problem, printing nothing outside the logger", async () => {
    const caller = await signUp(t.app);
    // A database failure better-auth does not expect: a check only this test adds.
    await t.database.db.execute(
      sql`alter table two_factor add constraint test_refuse check (false)`,
    );
    const printed = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await t.app.inject({
        method: "POST",
        url: "/api/auth/two-factor/enable",
        headers: caller.headers,
        payload: { password },
      });
      expect(response.statusCode, response.body).toBe(500);
      expect(response.json()).toMatchObject({
        code: "internal",
        detail: "Authentication failed unexpectedly; quote the requestId",
      });
      expect(response.body).not.toMatch(/insert|constraint|params/i);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
      await t.database.db.execute(sql`alter table two_factor drop constraint test_refuse`);
    }
  });

  it("keeps better-auth's update-user out of reach: the profile changes through PATCH /v1/me", async () => {
    const caller = await signUp(t.app, "Kept Name");
    for (const payload of [
      { name: "a\u0000b" },
      { name: "N".repeat(5000) },
      { image: "javascript:alert(1)" },
    ]) {
      const response = await t.app.inject({
        method: "POST",
        url: "/api/auth/update-user",
        headers: caller.headers,
        payload,
      });
      expect(response.statusCode, response.body).toBe(404);
      expect(response.json()).toMatchObject({
        code: "not_found",
        detail: "Change your name, image or time zone with PATCH /v1/me",
      });
    }
    const me = await t.app.inject({ url: "/v1/me", headers: caller.headers });
    expect(me.json<Profile>()).toMatchObject({ name: "Kept Name", image: null });
  });
});

describe("the sign-in rate limit", () => {
  const limited = useTestApp({ authRateLimit: true });

  const attempt = (remoteAddress: string, headers: Record<string, string> = {}) =>
    limited.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      remoteAddress,
      headers,
      payload: { email: freshEmail(), password },
    });

  it("limits each client address on its own and cannot be dodged with forwarding headers", async () => {
    for (let i = 0; i < signInPolicy.perAddress.max; i += 1) {
      expect((await attempt("203.0.113.1")).statusCode).toBe(401);
    }
    const limitedAnswer = await attempt("203.0.113.1");
    expect(limitedAnswer.statusCode).toBe(429);
    expect(expectProblem(limitedAnswer).code).toBe("rate_limited");
    expect(Number(limitedAnswer.headers["retry-after"])).toBeGreaterThan(0);

    const spoofed = await attempt("203.0.113.1", {
      "x-forwarded-for": "198.51.100.7",
      "x-taskpilot-client-ip": "198.51.100.8",
    });
    expect(spoofed.statusCode).toBe(429);
    expect((await attempt("203.0.113.2")).statusCode).toBe(401);
  });
});
