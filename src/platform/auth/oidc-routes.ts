import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { problemResponses, security } from "../http/route-helpers.ts";

const tags = ["Authentication"];

const providerId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,49}$/, "must be a configured provider id, e.g. oidc or github");

/** Where the browser goes afterwards; better-auth refuses origins that are not trusted. */
const returnUrl = (meaning: string) =>
  z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .meta({
      description: `${meaning}. An absolute URL on a trusted origin (PUBLIC_URL) or a path.`,
    });

/**
 * No `idToken` field: a client-submitted id_token would skip the state, PKCE
 * and nonce of the code flow, so every external sign-in is a redirect we start.
 */
const startFields = {
  provider: providerId.meta({ description: "`oidc` (or OIDC_PROVIDER_ID), `github`, `google`" }),
  callbackURL: returnUrl("Where the browser lands signed in (default PUBLIC_URL)"),
  errorCallbackURL: returnUrl(
    "Where the browser lands on failure, with ?error=<code> (default /api/auth/error)",
  ),
  disableRedirect: z.boolean().optional(),
  loginHint: z.string().max(254).optional(),
};

const authorizationRedirect = z
  .object({
    url: z
      .string()
      .meta({ description: "The provider's authorization URL: navigate the browser there" }),
    redirect: z.boolean(),
  })
  .meta({ id: "AuthorizationRedirect" });

const callbackQuery = z.object({
  code: z.string().optional(),
  state: z.string().optional(),
  iss: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

const redirect = (description: string) =>
  z.null().meta({
    description,
    headers: { location: { type: "string", description: "Where the browser goes next" } },
  });

/**
 * The browser side of OpenID Connect / OAuth sign-in, documented in front of
 * better-auth (which `forward` calls). Start answers JSON with the
 * provider's URL (fetch, then navigate); the callback is where the provider
 * sends the browser back, and it always answers with a redirect: to
 * `callbackURL` with a session cookie, or to the error URL with
 * `?error=<code>` and no session.
 */
export function registerOAuthRoutes(
  app: FastifyInstance,
  forward: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
): void {
  // Untyped routes: the handler forwards the raw request, it reads no parsed input.
  app.post("/api/auth/sign-in/social", {
    schema: {
      tags,
      summary: "Start signing in with an OpenID Connect, GitHub or Google account",
      description:
        "Authorization code flow with PKCE (S256), state and, for OpenID Connect, a nonce. " +
        "Sets a short-lived state cookie the callback needs; a new user gets a personal workspace.",
      body: z.strictObject({
        ...startFields,
        newUserCallbackURL: returnUrl("Where a just-created user lands (default callbackURL)"),
      }),
      response: { 200: authorizationRedirect, ...problemResponses("forbidden", "not_found") },
    },
    handler: forward,
  });
  app.post("/api/auth/link-social", {
    schema: {
      tags,
      security,
      summary: "Link an OpenID Connect, GitHub or Google account to the signed-in user",
      description:
        "Needs a session. The provider must report the same email as verified; the callback " +
        "then adds the account to this user and redirects to callbackURL.",
      body: z.strictObject(startFields),
      response: { 200: authorizationRedirect, ...problemResponses("forbidden", "not_found") },
    },
    handler: forward,
  });
  app.get("/api/auth/callback/:providerId", {
    schema: {
      tags,
      summary: "Where the provider sends the browser back (redirect endpoint)",
      description:
        "Checks state (cookie-bound, single use), exchanges the code with the PKCE verifier, " +
        "verifies the id_token (signature via JWKS, iss, aud, exp, nonce), then redirects. " +
        "Failures redirect to errorCallbackURL or /api/auth/error with ?error=<code>, e.g. " +
        "state_mismatch, invalid_code, unable_to_get_user_info, account_not_linked.",
      params: z.object({ providerId }),
      querystring: callbackQuery,
      response: {
        302: redirect("To callbackURL with a session cookie, or to the error URL with ?error="),
        ...problemResponses(),
      },
    },
    handler: forward,
  });
}
