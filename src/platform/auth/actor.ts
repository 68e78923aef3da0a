import { eq } from "drizzle-orm";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Executor } from "../db/transaction.ts";
import { DomainError } from "../http/errors.ts";
import type { Auth } from "./auth.ts";
import { type JwtVerifier, looksLikeJwt } from "./jwt.ts";
import { user } from "./schema.ts";
import type { Scope } from "./scopes.ts";
import { credentialOf, type SessionCache } from "./session-cache.ts";
import type { CachedUser, UserCache } from "./user-cache.ts";

/** The person on whose behalf an actor acts. */
export type ActingUser = {
  userId: string;
  name: string;
  email: string;
  timezone: string;
};

/** A signed-in user: a session (cookie or bearer token) or a JWT from /api/auth/token. */
export type UserActor = ActingUser & { type: "user"; via: "session" | "jwt" };

/**
 * An API key acting for its owner, limited to its scopes and, when bound,
 * to one workspace (see `workspaceRestriction`).
 */
export type ApiKeyActor = ActingUser & {
  type: "apiKey";
  keyId: string;
  scopes: Scope[];
  workspaceId: string | null;
};

export type SystemActor = { type: "system"; name: string };

/**
 * The assistant acting for a user, with exactly the rights of the request
 * it serves (`onBehalfOf`: a session, JWT or API key, so a key's scopes and
 * workspace binding still hold). The activity trail records it as an agent
 * acting for that user.
 */
export type AgentActor = ActingUser & {
  type: "agent";
  agent: string;
  onBehalfOf: UserActor | ApiKeyActor;
};

/** Who is acting; verbs switch on `type` and must handle every member. */
export type Actor = UserActor | ApiKeyActor | AgentActor | SystemActor;

/** The user on whose behalf an actor acts, or a Forbidden error for system work. */
export function actingUser(actor: Actor): ActingUser {
  if (actor.type === "user" || actor.type === "apiKey" || actor.type === "agent") return actor;
  throw new DomainError("forbidden", "This action needs a user");
}

/** The same user's rights, exercised by an agent (the assistant) on their behalf. */
export function agentFor(actor: Actor, agent: string): AgentActor {
  if (actor.type === "agent") return { ...actor, agent };
  if (actor.type === "system") throw new DomainError("forbidden", "An agent acts for a user");
  const { userId, name, email, timezone } = actor;
  return { type: "agent", agent, userId, name, email, timezone, onBehalfOf: actor };
}

/**
 * The one workspace an actor is confined to (a workspace-bound API key), or
 * null when it sees every workspace its user belongs to. Every membership
 * lookup applies it, so a bound key cannot see past its workspace.
 */
export function workspaceRestriction(actor: Actor): string | null {
  if (actor.type === "agent") return workspaceRestriction(actor.onBehalfOf);
  return actor.type === "apiKey" ? actor.workspaceId : null;
}

/** What a valid API key grants; the api-keys module looks keys up. */
export type ApiKeyGrant = {
  keyId: string;
  userId: string;
  scopes: Scope[];
  workspaceId: string | null;
};

/** Finds the key a request presented: null when it is unknown, expired or revoked. */
export type ApiKeyLookup = (presented: string, now: Date) => Promise<ApiKeyGrant | null>;

export type ActorDeps = {
  auth: Auth;
  db: Executor;
  sessions: SessionCache;
  jwts: JwtVerifier;
  apiKeys: ApiKeyLookup;
  now: () => Date;
  /** The user rows behind actors (see UserCache). */
  users: UserCache;
  /** The session cookie's name as better-auth reads it (see `credentialOf`). */
  sessionCookie: string;
};

/**
 * The one place a request becomes an actor. Credentials are tried in a fixed
 * order: `x-api-key`, then `Authorization: Bearer` (a JWT by its shape, else
 * a session token), then the session cookie. The first credential present
 * decides: if it is invalid the answer is null (401), never a fall-back to a
 * later one, so a stale key cannot quietly run as the browser's session.
 */
export async function resolveActor(
  deps: ActorDeps,
  request: FastifyRequest,
): Promise<Actor | null> {
  const { headers } = request;
  const apiKey = headers["x-api-key"];
  if (apiKey !== undefined) {
    return typeof apiKey === "string" ? actorForApiKey(deps, apiKey) : null;
  }
  if (headers.authorization !== undefined) {
    const token = bearerToken(headers.authorization);
    if (token === null) return null;
    if (looksLikeJwt(token)) return actorForJwt(deps, token);
    return actorForSession(deps, request, `Bearer ${token}`);
  }
  const cookie = credentialOf({ cookie: headers.cookie }, deps.sessionCookie);
  return cookie === null ? null : actorForSession(deps, request, cookie);
}

/** True when a request carries any credential, valid or not. */
export function hasCredentials(request: FastifyRequest, sessionCookie: string): boolean {
  const { headers } = request;
  return (
    headers["x-api-key"] !== undefined ||
    headers.authorization !== undefined ||
    credentialOf({ cookie: headers.cookie }, sessionCookie) !== null
  );
}

function bearerToken(authorization: string): string | null {
  const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

const userId = z.uuid();

/**
 * Reads the user an actor acts for. Every credential kind passes through
 * here, so account-wide blocks belong here: a banned user's row stops them all.
 */
async function findActingUser(deps: ActorDeps, id: string, now: Date): Promise<ActingUser | null> {
  if (!userId.safeParse(id).success) return null;
  const row = deps.users.get(id) ?? (await readUser(deps, id));
  if (!row) return null;
  const { banned, banExpires, ...acting } = row;
  // A ban stops every credential at once: sessions (even cached ones), JWTs
  // that have not expired yet, and API keys. A ban with an end date lapses then.
  if (banned && (banExpires === null || banExpires > now)) return null;
  return acting;
}

async function readUser(deps: ActorDeps, id: string): Promise<CachedUser | null> {
  const since = deps.users.generation;
  const [row] = await deps.db
    .select({
      userId: user.id,
      name: user.name,
      email: user.email,
      timezone: user.timezone,
      banned: user.banned,
      banExpires: user.banExpires,
    })
    .from(user)
    .where(eq(user.id, id));
  if (row) deps.users.remember(row, since);
  return row ?? null;
}

async function actorForApiKey(deps: ActorDeps, presented: string): Promise<Actor | null> {
  const grant = await deps.apiKeys(presented, deps.now());
  if (!grant) return null;
  const owner = await findActingUser(deps, grant.userId, deps.now());
  if (!owner) return null;
  return {
    type: "apiKey",
    ...owner,
    keyId: grant.keyId,
    scopes: grant.scopes,
    workspaceId: grant.workspaceId,
  };
}

async function actorForJwt(deps: ActorDeps, token: string): Promise<Actor | null> {
  const claims = await deps.jwts.verify(token);
  if (!claims) return null;
  const owner = await findActingUser(deps, claims.sub, deps.now());
  return owner ? { type: "user", via: "jwt", ...owner } : null;
}

/**
 * A session token (bearer) or session cookie, checked by better-auth or
 * recognised from the session cache. better-auth sees only this credential:
 * a bearer request's cookies are dropped, because its bearer plugin falls
 * back to the cookie when the token is bad.
 */
async function actorForSession(
  deps: ActorDeps,
  request: FastifyRequest,
  credential: string,
): Promise<Actor | null> {
  const now = Date.now();
  let sessionUserId = deps.sessions.get(credential, now);
  if (!sessionUserId) {
    const since = deps.sessions.generation;
    const headers = toHeaders(request);
    // better-auth checks exactly the credential the cache will key: the
    // bearer token alone, or the one session cookie credentialOf read.
    if (credential.startsWith("Bearer ")) headers.delete("cookie");
    else headers.set("cookie", `${deps.sessionCookie}=${credential.slice("cookie:".length)}`);
    const found = await deps.auth.api.getSession({ headers });
    if (!found) return null;
    deps.sessions.remember(
      credential,
      found.user.id,
      found.session.expiresAt.getTime(),
      now,
      since,
    );
    sessionUserId = found.user.id;
  }
  const owner = await findActingUser(deps, sessionUserId, deps.now());
  return owner ? { type: "user", via: "session", ...owner } : null;
}

function toHeaders(request: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}
