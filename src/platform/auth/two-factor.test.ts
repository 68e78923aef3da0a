import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { cookieHeader, meStatus, postAuth, testPassword } from "../../../test/auth-helpers.ts";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";

const t = useTestApp();

type Enrolled = TestUser & { totp: OTPAuth.TOTP; backupCodes: string[] };

/** A code the authenticator app would show now, or one that is surely wrong. */
const wrongCode = (totp: OTPAuth.TOTP) =>
  String((Number(totp.generate()) + 1) % 1_000_000).padStart(6, "0");

/** Signs up, starts TOTP set-up and confirms it with a code, as a user with an app would. */
async function enrolledUser(): Promise<Enrolled> {
  const user = await signUp(t.app);
  const enabled = await postAuth(
    t.app,
    "two-factor/enable",
    { password: testPassword },
    user.headers,
  );
  expect(enabled.statusCode, enabled.body).toBe(200);
  const { totpURI, backupCodes } = enabled.json<{ totpURI: string; backupCodes: string[] }>();
  const totp = OTPAuth.URI.parse(totpURI);
  if (!(totp instanceof OTPAuth.TOTP)) throw new Error(`not a TOTP URI: ${totpURI}`);
  expect(totp.issuer).toBe("Taskpilot");
  expect(backupCodes).toHaveLength(10);

  const confirmed = await postAuth(
    t.app,
    "two-factor/verify-totp",
    { code: totp.generate() },
    user.headers,
  );
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  // Turning two-factor on replaces the session it was turned on with.
  const { token } = confirmed.json<{ token: string }>();
  expect(String(confirmed.headers["set-auth-token"]).split(".")[0]).toBe(token);
  expect(await meStatus(t.app, user.headers)).toBe(401);
  expect(await meStatus(t.app, { authorization: `Bearer ${token}` })).toBe(200);
  return {
    ...user,
    token,
    headers: { authorization: `Bearer ${token}` },
    totp,
    backupCodes,
  };
}

/** A browser sends its page's Origin with the cookie-authenticated second step. */
const origin = "http://localhost:3000";

/** The first step of a two-factor sign-in: the password, answered with a challenge cookie. */
async function passwordStep(user: TestUser): Promise<{ cookie: string }> {
  const response = await postAuth(t.app, "sign-in/email", {
    email: user.email,
    password: testPassword,
  });
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json<Record<string, unknown>>();
  expect(body).toEqual({ twoFactorRedirect: true, twoFactorMethods: ["totp"] });
  expect(body).not.toHaveProperty("token");
  const cookie = cookieHeader(response);
  expect(cookie).toMatch(/two_factor=/);
  expect(cookie).not.toMatch(/session_token=/);
  return { cookie };
}

describe("TOTP two-factor sign-in", () => {
  it("does not turn on before a code from the app is confirmed", async () => {
    const user = await signUp(t.app);
    const enabled = await postAuth(
      t.app,
      "two-factor/enable",
      { password: testPassword },
      user.headers,
    );
    expect(enabled.statusCode).toBe(200);
    const signIn = await postAuth(t.app, "sign-in/email", {
      email: user.email,
      password: testPassword,
    });
    expect(signIn.json<{ token?: string }>().token).toEqual(expect.any(String));
  });

  it("refuses to start set-up without the right password", async () => {
    const user = await signUp(t.app);
    const response = await postAuth(
      t.app,
      "two-factor/enable",
      { password: "not my password" },
      user.headers,
    );
    expect(expectProblem(response, 400, "validation_failed").errors).toEqual([
      { path: "password", message: "Invalid password" },
    ]);
  });

  it("answers 409, not 400, to calls that need two-factor on while it is off", async () => {
    const user = await signUp(t.app);
    const calls: Array<[string, Record<string, unknown>]> = [
      ["two-factor/verify-totp", { code: "123456" }],
      ["two-factor/generate-backup-codes", { password: testPassword }],
    ];
    for (const [path, body] of calls) {
      const response = await postAuth(t.app, path, body, user.headers);
      expectProblem(response, 409, "conflict");
    }
  });

  it("asks for the second factor after the password, and a valid code finishes the sign-in", async () => {
    const user = await enrolledUser();
    const { cookie } = await passwordStep(user);
    const verified = await postAuth(
      t.app,
      "two-factor/verify-totp",
      { code: user.totp.generate() },
      { cookie, origin },
    );
    expect(verified.statusCode, verified.body).toBe(200);
    const { token, user: signedIn } = verified.json<{ token: string; user: { id: string } }>();
    expect(signedIn.id).toBe(user.id);
    expect(await meStatus(t.app, { authorization: `Bearer ${token}` })).toBe(200);
    expect(await meStatus(t.app, { cookie: cookieHeader(verified) })).toBe(200);
  });

  it("answers 401 problem+json for a wrong code and gives no session", async () => {
    const user = await enrolledUser();
    const { cookie } = await passwordStep(user);
    const wrong = await postAuth(
      t.app,
      "two-factor/verify-totp",
      { code: wrongCode(user.totp) },
      { cookie, origin },
    );
    expectProblem(wrong, 401, "unauthenticated");
    expect(cookieHeader(wrong)).not.toMatch(/session_token=/);
    // The challenge survives a typo: the right code still works.
    const right = await postAuth(
      t.app,
      "two-factor/verify-totp",
      { code: user.totp.generate() },
      { cookie, origin },
    );
    expect(right.statusCode, right.body).toBe(200);
  });

  it("does not accept a code without the password step", async () => {
    const user = await enrolledUser();
    const response = await postAuth(t.app, "two-factor/verify-totp", {
      code: user.totp.generate(),
    });
    expectProblem(response, 401, "unauthenticated");
  });

  it("accepts a backup code once, and only once", async () => {
    const user = await enrolledUser();
    const [backupCode = ""] = user.backupCodes;

    const first = await passwordStep(user);
    const used = await postAuth(
      t.app,
      "two-factor/verify-backup-code",
      { code: backupCode },
      { cookie: first.cookie, origin },
    );
    expect(used.statusCode, used.body).toBe(200);
    expect(await meStatus(t.app, { cookie: cookieHeader(used) })).toBe(200);

    const second = await passwordStep(user);
    const reused = await postAuth(
      t.app,
      "two-factor/verify-backup-code",
      { code: backupCode },
      { cookie: second.cookie, origin },
    );
    expectProblem(reused, 401, "unauthenticated");
    const another = await postAuth(
      t.app,
      "two-factor/verify-backup-code",
      { code: user.backupCodes[1] ?? "" },
      { cookie: second.cookie, origin },
    );
    expect(another.statusCode, another.body).toBe(200);
  });

  it("can be turned off with the password, after which the password alone signs in", async () => {
    const user = await enrolledUser();
    const disabled = await postAuth(
      t.app,
      "two-factor/disable",
      { password: testPassword },
      user.headers,
    );
    expect(disabled.statusCode, disabled.body).toBe(200);
    const signIn = await postAuth(t.app, "sign-in/email", {
      email: user.email,
      password: testPassword,
    });
    expect(signIn.json<{ token?: string }>().token).toEqual(expect.any(String));
  });
});
