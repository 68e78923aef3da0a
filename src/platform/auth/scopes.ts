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
  }
}
