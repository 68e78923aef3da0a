import type { BetterAuthOptions } from "better-auth";
import { genericOAuth } from "better-auth/plugins/generic-oauth";

/** An OAuth client registered at a provider. */
export type OAuthClient = { clientId: string; clientSecret: string };

/** Any OpenID Provider, found through its discovery document. */
export type OidcProvider = OAuthClient & {
  /** The id in our URLs (`/api/auth/callback/<providerId>`) and in the account table. */
  providerId: string;
  name: string;
  issuer: string;
  scopes: string[];
};

/** The external sign-in providers this instance offers; each one is optional. */
export type OAuthProviders = {
  oidc?: OidcProvider;
  github?: OAuthClient;
  google?: OAuthClient;
};

/**
 * Provider ids better-auth already uses. An OIDC provider under one of these
 * would share account rows with it: "credential" rows hold passwords and are
 * keyed by our user id, so a provider whose `sub` equals a user id would sign
 * in as that user.
 */
export const reservedProviderIds = ["credential", "email", "github", "google"];

const maxNameLength = 100;

type ProfileNames = {
  name?: unknown;
  preferred_username?: unknown;
  login?: unknown;
  email?: unknown;
};

/**
 * Users get the provider's display name (or login, or the email's local
 * part), cut to what our user table holds: a longer name would fail the
 * insert and with it the sign-in.
 */
function boundedName(profile: ProfileNames) {
  const named = [profile.name, profile.preferred_username, profile.login].find(
    (value): value is string => typeof value === "string" && value.trim() !== "",
  );
  const fallback = typeof profile.email === "string" ? (profile.email.split("@")[0] ?? "") : "";
  return { name: (named?.trim() ?? fallback).slice(0, maxNameLength) };
}

/**
 * The generic OpenID Connect provider. Discovery supplies the endpoints, the
 * issuer and the JWKS; `requireIdTokenVerification` refuses to run the
 * provider at all without them, so an id_token is never trusted unverified.
 * With a JWKS, better-auth sends a nonce and checks the id_token's signature,
 * `iss`, `aud`, `exp` and `nonce`; PKCE (S256) is on by default.
 */
export function oauthPlugins(providers: OAuthProviders | undefined) {
  const oidc = providers?.oidc;
  if (!oidc) return [];
  return [
    genericOAuth({
      config: [
        {
          providerId: oidc.providerId,
          name: oidc.name,
          discoveryUrl: `${oidc.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`,
          requireIdTokenVerification: true,
          clientId: oidc.clientId,
          clientSecret: oidc.clientSecret,
          // client_secret_basic: the method OIDC assumes when a client registered none.
          authentication: "basic",
          scopes: oidc.scopes,
          pkce: true,
          mapProfileToUser: boundedName,
        },
      ],
    }),
  ];
}

/**
 * GitHub and Google through better-auth's presets. GitHub reports whether
 * the address is verified from its emails API; Google's id_token comes
 * straight from its token endpoint over TLS. Signing in with an id_token the
 * client brings is turned off: every sign-in is a code flow we started.
 */
export function socialProviders(
  providers: OAuthProviders | undefined,
): BetterAuthOptions["socialProviders"] {
  const { github, google } = providers ?? {};
  return {
    ...(github
      ? { github: { ...github, disableIdTokenSignIn: true, mapProfileToUser: boundedName } }
      : {}),
    ...(google
      ? { google: { ...google, disableIdTokenSignIn: true, mapProfileToUser: boundedName } }
      : {}),
  };
}

/**
 * Linking policy (docs/security.md#sign-in-with-an-openid-provider-oauth-20--openid-connect). An external identity joins an
 * existing user with the same email only when the provider says the address
 * is verified AND the local account's address is verified too; otherwise an
 * attacker could pre-register someone's email with a password and later share
 * the account the victim signs into. No provider is trusted to skip the
 * `email_verified` check. A signed-in user links a provider explicitly
 * through /api/auth/link-social (same email required).
 */
export const accountOptions: BetterAuthOptions["account"] = {
  accountLinking: {
    enabled: true,
    trustedProviders: [],
    requireLocalEmailVerified: true,
    allowDifferentEmails: false,
  },
  // Provider access and refresh tokens are stored encrypted with AUTH_SECRET.
  encryptOAuthTokens: true,
};
