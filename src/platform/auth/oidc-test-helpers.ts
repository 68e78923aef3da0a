import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect } from "vitest";
import { type Browser, locationOf } from "../../../test/browser.ts";
import { openTestDatabase } from "../../../test/harness.ts";
import { freePort } from "../../../test/server-process.ts";
import { type App, buildApp } from "../../app.ts";
import type { DatabaseHandle } from "../db/pool.ts";
import { startTestProvider, type TestIdentity, type TestProvider } from "./oidc-test-provider.ts";
import { account, session, user } from "./schema.ts";

export type OidcTestContext = {
  app: App;
  database: DatabaseHandle;
  provider: TestProvider;
  /** Where the app listens; it is also its PUBLIC_URL. */
  appUrl: string;
};

/**
 * The app listening on a loopback port (its PUBLIC_URL) with the test
 * OpenID Provider configured as provider "oidc", plus GitHub and Google
 * presets with made-up credentials (no test reaches those hosts).
 */
export function useOidcApp(): OidcTestContext {
  const context = {} as OidcTestContext;
  let drop = async () => {};
  beforeAll(async () => {
    // The provider takes its port first, so freePort cannot hand the app the same one.
    const provider = await startTestProvider();
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    provider.registerClient(`${appUrl}/api/auth/callback/oidc`);
    const database = await openTestDatabase();
    drop = database.drop;
    const app = await buildApp({
      database,
      checkResponses: true,
      authSecret: "test-secret-test-secret-test-secret-0123",
      publicUrl: appUrl,
      logLevel: process.env.TEST_LOG_LEVEL ?? "silent",
      authRateLimit: false,
      rateLimit: false,
      overload: false,
      oauth: {
        oidc: {
          providerId: "oidc",
          name: "Test provider",
          issuer: provider.issuer,
          clientId: provider.clientId,
          clientSecret: provider.clientSecret,
          scopes: ["openid", "email", "profile"],
        },
        github: { clientId: "github-client", clientSecret: "github-secret" },
        google: { clientId: "google-client", clientSecret: "google-secret" },
      },
    });
    await app.listen({ port, host: "127.0.0.1" });
    Object.assign(context, { app, database, provider, appUrl });
  });
  afterAll(async () => {
    await context.app?.close();
    await context.provider?.close();
    await drop();
  });
  return context;
}

/** A new person at the provider; verified email unless told otherwise. */
export function newIdentity(
  t: OidcTestContext,
  overrides: Partial<TestIdentity> = {},
): TestIdentity {
  const identity = {
    sub: `op-${randomUUID()}`,
    email: `oidc-${randomUUID()}@example.com`,
    emailVerified: true,
    name: "Ada Lovelace",
    ...overrides,
  };
  t.provider.addIdentity(identity);
  return identity;
}

export const signedInPath = "/signed-in";
export const failedPath = "/sign-in-failed";

/** Starts a sign-in (or, with a signed-in browser, a link) the way a page script would. */
export async function startSignIn(
  t: OidcTestContext,
  browser: Browser,
  options: { provider?: string; link?: boolean } = {},
): Promise<URL> {
  const response = await browser.postJson(
    `${t.appUrl}/api/auth/${options.link ? "link-social" : "sign-in/social"}`,
    {
      provider: options.provider ?? "oidc",
      callbackURL: `${t.appUrl}${signedInPath}`,
      errorCallbackURL: `${t.appUrl}${failedPath}`,
      disableRedirect: true,
    },
  );
  expect(response.status, await response.clone().text()).toBe(200);
  return new URL(((await response.json()) as { url: string }).url);
}

/**
 * Follows the provider's redirects as person `sub`, answering its login and
 * consent pages, until it sends the browser back to the app. Returns that
 * callback URL without opening it.
 */
export async function authorize(
  t: OidcTestContext,
  browser: Browser,
  authorizationUrl: URL,
  sub: string,
): Promise<URL> {
  let url = authorizationUrl;
  for (let hop = 0; hop < 20; hop += 1) {
    if (url.origin === t.appUrl) return url;
    if (url.pathname.startsWith("/interaction/")) {
      const page = (await (await browser.request(url)).json()) as { prompt: string };
      const form = new URLSearchParams(page.prompt === "login" ? { login: sub } : {});
      const submitted = await browser.request(`${url.href}/${page.prompt}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form,
      });
      url = locationOf(submitted, url);
    } else {
      url = locationOf(await browser.request(url), url);
    }
  }
  throw new Error("the provider never sent the browser back");
}

/** Opens the callback URL in the browser; answers where the app redirected to. */
export async function openCallback(browser: Browser, callbackUrl: URL): Promise<URL> {
  const response = await browser.request(callbackUrl);
  expect(response.status).toBe(302);
  return locationOf(response, callbackUrl);
}

/** The whole round trip: start, provider, callback. Answers the app's final redirect. */
export async function signInThroughProvider(
  t: OidcTestContext,
  browser: Browser,
  sub: string,
  options: { link?: boolean } = {},
): Promise<URL> {
  const authorizationUrl = await startSignIn(t, browser, options);
  return openCallback(browser, await authorize(t, browser, authorizationUrl, sub));
}

/** GET /v1/me with whatever the browser holds for the app. */
export async function profileOf(t: OidcTestContext, browser: Browser) {
  const response = await browser.request(`${t.appUrl}/v1/me`);
  return {
    status: response.status,
    body: (await response.json()) as {
      id: string;
      email: string;
      name: string;
      workspaces: unknown[];
    },
  };
}

export function hasSessionCookie(t: OidcTestContext, browser: Browser): boolean {
  return browser.cookieNames(t.appUrl).some((name) => name.endsWith("session_token"));
}

/** The error code of a redirect to our failure page (or better-auth's default one). */
export function errorOf(location: URL): string | null {
  return location.searchParams.get("error");
}

export async function usersWithEmail(t: OidcTestContext, email: string) {
  return t.database.db
    .select({ id: user.id, emailVerified: user.emailVerified })
    .from(user)
    .where(eq(user.email, email));
}

export async function accountsOf(t: OidcTestContext, userId: string) {
  const rows = await t.database.db
    .select({ providerId: account.providerId, accountId: account.accountId })
    .from(account)
    .where(eq(account.userId, userId));
  return rows.sort((a, b) => a.providerId.localeCompare(b.providerId));
}

export async function oidcAccountsFor(t: OidcTestContext, sub: string) {
  return t.database.db
    .select({ userId: account.userId })
    .from(account)
    .where(and(eq(account.providerId, "oidc"), eq(account.accountId, sub)));
}

export async function sessionCount(t: OidcTestContext): Promise<number> {
  return (await t.database.db.select({ id: session.id }).from(session)).length;
}

/** Marks a local user's address verified, as an email-verification flow would. */
export async function markEmailVerified(t: OidcTestContext, userId: string): Promise<void> {
  await t.database.db.update(user).set({ emailVerified: true }).where(eq(user.id, userId));
}
