import type { FastifyInstance } from "fastify";
import type { Executor } from "../db/transaction.ts";
import { DomainError } from "../http/errors.ts";
import { resolveActor } from "./actor.ts";
import type { Auth } from "./auth.ts";

/**
 * Requires credentials on every route of the plugin it is called in, and
 * builds the verb context once per request.
 */
export function requireActor(
  app: FastifyInstance,
  deps: { auth: Auth; db: Executor; now: () => Date },
): void {
  app.addHook("onRequest", async (request) => {
    const actor = await resolveActor(deps.auth, request);
    if (!actor) {
      throw new DomainError("unauthenticated", "Sign in or send a bearer token", {
        headers: { "www-authenticate": 'Bearer realm="taskpilot"' },
      });
    }
    request.ctx = {
      actor,
      db: deps.db,
      requestId: String(request.id),
      now: deps.now,
      log: request.log.child({ userId: actor.type === "user" ? actor.userId : actor.type }),
    };
  });
}
