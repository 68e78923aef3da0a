import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { admin } from "better-auth/plugins/admin";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import { twoFactor as twoFactorPlugin } from "better-auth/plugins/two-factor";
import type { FastifyBaseLogger } from "fastify";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../db/pool.ts";
import { adminAccess } from "./admin-access.ts";
import { jwtPluginOptions } from "./jwt.ts";
import type { LimitStore } from "./limit-store.ts";
import { accountOptions, type OAuthProviders, oauthPlugins, socialProviders } from "./oidc.ts";
import { passwordHashing } from "./password.ts";
import { account, jwks, session, twoFactor, user, verification } from "./schema.ts";
import { authRateLimitStorage, signInPolicy } from "./sign-in-limits.ts";

/**
 * The header that carries the client address from our Fastify front to
 * better-auth (its rate limiter and session records). The front always
 * overwrites it with the socket-derived `request.ip`, so clients cannot choose
 * their own rate-limit bucket with a forged X-Forwarded-For.
 */
export const clientIpHeader = "x-taskpilot-client-ip";

export type AuthOptions = {
  db: Database;
  secret: string;
  baseUrl: string;
  trustedOrigins?: string[];
  /** better-auth's own sign-in limiter; tests that mint many users turn it off. */
  rateLimit?: boolean;
  /** Where the per-address limiter counts (Redis or this process). */
  limits: LimitStore;
  /** better-auth's own messages go to our logger, so level and redaction apply. */
  log: Pick<FastifyBaseLogger, "debug" | "info" | "warn" | "error">;
  /** Called once for every new user, e.g. to give them a personal workspace. */
  onUserCreated: (user: { id: string; name: string }) => Promise<void>;
  /** External sign-in (OpenID Connect, GitHub, Google); none when unset. */
  oauth?: OAuthProviders;
};

export function createAuth(options: AuthOptions) {
  return betterAuth({
    appName: "Taskpilot",
    baseURL: options.baseUrl,
    basePath: "/api/auth",
    secret: options.secret,
    trustedOrigins: options.trustedOrigins ?? [options.baseUrl],
    database: drizzleAdapter(options.db, {
      provider: "pg",
      schema: { user, session, account, verification, jwks, twoFactor },
    }),
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
      autoSignIn: true,
      password: passwordHashing(options.db, options.log),
      revokeSessionsOnPasswordReset: true,
    },
    socialProviders: socialProviders(options.oauth),
    account: accountOptions,
    user: {
      additionalFields: {
        timezone: { type: "string", required: false, defaultValue: "UTC", input: false },
      },
    },
    session: {
      expiresIn: 60 * 60 * 24 * 30,
      updateAge: 60 * 60 * 24,
    },
    advanced: {
      database: { generateId: () => uuidv7() },
      useSecureCookies: options.baseUrl.startsWith("https://"),
      ipAddress: { ipAddressHeaders: [clientIpHeader] },
      // better-auth skips its Origin and callbackURL checks when it thinks it
      // runs under a test runner; say so explicitly so tests exercise the
      // checks production runs.
      disableOriginCheck: false,
    },
    // Request limits for the whole API arrive with the API platform work;
    // better-auth's limiter guards its own endpoints per client address, and
    // our front adds the per-account sign-in limits (sign-in-limits.ts).
    rateLimit: {
      enabled: options.rateLimit ?? true,
      window: 60,
      max: 100,
      customRules: { "/sign-in/email": signInPolicy.perAddress },
      customStorage: authRateLimitStorage(options.limits),
    },
    databaseHooks: {
      user: {
        create: {
          after: async (created) => {
            await options.onUserCreated({ id: created.id, name: created.name });
          },
        },
      },
    },
    // bearer: a session token as `Authorization: Bearer`; jwt: short-lived
    // tokens for services (/api/auth/token, /api/auth/jwks); admin and
    // two-factor: system admins and TOTP.
    plugins: [
      bearer(),
      jwt(jwtPluginOptions(options.baseUrl)),
      admin(adminAccess),
      twoFactorPlugin({ issuer: "Taskpilot" }),
      ...oauthPlugins(options.oauth),
    ],
    telemetry: { enabled: false },
    // A failing endpoint throws to our passthrough (routes.ts, callAuth),
    // which logs it through pino. Otherwise better-call prints the error with
    // console.error: its failing SQL with the parameter values, and stacks,
    // outside our logger and its redaction.
    onAPIError: { throw: true },
    logger: {
      level: "debug",
      log: (level, message) => options.log[level]({ component: "better-auth" }, message),
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
