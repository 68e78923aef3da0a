import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Executor } from "../db/transaction.ts";
import { DomainError } from "../http/errors.ts";
import { resolveActor } from "./actor.ts";
import type { Auth } from "./auth.ts";
import type { SessionCache } from "./session-cache.ts";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A browser sends the session cookie with requests other sites start, so an
 * unsafe request authenticated only by the cookie must come from one of our
 * own origins (browsers always send Origin on such requests). Bearer tokens
 * and API keys are never sent implicitly and need no check.
 */
function assertTrustedOrigin(request: FastifyRequest, trustedOrigins: string[]): void {
  if (safeMethods.has(request.method) || request.headers.authorization) return;
  if (!request.headers.cookie) return;
  const origin = request.headers.origin;
  if (origin === undefined || trustedOrigins.includes(origin)) return;
  throw new DomainError("forbidden", `Requests from ${origin} may not use the session cookie`);
}

/**
 * Requires credentials on every route of the plugin it is called in, and
 * builds the verb context once per request.
 */
export function requireActor(
  app: FastifyInstance,
  deps: {
    auth: Auth;
    db: Executor;
    sessions: SessionCache;
    now: () => Date;
    trustedOrigins: string[];
  },
): void {
  app.addHook("onRequest", async (request) => {
    const actor = await resolveActor(deps, request);
    if (!actor) {
      throw new DomainError("unauthenticated", "Sign in or send a bearer token", {
        headers: { "www-authenticate": 'Bearer realm="taskpilot"' },
      });
    }
    assertTrustedOrigin(request, deps.trustedOrigins);
    request.ctx = {
      actor,
      db: deps.db,
      requestId: String(request.id),
      now: deps.now,
      log: request.log.child({ userId: actor.type === "user" ? actor.userId : actor.type }),
    };
  });
}
