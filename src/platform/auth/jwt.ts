import { createJwk, type JwtOptions } from "better-auth/plugins/jwt";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { Auth } from "./auth.ts";

/** The only signature algorithm /v1 accepts: Ed25519, what the plugin signs with. */
export const jwtAlgorithms = ["EdDSA"];

const day = 24 * 60 * 60;

/**
 * Signing keys: Ed25519, rotated every 30 days (the plugin mints the next key
 * when it next signs after the current one expired). A retired key stays in
 * the JWKS for one more day, far longer than the 15 minutes its last tokens
 * live.
 */
const jwksOptions = {
  keyPairConfig: { alg: "EdDSA", crv: "Ed25519" },
  rotationInterval: 30 * day,
  gracePeriod: day,
} satisfies JwtOptions["jwks"];

/**
 * better-auth's jwt plugin: `GET /api/auth/token` signs a 15-minute JWT for
 * the session, `GET /api/auth/jwks` publishes the public keys. Issuer and
 * audience are both the public URL. Tokens carry only `sub` (the user id),
 * `iat`, `exp`, `iss` and `aud`: /v1 reads the user row anyway.
 */
export function jwtPluginOptions(publicUrl: string) {
  return {
    jwks: jwksOptions,
    jwt: {
      issuer: publicUrl,
      audience: publicUrl,
      expirationTime: "15m",
      definePayload: () => ({}),
    },
    // Otherwise every get-session, including our own on /v1, signs a JWT.
    disableSettingJwtHeader: true,
  } satisfies JwtOptions;
}

/** Creates a new signing key the way the plugin does; new tokens use it at once. */
export async function rotateJwtKey(auth: Auth): Promise<string> {
  // createJwk reads only `context` (adapter and secret) from its endpoint
  // context, so the auth context stands in for a request.
  const context = await auth.$context;
  const key = await createJwk({ context } as unknown as Parameters<typeof createJwk>[0], {
    jwks: jwksOptions,
  });
  return key.id;
}

/** Three base64url parts separated by dots; session tokens have at most two. */
const jwtShape = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export function looksLikeJwt(token: string): boolean {
  return jwtShape.test(token);
}

type KeySet = { kids: Set<string>; resolve: ReturnType<typeof createLocalJWKSet> };

export type JwtVerifierOptions = {
  /** The published key set (the plugin's JWKS, read from the database). */
  loadKeys: () => Promise<JSONWebKeySet>;
  issuer: string;
  audience: string;
  now: () => Date;
  /** Reload the keys at least this often, so a deleted key stops verifying. */
  maxAgeMs?: number;
  /** Reload for an unknown `kid` at most this often, so garbage kids cannot hammer the database. */
  minReloadMs?: number;
};

/**
 * Verifies JWTs locally against an in-memory copy of our JWKS: no database
 * work per request. A token with a `kid` we have not seen reloads the keys
 * (a rotation on another instance), at most once per `minReloadMs`.
 */
export class JwtVerifier {
  readonly #options: Required<JwtVerifierOptions>;
  #keys: KeySet | null = null;
  #loadedAt = Number.NEGATIVE_INFINITY;
  #unknownKidReloadAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | null = null;

  constructor(options: JwtVerifierOptions) {
    this.#options = { maxAgeMs: 60_000, minReloadMs: 5_000, ...options };
  }

  /** The token's claims when it is a current token we signed; null for anything else. */
  async verify(token: string): Promise<(JWTPayload & { sub: string }) | null> {
    let kid: unknown;
    try {
      ({ kid } = decodeProtectedHeader(token));
    } catch {
      return null;
    }
    if (typeof kid !== "string") return null;
    const keys = await this.#keysFor(kid);
    if (!keys) return null;
    try {
      const { payload } = await jwtVerify(token, keys.resolve, {
        algorithms: jwtAlgorithms,
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        requiredClaims: ["exp", "sub"],
        currentDate: this.#options.now(),
      });
      return typeof payload.sub === "string" ? { ...payload, sub: payload.sub } : null;
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }

  async #keysFor(kid: string): Promise<KeySet | null> {
    const now = this.#options.now().getTime();
    if (now - this.#loadedAt >= this.#options.maxAgeMs) {
      await this.#reload(now);
    } else if (
      !this.#keys?.kids.has(kid) &&
      now - this.#unknownKidReloadAt >= this.#options.minReloadMs
    ) {
      this.#unknownKidReloadAt = now;
      await this.#reload(now);
    }
    return this.#keys?.kids.has(kid) ? this.#keys : null;
  }

  /** One load at a time: concurrent requests with a new kid share it. */
  async #reload(now: number): Promise<void> {
    this.#loading ??= this.#options
      .loadKeys()
      .then((set) => {
        const kids = set.keys.flatMap((key) => (typeof key.kid === "string" ? [key.kid] : []));
        this.#keys = { kids: new Set(kids), resolve: createLocalJWKSet(set) };
        this.#loadedAt = now;
      })
      .finally(() => {
        this.#loading = null;
      });
    await this.#loading;
  }
}
