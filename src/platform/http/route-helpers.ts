import type { FastifyRequest } from "fastify";
import type { Context } from "../context.ts";
import { DomainError, type ErrorCode, errorCodes } from "./errors.ts";
import { problemSchema } from "./problem.ts";

declare module "fastify" {
  interface FastifyRequest {
    ctx: Context | null;
  }
}

/** The verb context of an authenticated request (set by the authentication hook). */
export function ctxOf(request: FastifyRequest): Context {
  if (!request.ctx) throw new DomainError("unauthenticated", "Sign in or send credentials");
  return request.ctx;
}

/** A problem answer as documented: the media type we really send, not application/json. */
export const problemResponse = {
  description: "Problem details (RFC 9457)",
  content: { "application/problem+json": { schema: problemSchema } },
};

/**
 * How a change meets simultaneous ones (lost-update.ts), for the descriptions
 * of the routes that change a versioned resource.
 */
export const concurrentChanges =
  "Honours If-Match (412 when stale). Without it, a change that meets a simultaneous one is made on the newer version; 409 only if it keeps losing that race (retry).";

/**
 * Documented problem responses: every route lists the errors it can answer,
 * besides those any route can (400, 401, 429, 500, and 503 from load
 * shedding or a database pool or statement timeout).
 */
export function problemResponses(...codes: ErrorCode[]) {
  const statuses = new Set([
    400,
    401,
    429,
    500,
    503,
    ...codes.map((code) => errorCodes[code].status),
  ]);
  return Object.fromEntries([...statuses].sort().map((status) => [status, problemResponse]));
}

export const security: Array<Record<string, string[]>> = [
  { bearerAuth: [] },
  { sessionCookie: [] },
];
