import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { DomainError, type ErrorCode } from "../http/errors.ts";
import { sendProblem } from "../http/problem.ts";
import { problemResponses, security } from "../http/route-helpers.ts";
import { accountRoutes } from "./account-routes.ts";
import { type Auth, clientIpHeader } from "./auth.ts";
import {
  authUserSchema,
  type DocumentedAuthRoute,
  email,
  newPassword,
  tokenResponse,
  twoFactorChallenge,
} from "./contracts.ts";
import { registerOAuthRoutes } from "./oidc-routes.ts";
import type { SessionCache } from "./session-cache.ts";
import type { SignInAttempt, SignInLimits } from "./sign-in-limits.ts";
import type { UserCache } from "./user-cache.ts";

const tags = ["Authentication"];

/** Our documented, validated front for the better-auth endpoints clients use most. */
const documented: DocumentedAuthRoute[] = [
  {
    method: "POST",
    url: "/api/auth/sign-up/email",
    summary: "Sign up with email and password",
    description:
      "An email that already has an account, in any letter case, answers 409 naming `email`; so do all but one of several sign-ups with one email at the same moment.",
    body: z.strictObject({
      name: z.string().trim().min(1, "must not be empty").max(100),
      email,
      password: newPassword,
      image: z
        .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
        .max(2000)
        .optional(),
      callbackURL: z.string().optional(),
      rememberMe: z.boolean().optional(),
    }),
    response: tokenResponse,
    errors: ["conflict", "forbidden"],
  },
  {
    method: "POST",
    url: "/api/auth/sign-in/email",
    summary: "Sign in with email and password",
    description:
      "Unknown email and wrong password answer alike (401). Too many failures for one account from one address answer 429 with Retry-After; a banned user gets 403.",
    body: z.strictObject({
      email,
      password: z.string().min(1, "must not be empty").max(128),
      callbackURL: z.string().optional(),
      rememberMe: z.boolean().optional(),
    }),
    response: z.union([tokenResponse, twoFactorChallenge]),
    errors: ["forbidden"],
  },
  {
    method: "POST",
    url: "/api/auth/sign-out",
    summary: "Sign out (ends the session)",
    response: z.object({ success: z.boolean() }),
    errors: ["forbidden"],
  },
  {
    method: "GET",
    url: "/api/auth/get-session",
    summary: "The current session and user, or null",
    response: z
      .object({ session: z.record(z.string(), z.unknown()), user: authUserSchema })
      .nullable(),
  },
  {
    method: "GET" as const,
    url: "/api/auth/token",
    summary: "A 15-minute JWT for the current session (EdDSA; send it as a Bearer token)",
    body: undefined,
    response: z.object({ token: z.string() }).meta({ id: "JwtToken" }),
  },
  {
    method: "GET" as const,
    url: "/api/auth/jwks",
    summary: "The public keys that verify our JWTs (JWKS)",
    body: undefined,
    response: z
      .object({
        keys: z.array(
          z.looseObject({ kid: z.string(), kty: z.string(), alg: z.string(), crv: z.string() }),
        ),
      })
      .meta({ id: "Jwks" }),
  },
  ...accountRoutes,
];

const statusCodes: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  429: "rate_limited",
};

/**
 * Mounts better-auth at /api/auth/*. Requests go to its fetch handler; its
 * error answers are turned into our problem+json so clients see one error
 * format everywhere.
 */
export function registerAuthRoutes(
  app: FastifyInstance,
  deps: {
    auth: Auth;
    baseUrl: string;
    sessions: SessionCache;
    users: UserCache;
    signInLimits: SignInLimits;
  },
): void {
  const { auth, baseUrl, sessions, users, signInLimits } = deps;
  // Everything a request changes (failure counts, the session cache) is
  // settled before the answer leaves, so the client's next request sees it.
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const attempt = signInAttemptOf(request);
    if (attempt) await signInLimits.assertAllowed(attempt);
    const response = await callAuth(auth, baseUrl, request);
    if (attempt) await recordSignIn(signInLimits, attempt, response.status);
    if (await lostSignUpRace(auth, request, response)) return sendProblem(reply, emailTaken());
    // Sign-out, revocations, bans, unbans, password changes and deletions
    // change sessions or users. Every instance hears of it from the database
    // (auth-changes.ts) within moments; this instance forgets everything at
    // once, so the client's very next request here already sees the change.
    if (request.method === "POST" && !/\/sign-(in|up)\//.test(request.url)) {
      sessions.clear();
      users.clear();
    }
    return sendAuthResponse(reply, response, request.body);
  };
  const typed = app.withTypeProvider<ZodTypeProvider>();
  for (const route of documented) {
    typed.route({
      method: route.method,
      url: route.url,
      schema: {
        tags,
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.authenticated ? { security } : {}),
        ...(route.body ? { body: route.body } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        response: {
          200: route.response,
          ...problemResponses(...(route.errors ?? ["conflict", "forbidden"])),
        },
      },
      handler: forward,
    });
  }
  registerOAuthRoutes(app, forward);
  // better-auth's update-user stores name and image without the checks
  // PATCH /v1/me makes: a NUL or a 5,000-character name was a 500, and a
  // `javascript:` image was kept. It is not part of the API.
  app.post("/api/auth/update-user", { schema: { hide: true } }, (_request, reply) =>
    sendProblem(
      reply,
      new DomainError("not_found", "Change your name, image or time zone with PATCH /v1/me"),
    ),
  );
  app.route({
    method: ["GET", "POST"],
    url: "/api/auth/*",
    schema: { hide: true },
    handler: forward,
  });
}

/** The email sign-in a request makes, if it is one (validated by the route's schema). */
function signInAttemptOf(request: FastifyRequest): SignInAttempt | null {
  if (request.routeOptions.url !== "/api/auth/sign-in/email") return null;
  const { email } = request.body as { email: string };
  return { email, ip: request.ip };
}

/**
 * Two sign-ups with one email at once: both find no user, both insert, and
 * the loser's insert hits the unique index on the email. better-auth calls
 * that FAILED_TO_CREATE_USER, like any failed insert; when the email is
 * taken by now, the loser hears what a later sign-up with that email hears.
 */
async function lostSignUpRace(
  auth: Auth,
  request: FastifyRequest,
  response: Response,
): Promise<boolean> {
  if (request.routeOptions.url !== "/api/auth/sign-up/email" || response.status < 400) {
    return false;
  }
  const { code } = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { code?: string };
  if (code !== "FAILED_TO_CREATE_USER") return false;
  const { email } = request.body as { email: string };
  const context = await auth.$context;
  return (await context.internalAdapter.findUserByEmail(email.toLowerCase())) !== null;
}

/** A sign-up with an email that has an account, whether it came later or at the same time. */
function emailTaken(): DomainError {
  const message = "An account with this email already exists; sign in or use another email";
  return new DomainError("conflict", message, { errors: [{ path: "email", message }] });
}

/**
 * 401 is a wrong password or an unknown email (the same answer, counted the
 * same); 200 is the right password, with or without a second factor to come.
 * Anything else (a ban, a limit) says nothing about the password.
 */
async function recordSignIn(limits: SignInLimits, attempt: SignInAttempt, status: number) {
  if (status === 401) await limits.recordFailure(attempt);
  else if (status === 200) await limits.recordSuccess(attempt);
}

function callAuth(auth: Auth, baseUrl: string, request: FastifyRequest): Promise<Response> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  headers.set(clientIpHeader, request.ip);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  if (hasBody) headers.set("content-type", "application/json");
  const call = auth.handler(
    new Request(authUrl(request, baseUrl), {
      method: request.method,
      headers,
      body: hasBody ? JSON.stringify(request.body ?? {}) : undefined,
    }),
  );
  return call.catch((error: unknown) => {
    request.log.error({ component: "better-auth", failure: failureOf(error) }, "auth failed");
    return new Response(null, { status: 500 });
  });
}

/**
 * What a failed better-auth endpoint logs: the error's name, the first line
 * of its message (a failed query's SQL, not its parameter values, which
 * follow on the next line) and the database's code and constraint.
 */
function failureOf(error: unknown) {
  if (!(error instanceof Error)) return { name: typeof error };
  const cause = error.cause as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  return {
    name: error.name,
    message: error.message.split("\n", 1)[0],
    ...(cause && typeof cause === "object"
      ? { cause: { code: cause.code, constraint: cause.constraint, message: cause.message } }
      : {}),
  };
}

async function sendAuthResponse(reply: FastifyReply, response: Response, body: unknown) {
  const text = await response.text();
  if (response.status >= 400) return sendProblem(reply, authError(response, text, body));
  const cookies = response.headers.getSetCookie();
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie" && name !== "content-length") reply.header(name, value);
  });
  if (cookies.length > 0) reply.header("set-cookie", cookies);
  return reply.code(response.status).send(text === "" ? null : withCurrentToken(response, text));
}

/**
 * Confirming TOTP set-up replaces the session, but better-auth answers with
 * the old (deleted) token in the body; the new one is only in the cookie and
 * the bearer plugin's set-auth-token header (as the signed cookie value,
 * `<token>.<signature>`). A body token always names the session the response
 * established, in the plain form sign-in returns.
 */
function withCurrentToken(response: Response, text: string): string {
  const current = response.headers.get("set-auth-token")?.split(".")[0];
  if (!current || !text.startsWith("{")) return text;
  const body = JSON.parse(text) as unknown;
  if (typeof body !== "object" || body === null || !("token" in body)) return text;
  if (body.token === null || body.token === current) return text;
  return JSON.stringify({ ...body, token: current });
}

/**
 * The URL better-auth sees. A documented route with a query schema passes on
 * the validated query (defaults such as `limit` applied), not the raw one.
 */
function authUrl(request: FastifyRequest, baseUrl: string): URL {
  const url = new URL(request.url, baseUrl);
  if (request.routeOptions.schema?.querystring && request.query) {
    const query = Object.entries(request.query as Record<string, unknown>)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]): [string, string] => [name, String(value)]);
    url.search = new URLSearchParams(query).toString();
  }
  return url;
}

/**
 * better-auth's 400s that are about one input of the request, by its error
 * code: a validation_failed problem names the field, like every other one.
 */
function fieldOfAuthError(code: string | undefined, requestBody: unknown): string | undefined {
  const sent = (name: string) =>
    typeof requestBody === "object" && requestBody !== null && name in requestBody;
  switch (code) {
    case "INVALID_PASSWORD":
      return sent("currentPassword") ? "currentPassword" : "password";
    case "PASSWORD_TOO_SHORT":
    case "PASSWORD_TOO_LONG":
      return sent("newPassword") ? "newPassword" : "password";
    case "INVALID_EMAIL":
      return "email";
    case "INVALID_CODE":
    case "INVALID_BACKUP_CODE":
      return "code";
    default:
      return undefined;
  }
}

/** better-auth's 400s about the account's state, not the request: 409, as our own routes answer. */
const accountStateErrors = new Set([
  "TOTP_NOT_ENABLED",
  "BACKUP_CODES_NOT_ENABLED",
  "TWO_FACTOR_NOT_ENABLED",
]);

function authError(response: Response, text: string, requestBody: unknown): DomainError {
  let body: { code?: string; message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: keep the generic message below
  }
  const retryAfter = response.headers.get("x-retry-after") ?? response.headers.get("retry-after");
  const headers = retryAfter ? { "retry-after": retryAfter } : undefined;
  const message = body.message ?? response.statusText ?? "Authentication failed";
  if (body.code?.startsWith("USER_ALREADY_EXISTS")) return emailTaken();
  if (response.status >= 500) {
    return new DomainError("internal", "Authentication failed unexpectedly; quote the requestId");
  }
  if (response.status === 400 && body.code && accountStateErrors.has(body.code)) {
    return new DomainError("conflict", message);
  }
  const code = statusCodes[response.status] ?? "validation_failed";
  if (code !== "validation_failed")
    return new DomainError(code, message, headers ? { headers } : {});
  const path = fieldOfAuthError(body.code, requestBody) ?? "body";
  return new DomainError(code, `${path}: ${message}`, {
    errors: [{ path, message }],
    ...(headers ? { headers } : {}),
  });
}
