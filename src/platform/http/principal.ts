import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";

const sessionCookie = /(?:^|;\s*)(?:__Secure-)?better-auth\.session_token=([^;]+)/;

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

/**
 * A stable, non-secret name for the credential a request carries (an API
 * key, a bearer token or the session cookie), or null when it carries none.
 * Hashing keeps raw credentials out of Redis keys and database rows.
 */
export function credentialFingerprint(request: FastifyRequest): string | null {
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "") return sha256(`key ${apiKey}`);
  const authorization = request.headers.authorization;
  if (authorization) return sha256(`authorization ${authorization}`);
  const cookie = request.headers.cookie;
  const session = cookie ? sessionCookie.exec(cookie)?.[1] : undefined;
  return session ? sha256(`cookie ${session}`) : null;
}

/**
 * Who a request acts as, once authentication has set `request.ctx`: a user
 * is named by its id (all its sessions and tokens share one budget and one
 * idempotency scope), an API key by its id, any other actor by its credential.
 * Null before authentication or when it failed.
 */
export function principalOf(request: FastifyRequest): string | null {
  const actor = request.ctx?.actor;
  if (!actor) return null;
  if (actor.type === "user") return `user:${actor.userId}`;
  if (actor.type === "apiKey") return `apiKey:${actor.keyId}`;
  const credential = credentialFingerprint(request);
  return credential ? `${actor.type}:${credential}` : null;
}
