import { describe, expect, it } from "vitest";
import {
  cookieHeader,
  meStatus,
  postAuth,
  setCookies,
  signIn,
  testPassword,
} from "../../../test/auth-helpers.ts";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";

type SessionView = { id: string; token: string; userId: string; expiresAt: string };

describe("sessions", () => {
  const t = useTestApp();

  async function listSessions(headers: Record<string, string>): Promise<SessionView[]> {
    const response = await t.app.inject({ url: "/api/auth/list-sessions", headers });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<SessionView[]>();
  }

  it("lists my active sessions, and only mine", async () => {
    const user = await signUp(t.app);
    const laptop = await signIn(t.app, user.email);
    const other = await signUp(t.app);
    const sessions = await listSessions(laptop.headers);
    expect(sessions.map((session) => session.token).sort()).toEqual(
      [user.token, laptop.token].sort(),
    );
    expect(sessions.every((session) => session.userId === user.id)).toBe(true);
    expect(sessions.map((session) => session.token)).not.toContain(other.token);
  });

  it("answers 401 problem+json for the session list without a session", async () => {
    expectProblem(await t.app.inject({ url: "/api/auth/list-sessions" }), 401, "unauthenticated");
  });

  it("revokes one session, which stops working at once even though it was just cached", async () => {
    const user = await signUp(t.app);
    const phone = await signIn(t.app, user.email);
    expect(await meStatus(t.app, phone.headers)).toBe(200);

    const revoked = await postAuth(t.app, "revoke-session", { token: phone.token }, user.headers);
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toEqual({ status: true });
    expect(await meStatus(t.app, phone.headers)).toBe(401);
    expect(await meStatus(t.app, user.headers)).toBe(200);
  });

  it("cannot revoke another user's session", async () => {
    const user = await signUp(t.app);
    const stranger = await signUp(t.app);
    await postAuth(t.app, "revoke-session", { token: user.token }, stranger.headers);
    expect(await meStatus(t.app, user.headers)).toBe(200);
  });

  it("revokes every other session and keeps this one", async () => {
    const user = await signUp(t.app);
    const others = [await signIn(t.app, user.email), await signIn(t.app, user.email)];
    for (const other of others) expect(await meStatus(t.app, other.headers)).toBe(200);

    const response = await postAuth(t.app, "revoke-other-sessions", {}, user.headers);
    expect(response.statusCode, response.body).toBe(200);
    for (const other of others) expect(await meStatus(t.app, other.headers)).toBe(401);
    expect(await meStatus(t.app, user.headers)).toBe(200);
    expect((await listSessions(user.headers)).map((session) => session.token)).toEqual([
      user.token,
    ]);
  });

  it("revokes all my sessions, this one included", async () => {
    const user = await signUp(t.app);
    const other = await signIn(t.app, user.email);
    const response = await postAuth(t.app, "revoke-sessions", {}, user.headers);
    expect(response.statusCode, response.body).toBe(200);
    expect(await meStatus(t.app, user.headers)).toBe(401);
    expect(await meStatus(t.app, other.headers)).toBe(401);
  });

  it("ends every other session when the password changes, even if the client asks it not to", async () => {
    const user = await signUp(t.app);
    const phone = await signIn(t.app, user.email);
    const tablet = await signIn(t.app, user.email);
    for (const session of [phone, tablet]) expect(await meStatus(t.app, session.headers)).toBe(200);

    const newPassword = "a brand new passphrase 7";
    const changed = await postAuth(
      t.app,
      "change-password",
      { currentPassword: testPassword, newPassword, revokeOtherSessions: false },
      phone.headers,
    );
    expect(changed.statusCode, changed.body).toBe(200);
    const { token } = changed.json<{ token: string; user: { id: string } }>();
    expect(token).toEqual(expect.any(String));

    // The caller continues on the new session; every older one is over.
    expect(await meStatus(t.app, { authorization: `Bearer ${token}` })).toBe(200);
    for (const session of [user, phone, tablet]) {
      expect(await meStatus(t.app, session.headers)).toBe(401);
    }
    expect(
      (await postAuth(t.app, "sign-in/email", { email: user.email, password: testPassword }))
        .statusCode,
    ).toBe(401);
    await signIn(t.app, user.email, newPassword);
  });

  it("refuses a password change with the wrong current password and ends nothing", async () => {
    const user = await signUp(t.app);
    const other = await signIn(t.app, user.email);
    const refused = await postAuth(
      t.app,
      "change-password",
      { currentPassword: "not my password", newPassword: "a brand new passphrase 7" },
      user.headers,
    );
    expect(refused.statusCode).toBe(400);
    expect(await meStatus(t.app, other.headers)).toBe(200);
  });
});

/** The attributes of the session cookie a sign-in set. */
function sessionCookie(cookies: string[]) {
  const cookie = cookies.find((candidate) => /session_token=/.test(candidate));
  if (!cookie) throw new Error(`no session cookie in ${JSON.stringify(cookies)}`);
  const [pair = "", ...attributes] = cookie.split(";").map((part) => part.trim());
  return { name: pair.split("=")[0], attributes: attributes.map((a) => a.toLowerCase()) };
}

describe("session cookies over http", () => {
  const t = useTestApp({ publicUrl: "http://localhost:3000" });

  it("are HttpOnly and SameSite=Lax, without Secure or the __Secure- prefix", async () => {
    const user = await signUp(t.app);
    const response = await postAuth(t.app, "sign-in/email", {
      email: user.email,
      password: testPassword,
    });
    const cookie = sessionCookie(setCookies(response));
    expect(cookie.name).toBe("better-auth.session_token");
    expect(cookie.attributes).toContain("httponly");
    expect(cookie.attributes).toContain("samesite=lax");
    expect(cookie.attributes).not.toContain("secure");
  });

  it("authenticate by the one cookie better-auth reads: another name is no alias of it", async () => {
    const user = await signUp(t.app);
    const response = await postAuth(t.app, "sign-in/email", {
      email: user.email,
      password: testPassword,
    });
    const valid = cookieHeader(response);
    const alias = `better-auth.session_token=never-issued.${Date.now()}`;
    expect(await meStatus(t.app, { cookie: alias })).toBe(401);
    // Sent beside the valid cookie under the __Secure- name, the made-up
    // value was remembered as the valid cookie's user, and then worked alone.
    const both = `__Secure-${alias}; ${valid}`;
    expect(await meStatus(t.app, { cookie: both })).toBe(200);
    expect(await meStatus(t.app, { cookie: alias })).toBe(401);
  });
});

describe("session cookies behind https", () => {
  const t = useTestApp({ publicUrl: "https://tasks.example.com" });

  it("are Secure, HttpOnly, SameSite=Lax and __Secure- prefixed, and authenticate /v1", async () => {
    const user = await signUp(t.app);
    const response = await postAuth(t.app, "sign-in/email", {
      email: user.email,
      password: testPassword,
    });
    const cookie = sessionCookie(setCookies(response));
    expect(cookie.name).toBe("__Secure-better-auth.session_token");
    expect(cookie.attributes).toEqual(
      expect.arrayContaining(["secure", "httponly", "samesite=lax"]),
    );
    expect(await meStatus(t.app, { cookie: cookieHeader(response) })).toBe(200);
    // The same value without the prefix is not the cookie better-auth reads
    // here; it was, once the prefixed one had put the value in the cache.
    const unprefixed = cookieHeader(response).replace("__Secure-", "");
    expect(await meStatus(t.app, { cookie: unprefixed })).toBe(401);
  });
});
