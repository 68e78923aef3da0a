import { eq } from "drizzle-orm";
import type { FastifyRequest } from "fastify";
import type { Executor } from "../db/transaction.ts";
import { DomainError } from "../http/errors.ts";
import type { Auth } from "./auth.ts";
import { user } from "./schema.ts";
import { credentialOf, type SessionCache } from "./session-cache.ts";

export type UserActor = {
  type: "user";
  userId: string;
  name: string;
  email: string;
  timezone: string;
};

export type SystemActor = { type: "system"; name: string };

/**
 * Who is acting. API keys and agents join this union with the identity and
 * assistant work; verbs switch on `type` and must handle every member.
 */
export type Actor = UserActor | SystemActor;

/** The user on whose behalf an actor acts, or a Forbidden error for system work. */
export function actingUser(actor: Actor): UserActor {
  if (actor.type === "user") return actor;
  throw new DomainError("forbidden", "This action needs a user");
}

function toHeaders(request: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/**
 * The one place a request becomes an actor: a session cookie or a bearer
 * session token, checked by better-auth (or recognised from the session
 * cache). Returns null when no valid credentials came with the request.
 */
export async function resolveActor(
  deps: { auth: Auth; db: Executor; sessions: SessionCache },
  request: FastifyRequest,
): Promise<Actor | null> {
  const credential = credentialOf(request.headers);
  if (credential === null) return null;
  const now = Date.now();
  const cachedUserId = deps.sessions.get(credential, now);
  if (cachedUserId) {
    const [row] = await deps.db
      .select({ id: user.id, name: user.name, email: user.email, timezone: user.timezone })
      .from(user)
      .where(eq(user.id, cachedUserId));
    if (row)
      return {
        type: "user",
        userId: row.id,
        name: row.name,
        email: row.email,
        timezone: row.timezone,
      };
  }
  const found = await deps.auth.api.getSession({ headers: toHeaders(request) });
  if (!found) return null;
  deps.sessions.remember(credential, found.user.id, found.session.expiresAt.getTime(), now);
  return {
    type: "user",
    userId: found.user.id,
    name: found.user.name,
    email: found.user.email,
    timezone: (found.user as { timezone?: string }).timezone ?? "UTC",
  };
}
