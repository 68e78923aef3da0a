import { describe, expect, it } from "vitest";
import { Browser } from "../../../test/browser.ts";
import {
  authorize,
  errorOf,
  failedPath,
  hasSessionCookie,
  newIdentity,
  openCallback,
  profileOf,
  sessionCount,
  signedInPath,
  startSignIn,
  useOidcApp,
  usersWithEmail,
} from "./oidc-test-helpers.ts";

const t = useOidcApp();

/** A person who went through the provider: the callback URL it sent them back with, unopened. */
async function callbackFor(browser: Browser, authorizationUrl?: URL) {
  const identity = newIdentity(t);
  const start = authorizationUrl ?? (await startSignIn(t, browser));
  return { identity, callbackUrl: await authorize(t, browser, start, identity.sub) };
}

function withParam(url: URL, name: string, value: string): URL {
  const changed = new URL(url);
  changed.searchParams.set(name, value);
  return changed;
}

/**
 * Failures never answer problem+json here: the callback is a browser
 * navigation, so it redirects to the error URL the sign-in named
 * (errorCallbackURL) or, when the state cannot be read, to better-auth's
 * error page at /api/auth/error, always with ?error=<code>.
 */
describe("the OAuth callback refuses", () => {
  it("a forged state: error page with state_mismatch and no session; the genuine one still works", async () => {
    const browser = new Browser();
    const { callbackUrl } = await callbackFor(browser);
    const landed = await openCallback(browser, withParam(callbackUrl, "state", "forged-state"));

    expect(`${landed.origin}${landed.pathname}`).toBe(`${t.appUrl}/api/auth/error`);
    expect(errorOf(landed)).toBe("state_mismatch");
    expect(hasSessionCookie(t, browser)).toBe(false);
    const page = await browser.request(landed);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("state_mismatch");

    expect((await openCallback(browser, callbackUrl)).pathname).toBe(signedInPath);
    expect((await profileOf(t, browser)).status).toBe(200);
  });

  it("a callback opened in another browser (login CSRF): the state cookie is missing", async () => {
    const attacker = new Browser();
    const { identity, callbackUrl } = await callbackFor(attacker);
    const victim = new Browser();
    const landed = await openCallback(victim, callbackUrl);

    expect(errorOf(landed)).toBe("state_mismatch");
    expect(hasSessionCookie(t, victim)).toBe(false);
    expect(await usersWithEmail(t, identity.email)).toEqual([]);
  });

  it("a replayed callback (same code and state): the state was used up", async () => {
    const browser = new Browser();
    const { callbackUrl } = await callbackFor(browser);
    expect((await openCallback(browser, callbackUrl)).pathname).toBe(signedInPath);
    const sessions = await sessionCount(t);

    const replayer = new Browser();
    const replayed = await openCallback(replayer, callbackUrl);
    expect(errorOf(replayed)).toBe("state_mismatch");
    expect(errorOf(await openCallback(browser, callbackUrl))).toBe("state_mismatch");
    expect(hasSessionCookie(t, replayer)).toBe(false);
    expect(await sessionCount(t)).toBe(sessions);
  });

  it("a used code under a fresh, valid state: the provider refuses the exchange", async () => {
    const browser = new Browser();
    const { callbackUrl } = await callbackFor(browser);
    expect((await openCallback(browser, callbackUrl)).pathname).toBe(signedInPath);
    const sessions = await sessionCount(t);

    const replayer = new Browser();
    const fresh = await startSignIn(t, replayer);
    const forged = withParam(callbackUrl, "state", fresh.searchParams.get("state") ?? "");
    const landed = await openCallback(replayer, forged);

    expect(landed.pathname).toBe(failedPath);
    expect(errorOf(landed)).toBe("invalid_code");
    expect(hasSessionCookie(t, replayer)).toBe(false);
    expect(await sessionCount(t)).toBe(sessions);
  });

  it("an id_token that carries another nonce than the one we sent", async () => {
    const browser = new Browser();
    const authorizationUrl = await startSignIn(t, browser);
    const tampered = withParam(authorizationUrl, "nonce", "a-nonce-we-never-issued-0123456789");
    const { identity, callbackUrl } = await callbackFor(browser, tampered);
    const landed = await openCallback(browser, callbackUrl);

    expect(landed.pathname).toBe(failedPath);
    expect(errorOf(landed)).toBe("unable_to_get_user_info");
    expect(hasSessionCookie(t, browser)).toBe(false);
    expect(await usersWithEmail(t, identity.email)).toEqual([]);
  });

  it("an authorization response naming another issuer (mix-up)", async () => {
    const browser = new Browser();
    const { identity, callbackUrl } = await callbackFor(browser);
    const landed = await openCallback(
      browser,
      withParam(callbackUrl, "iss", "https://attacker.example"),
    );

    expect(errorOf(landed)).toBe("issuer_mismatch");
    expect(hasSessionCookie(t, browser)).toBe(false);
    expect(await usersWithEmail(t, identity.email)).toEqual([]);
  });

  it("a provider error: it is passed on to the error URL", async () => {
    const browser = new Browser();
    const authorizationUrl = await startSignIn(t, browser);
    const denied = new URL(`${t.appUrl}/api/auth/callback/oidc`);
    denied.searchParams.set("state", authorizationUrl.searchParams.get("state") ?? "");
    denied.searchParams.set("error", "access_denied");
    const landed = await openCallback(browser, denied);

    expect(landed.pathname).toBe(failedPath);
    expect(errorOf(landed)).toBe("access_denied");
    expect(hasSessionCookie(t, browser)).toBe(false);
  });
});

describe("starting a sign-in", () => {
  it("answers 400 to a client-submitted id_token: every sign-in is a code flow we start", async () => {
    const response = await new Browser().postJson(`${t.appUrl}/api/auth/sign-in/social`, {
      provider: "oidc",
      idToken: { token: "eyJhbGciOiJub25lIn0.e30." },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "idToken" }],
    });
  });

  it("answers 404 not_found for a provider that is not configured", async () => {
    const response = await new Browser().postJson(`${t.appUrl}/api/auth/sign-in/social`, {
      provider: "gitlab",
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code: string }).code).toBe("not_found");
  });

  it.each([
    ["callbackURL", "https://evil.example/welcome"],
    ["errorCallbackURL", "https://evil.example/oops"],
  ])("refuses a %s on another site (no open redirect)", async (field, url) => {
    const response = await new Browser().postJson(`${t.appUrl}/api/auth/sign-in/social`, {
      provider: "oidc",
      [field]: url,
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe("forbidden");
  });

  it("sends the browser on with Location unless disableRedirect is set", async () => {
    const response = await new Browser().postJson(`${t.appUrl}/api/auth/sign-in/social`, {
      provider: "oidc",
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { url: string; redirect: boolean };
    expect(body.redirect).toBe(true);
    expect(response.headers.get("location")).toBe(body.url);
  });

  it.each([
    ["github", "https://github.com/login/oauth/authorize"],
    ["google", "https://accounts.google.com/o/oauth2/v2/auth"],
  ])("sends %s users to the provider with PKCE (S256) and state", async (provider, endpoint) => {
    const url = await startSignIn(t, new Browser(), { provider });
    expect(`${url.origin}${url.pathname}`).toBe(endpoint);
    expect(url.searchParams.get("client_id")).toBe(`${provider}-client`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("state")?.length).toBeGreaterThanOrEqual(32);
    expect(url.searchParams.get("redirect_uri")).toBe(`${t.appUrl}/api/auth/callback/${provider}`);
  });
});
