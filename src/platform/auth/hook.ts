import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import type { Logger } from "pino";
import { type AppServices, actorLogFields } from "../context.ts";
import { DomainError } from "../http/errors.ts";
import { problemResponse } from "../http/route-helpers.ts";
import { type Actor, type ActorDeps, hasCredentials, resolveActor } from "./actor.ts";
import type { RouteScope, Scope } from "./scopes.ts";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A browser sends the session cookie with requests other sites start, so an
 * unsafe request authenticated only by the cookie must come from one of our
 * own origins (browsers always send Origin on such requests). Bearer tokens
 * and API keys are never sent implicitly and need no check.
 */
function assertTrustedOrigin(request: FastifyRequest, trustedOrigins: string[]): void {
  if (safeMethods.has(request.method) || request.headers.authorization) return;
  if (request.headers["x-api-key"] !== undefined || !request.headers.cookie) return;
  // Required, not only checked when present: browsers send Origin on every
  // unsafe request, and better-auth's own routes refuse one without it too.
  const origin = request.headers.origin;
  if (origin !== undefined && trustedOrigins.includes(origin)) return;
  throw new DomainError(
    "forbidden",
    origin === undefined
      ? "A request that changes data with the session cookie must send Origin"
      : `Requests from ${origin} may not use the session cookie`,
  );
}

/**
 * Sessions and JWTs act with all of their user's rights; an API key only
 * with the scopes it was given, and never on "session" routes (managing
 * keys, sessions, the profile).
 */
function assertScope(actor: Actor, scope: RouteScope): void {
  if (actor.type !== "apiKey") return;
  if (scope === "session") {
    throw new DomainError("forbidden", "API keys cannot call this route; sign in instead");
  }
  if (!actor.scopes.includes(scope)) {
    throw new DomainError("forbidden", `This API key lacks the "${scope}" scope`);
  }
}

/**
 * How a route can be called, for the OpenAPI document: API keys only with
 * the route's scope and its extra scopes.
 */
function securityFor(scope: RouteScope, extra: Scope[]): Array<Record<string, string[]>> {
  const signedIn: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { sessionCookie: [] }];
  return scope === "session" ? signedIn : [...signedIn, { apiKey: [scope, ...extra] }];
}

/**
 * Every /v1 route must say which scope it needs: one without is a start-up
 * error, so no route can escape the scope matrix. The documented security
 * and 403 (a key without the scope) of every route with a scope, /v1 or not
 * (the hackathon surface), follow from that scope.
 * Call on the root instance, so routes registered anywhere are checked.
 */
export function requireRouteScopes(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    const scope = route.config?.scope;
    if (!scope) {
      if (route.url !== "/v1" && !route.url.startsWith("/v1/")) return;
      throw new Error(`${String(route.method)} ${route.url} declares no config.scope`);
    }
    if (!route.schema) return;
    const schema = route.schema as { security?: unknown; response?: Record<string, unknown> };
    schema.security = securityFor(scope, route.config?.extraScopes ?? []);
    schema.response = { ...schema.response, 403: schema.response?.[403] ?? problemResponse };
  });
}

/**
 * Requires credentials and the route's scope (see `requireRouteScopes`) on
 * every route of the plugin it is called in, and builds the verb context once
 * per request.
 */
export function requireActor(
  app: FastifyInstance,
  deps: ActorDeps & { trustedOrigins: string[]; services: AppServices },
): void {
  app.addHook("onRequest", async (request) => {
    const actor = await resolveActor(deps, request);
    if (!actor) {
      // RFC 6750: a credential that was sent but rejected is an invalid_token.
      const challenge = hasCredentials(request, deps.sessionCookie)
        ? 'Bearer realm="taskpilot", error="invalid_token"'
        : 'Bearer realm="taskpilot"';
      throw new DomainError("unauthenticated", "Sign in, or send a valid token or API key", {
        headers: { "www-authenticate": challenge },
      });
    }
    assertTrustedOrigin(request, deps.trustedOrigins);
    // requireRouteScope guarantees a scope; "session" would fail closed anyway.
    const { scope = "session", extraScopes = [] } = request.routeOptions.config;
    assertScope(actor, scope);
    for (const extra of extraScopes) assertScope(actor, extra);
    // The request's own logger learns who asks. A child of it would make it a
    // prototype, and V8 then builds that object new hidden classes in old
    // space: about 0.8 KB per request that only a major GC frees (measured
    // with bench/heap-probe.ts; those major GCs were the 8-14 ms pauses behind
    // the paced runs' worst seconds).
    (request.log as Logger).setBindings(actorLogFields(actor));
    request.ctx = {
      actor,
      db: deps.db,
      requestId: String(request.id),
      now: deps.now,
      services: deps.services,
      log: request.log,
    };
  });
}
