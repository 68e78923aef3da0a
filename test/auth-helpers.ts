import { expect } from "vitest";
import type { App } from "../src/app.ts";
import { setSystemRole } from "../src/modules/admin/service.ts";
import type { Context } from "../src/platform/context.ts";
import type { TestUser } from "./harness.ts";

type Response = Awaited<ReturnType<App["inject"]>>;

/** The password `signUp` gives every test user. */
export const testPassword = "correct horse battery staple";

/** The Set-Cookie headers of a response, as an array. */
export function setCookies(response: Response): string[] {
  const header = response.headers["set-cookie"];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

/** A Cookie header carrying every cookie a response set (name=value pairs, none expired). */
export function cookieHeader(response: Response): string {
  return setCookies(response)
    .filter((cookie) => !/max-age=0/i.test(cookie))
    .map((cookie) => cookie.split(";")[0] ?? "")
    .join("; ");
}

/** POST /api/auth/<path> with a JSON body and optional headers. */
export function postAuth(
  app: App,
  path: string,
  payload: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  remoteAddress?: string,
): Promise<Response> {
  return app.inject({
    method: "POST",
    url: `/api/auth/${path}`,
    payload,
    headers,
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

/** Signs in with email and password, expecting a session; returns its bearer headers. */
export async function signIn(
  app: App,
  email: string,
  password = testPassword,
): Promise<{ token: string; headers: { authorization: string } }> {
  const response = await postAuth(app, "sign-in/email", { email, password });
  expect(response.statusCode, response.body).toBe(200);
  const { token } = response.json<{ token: string }>();
  return { token, headers: { authorization: `Bearer ${token}` } };
}

/** GET /v1/me with the given headers; its status code. */
export async function meStatus(app: App, headers: Record<string, string>): Promise<number> {
  return (await app.inject({ url: "/v1/me", headers })).statusCode;
}

/** Makes a user a system admin the way `npm run admin -- create-admin` does. */
export async function makeAdmin(app: App, user: TestUser, db: Context["db"]): Promise<void> {
  await setSystemRole(
    {
      actor: { type: "system", name: "test" },
      db,
      requestId: "test",
      now: () => new Date(),
      log: app.log,
    },
    { email: user.email, role: "admin" },
  );
}
