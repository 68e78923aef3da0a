import { describe, expect, it } from "vitest";
import { Browser } from "../../../test/browser.ts";
import { signUp } from "../../../test/harness.ts";
import {
  accountsOf,
  authorize,
  errorOf,
  failedPath,
  hasSessionCookie,
  markEmailVerified,
  newIdentity,
  oidcAccountsFor,
  openCallback,
  profileOf,
  signedInPath,
  signInThroughProvider,
  startSignIn,
  useOidcApp,
  usersWithEmail,
} from "./oidc-test-helpers.ts";

const t = useOidcApp();

describe("signing in with an OpenID provider", () => {
  it("asks for a code with PKCE (S256), state and nonce, and the provider answers with its iss", async () => {
    const identity = newIdentity(t);
    const browser = new Browser();
    const authorizationUrl = await startSignIn(t, browser);
    expect(authorizationUrl.origin).toBe(t.provider.issuer);
    const query = authorizationUrl.searchParams;
    expect(query.get("response_type")).toBe("code");
    expect(query.get("code_challenge_method")).toBe("S256");
    expect(query.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get("state")?.length).toBeGreaterThanOrEqual(32);
    expect(query.get("nonce")?.length).toBeGreaterThanOrEqual(32);
    expect(query.get("scope")?.split(" ")).toEqual(
      expect.arrayContaining(["openid", "email", "profile"]),
    );
    expect(query.get("redirect_uri")).toBe(`${t.appUrl}/api/auth/callback/oidc`);

    const callbackUrl = await authorize(t, browser, authorizationUrl, identity.sub);
    expect(callbackUrl.pathname).toBe("/api/auth/callback/oidc");
    expect(callbackUrl.searchParams.get("state")).toBe(query.get("state"));
    expect(callbackUrl.searchParams.get("iss")).toBe(t.provider.issuer);
    expect(callbackUrl.searchParams.get("code")).toBeTruthy();
  });

  it("creates a new user with a personal workspace and a session cookie that works on /v1", async () => {
    const identity = newIdentity(t, { name: "Grace Hopper" });
    const browser = new Browser();
    const landed = await signInThroughProvider(t, browser, identity.sub);
    expect(landed.href).toBe(`${t.appUrl}${signedInPath}`);
    expect(hasSessionCookie(t, browser)).toBe(true);

    const profile = await profileOf(t, browser);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ email: identity.email, name: "Grace Hopper" });
    expect(profile.body.workspaces).toEqual([
      { id: expect.any(String), name: "Personal", role: "owner" },
    ]);
    expect(await usersWithEmail(t, identity.email)).toEqual([
      { id: profile.body.id, emailVerified: true },
    ]);
    expect(await accountsOf(t, profile.body.id)).toEqual([
      { providerId: "oidc", accountId: identity.sub },
    ]);
  });

  it("signs the same person into the same user the next time, without a second user or account", async () => {
    const identity = newIdentity(t);
    const first = new Browser();
    await signInThroughProvider(t, first, identity.sub);
    const second = new Browser();
    await signInThroughProvider(t, second, identity.sub);

    const [firstProfile, secondProfile] = [await profileOf(t, first), await profileOf(t, second)];
    expect(secondProfile.status).toBe(200);
    expect(secondProfile.body.id).toBe(firstProfile.body.id);
    expect(await usersWithEmail(t, identity.email)).toHaveLength(1);
    expect(await oidcAccountsFor(t, identity.sub)).toEqual([{ userId: firstProfile.body.id }]);
    expect(secondProfile.body.workspaces).toHaveLength(1);
  });

  it("creates a user with an unverified address when the provider does not vouch for a new email", async () => {
    const identity = newIdentity(t, { emailVerified: false });
    const browser = new Browser();
    expect((await signInThroughProvider(t, browser, identity.sub)).pathname).toBe(signedInPath);
    const [created] = await usersWithEmail(t, identity.email);
    expect(created?.emailVerified).toBe(false);
  });

  it("names the user after the email when the provider sends no name, and cuts long names to 100", async () => {
    const unnamed = newIdentity(t, { name: "" });
    const unnamedBrowser = new Browser();
    await signInThroughProvider(t, unnamedBrowser, unnamed.sub);
    expect((await profileOf(t, unnamedBrowser)).body.name).toBe(unnamed.email.split("@")[0]);

    const verbose = newIdentity(t, { name: "N".repeat(150) });
    const verboseBrowser = new Browser();
    expect((await signInThroughProvider(t, verboseBrowser, verbose.sub)).pathname).toBe(
      signedInPath,
    );
    expect((await profileOf(t, verboseBrowser)).body.name).toBe("N".repeat(100));
  });
});

describe("linking to an existing Taskpilot user (by verified email only)", () => {
  it("signs into the existing user when both the provider and the user's own address are verified", async () => {
    const existing = await signUp(t.app);
    await markEmailVerified(t, existing.id);
    const identity = newIdentity(t, { email: existing.email });
    const browser = new Browser();
    expect((await signInThroughProvider(t, browser, identity.sub)).pathname).toBe(signedInPath);

    expect((await profileOf(t, browser)).body.id).toBe(existing.id);
    expect(await usersWithEmail(t, existing.email)).toHaveLength(1);
    expect(await accountsOf(t, existing.id)).toEqual([
      { providerId: "credential", accountId: existing.id },
      { providerId: "oidc", accountId: identity.sub },
    ]);
  });

  it("refuses when the provider says email_verified false: no session, no account, nothing created", async () => {
    const existing = await signUp(t.app);
    await markEmailVerified(t, existing.id);
    const identity = newIdentity(t, { email: existing.email, emailVerified: false });
    const browser = new Browser();
    const landed = await signInThroughProvider(t, browser, identity.sub);

    expect(landed.pathname).toBe(failedPath);
    expect(errorOf(landed)).toBe("account_not_linked");
    expect(hasSessionCookie(t, browser)).toBe(false);
    expect((await profileOf(t, browser)).status).toBe(401);
    expect(await usersWithEmail(t, existing.email)).toHaveLength(1);
    expect(await accountsOf(t, existing.id)).toEqual([
      { providerId: "credential", accountId: existing.id },
    ]);
    expect(await oidcAccountsFor(t, identity.sub)).toEqual([]);
  });

  it("refuses to join a password account whose own address was never verified", async () => {
    const existing = await signUp(t.app);
    const identity = newIdentity(t, { email: existing.email });
    const browser = new Browser();
    const landed = await signInThroughProvider(t, browser, identity.sub);

    expect(errorOf(landed)).toBe("account_not_linked");
    expect(hasSessionCookie(t, browser)).toBe(false);
    expect(await oidcAccountsFor(t, identity.sub)).toEqual([]);
  });

  it("links on request from a signed-in password user, who can then sign in through the provider", async () => {
    const existing = await signUp(t.app);
    const identity = newIdentity(t, { email: existing.email });
    const browser = new Browser();
    const signIn = await browser.postJson(`${t.appUrl}/api/auth/sign-in/email`, {
      email: existing.email,
      password: "correct horse battery staple",
    });
    expect(signIn.status).toBe(200);

    const landed = await signInThroughProvider(t, browser, identity.sub, { link: true });
    expect(landed.href).toBe(`${t.appUrl}${signedInPath}`);
    expect(await oidcAccountsFor(t, identity.sub)).toEqual([{ userId: existing.id }]);

    const later = new Browser();
    expect((await signInThroughProvider(t, later, identity.sub)).pathname).toBe(signedInPath);
    expect((await profileOf(t, later)).body.id).toBe(existing.id);
  });

  it("refuses a link request for a provider identity with another email", async () => {
    const existing = await signUp(t.app);
    const identity = newIdentity(t);
    const browser = new Browser();
    await browser.postJson(`${t.appUrl}/api/auth/sign-in/email`, {
      email: existing.email,
      password: "correct horse battery staple",
    });
    const authorizationUrl = await startSignIn(t, browser, { link: true });
    const landed = await openCallback(
      browser,
      await authorize(t, browser, authorizationUrl, identity.sub),
    );

    expect(errorOf(landed)).toBe("email_does_not_match");
    expect(await oidcAccountsFor(t, identity.sub)).toEqual([]);
  });
});
