import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { DomainError, type ErrorCode } from "../http/errors.ts";
import { sendProblem } from "../http/problem.ts";
import { problemResponses } from "../http/route-helpers.ts";
import { type Auth, clientIpHeader } from "./auth.ts";
import { registerOAuthRoutes } from "./oidc-routes.ts";
import type { SessionCache } from "./session-cache.ts";

const tags = ["Authentication"];
const email = z.email({ error: "must be an email address" }).max(254);
const password = z
  .string()
  .min(8, "must be at least 8 characters")
  .max(128, "must be at most 128 characters");

const authUserSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    email: z.string(),
    emailVerified: z.boolean(),
    image: z.string().nullable().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "AuthUser" });

const tokenResponse = z
  .object({ token: z.string().nullable(), user: authUserSchema })
  .meta({ id: "SignedIn" });

/** Our documented, validated front for the better-auth endpoints clients use most. */
const documented = [
  {
    method: "POST" as const,
    url: "/api/auth/sign-up/email",
    summary: "Sign up with email and password",
    body: z.strictObject({
      name: z.string().trim().min(1, "must not be empty").max(100),
      email,
      password,
      image: z
        .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
        .max(2000)
        .optional(),
      callbackURL: z.string().optional(),
      rememberMe: z.boolean().optional(),
    }),
    response: tokenResponse,
  },
  {
    method: "POST" as const,
    url: "/api/auth/sign-in/email",
    summary: "Sign in with email and password",
    body: z.strictObject({
      email,
      password: z.string().min(1, "must not be empty").max(128),
      callbackURL: z.string().optional(),
      rememberMe: z.boolean().optional(),
    }),
    response: tokenResponse,
  },
  {
    method: "POST" as const,
    url: "/api/auth/sign-out",
    summary: "Sign out (ends the session)",
    body: undefined,
    response: z.object({ success: z.boolean() }),
  },
  {
    method: "GET" as const,
    url: "/api/auth/get-session",
    summary: "The current session and user, or null",
    body: undefined,
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
  deps: { auth: Auth; baseUrl: string; sessions: SessionCache },
): void {
  const { auth, baseUrl, sessions } = deps;
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const answered = await forwardToAuth(auth, baseUrl, request, reply);
    // Sign-out, revocations and password changes end sessions: forget them
    // all here rather than track which; the cache refills in one request each.
    if (request.method === "POST" && !/\/sign-(in|up)\//.test(request.url)) sessions.clear();
    return answered;
  };
  const typed = app.withTypeProvider<ZodTypeProvider>();
  for (const route of documented) {
    typed.route({
      method: route.method,
      url: route.url,
      schema: {
        tags,
        summary: route.summary,
        ...(route.body ? { body: route.body } : {}),
        response: { 200: route.response, ...problemResponses("conflict", "forbidden") },
      },
      handler: forward,
    });
  }
  registerOAuthRoutes(app, forward);
  app.route({
    method: ["GET", "POST"],
    url: "/api/auth/*",
    schema: { hide: true },
    handler: forward,
  });
}

async function forwardToAuth(
  auth: Auth,
  baseUrl: string,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  headers.set(clientIpHeader, request.ip);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  if (hasBody) headers.set("content-type", "application/json");
  const response = await auth.handler(
    new Request(new URL(request.url, baseUrl), {
      method: request.method,
      headers,
      body: hasBody ? JSON.stringify(request.body ?? {}) : undefined,
    }),
  );
  const text = await response.text();
  if (response.status >= 400) return sendProblem(reply, authError(response, text));
  const cookies = response.headers.getSetCookie();
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie" && name !== "content-length") reply.header(name, value);
  });
  if (cookies.length > 0) reply.header("set-cookie", cookies);
  return reply.code(response.status).send(text === "" ? null : text);
}

function authError(response: Response, text: string): DomainError {
  let body: { code?: string; message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: keep the generic message below
  }
  const retryAfter = response.headers.get("x-retry-after") ?? response.headers.get("retry-after");
  const headers = retryAfter ? { "retry-after": retryAfter } : undefined;
  const message = body.message ?? response.statusText ?? "Authentication failed";
  if (body.code?.startsWith("USER_ALREADY_EXISTS")) {
    return new DomainError("conflict", message, { errors: [{ path: "email", message }] });
  }
  if (response.status >= 500) {
    return new DomainError("internal", "Authentication failed unexpectedly; quote the requestId");
  }
  const code = statusCodes[response.status] ?? "validation_failed";
  return new DomainError(code, message, headers ? { headers } : {});
}
