import { DomainError } from "../http/errors.ts";
import type { Actor } from "./actor.ts";

/**
 * API-key scopes (../shared/API.md). Every `/v1` route declares the scope it
 * needs in its route config, so the security suite and the scope check read
 * one table: the routes themselves.
 */
export const scopes = [
  "tasks:read",
  "tasks:write",
  "ai:use",
  "workspaces:admin",
  "webhooks:manage",
] as const;

export type Scope = (typeof scopes)[number];

/**
 * What a route needs from an API key: one scope, or `"session"` for routes a
 * key may never call (managing keys themselves, sessions, passwords).
 */
export type RouteScope = Scope | "session";

declare module "fastify" {
  interface FastifyContextConfig {
    scope?: RouteScope;
    /** Further scopes a key needs, where the verb reaches past `scope` (an AI summary reads the task). */
    extraScopes?: Scope[];
  }
}

/**
 * The scopes an actor holds. A user's own session holds every scope (their
 * workspace role still limits what the verbs allow); an API key holds the
 * scopes it was minted with, and the assistant those of the request it serves.
 */
function grantedScopes(actor: Actor): readonly Scope[] {
  switch (actor.type) {
    case "user":
    case "system":
      return scopes;
    case "apiKey":
      return actor.scopes;
    case "agent":
      return grantedScopes(actor.onBehalfOf);
    default:
      return unreachable(actor);
  }
}

function unreachable(value: never): never {
  throw new Error(`unhandled actor ${JSON.stringify(value)}`);
}

/**
 * A scope a verb checks itself: one that depends on the input (a breakdown
 * with `apply: true` writes tasks), or a tool's, since chat and MCP run
 * every tool behind one route. 403 naming what needs it and the scope.
 */
export function assertGranted(actor: Actor, scope: Scope, what: string): void {
  if (!grantedScopes(actor).includes(scope)) {
    throw new DomainError("forbidden", `${what} needs the ${scope} scope`);
  }
}
