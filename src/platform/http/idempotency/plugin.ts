import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Sealer } from "../../crypto/sealed.ts";
import type { Executor } from "../../db/transaction.ts";
import type { Chore } from "../../housekeeping.ts";
import { conflict, DomainError, validationFailed } from "../errors.ts";
import { principalOf } from "../principal.ts";
import {
  claimKey,
  purgeIdempotencyKeys,
  releaseKey,
  type StoredResponse,
  saveResponse,
} from "./store.ts";

export const idempotencyRetentionMs = 24 * 60 * 60_000;

/** Printable ASCII, 1 to 255 characters (a UUID is the usual choice). */
const validKey = /^[\x20-\x7e]{1,255}$/;

/** Headers a replay must repeat; the rest (request id, rate limits, dates) are the retry's own. */
const replayedHeaders = ["content-type", "location", "etag"];

export type IdempotencyOptions = {
  db: Executor;
  now: () => Date;
  /** Seals the stored body of an answer marked `Cache-Control: no-store` (it shows a secret once). */
  sealer: Sealer;
  /**
   * After this long a claim whose request never finished (the process died)
   * is given to the next retry. Longer than any request may run.
   */
  abandonedAfterMs?: number;
};

/**
 * `Idempotency-Key` on every POST of the plugin it is registered in
 * (Stripe's semantics, ../shared/API.md): the first request's answer is
 * stored and replayed with `Idempotent-Replayed: true`; the same key with
 * another body is 422, while the first still runs 409. An answer of 5xx is
 * not kept, so the client may retry it. Runs after authentication, which
 * names the principal the key belongs to.
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const { db, now, sealer } = options;
  const abandonedAfterMs = options.abandonedAfterMs ?? 2 * 60_000;
  const claims = new WeakMap<FastifyRequest, string>();

  const preValidation = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== "POST") return;
    const key = request.headers["idempotency-key"];
    if (key === undefined) return;
    if (typeof key !== "string" || !validKey.test(key)) {
      throw validationFailed("Idempotency-Key", "must be 1 to 255 printable ASCII characters");
    }
    const principal = principalOf(request);
    if (!principal) return;
    const path = pathOf(request.url);
    const current = now();
    const claim = await claimKey(
      db,
      { principal, method: request.method, path, key },
      fingerprint(request),
      current,
      new Date(current.getTime() - abandonedAfterMs),
    );
    switch (claim.kind) {
      case "claimed":
        claims.set(request, claim.id);
        return;
      case "replay":
        return replay(reply, claim.response, sealer);
      case "reused":
        throw new DomainError(
          "idempotency_key_reused",
          "This Idempotency-Key was already used with a different request",
          { errors: [{ path: "Idempotency-Key", message: "was used with a different request" }] },
        );
      case "in_flight":
        throw new DomainError(
          "idempotency_key_in_use",
          "A request with this Idempotency-Key is still being processed; retry shortly",
          { headers: { "retry-after": "1" } },
        );
    }
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const id = claims.get(request);
    if (id === undefined) return payload;
    claims.delete(request);
    // The answer is stored before the client sees it, so a retry that
    // arrives right after it already replays. A failure to store must not
    // turn a done change into an error: the claim then ages out instead.
    try {
      const body = storableBody(payload);
      if (reply.statusCode >= 500 || body === undefined) {
        await releaseKey(db, id);
      } else {
        const secret =
          body !== null && /\bno-store\b/i.test(String(reply.getHeader("cache-control") ?? ""));
        await saveResponse(db, id, {
          status: reply.statusCode,
          headers: pick(reply),
          body: secret ? sealer.seal(body) : body,
          sealed: secret,
        });
      }
    } catch (error) {
      request.log.error({ err: error }, "could not record the idempotent answer");
    }
    return payload;
  };

  // On the POST routes only: the other methods do not take the header, and
  // two async hooks on every GET cost a promise and a microtask each.
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes("POST")) return;
    route.preValidation = [...hookList(route.preValidation), preValidation];
    route.onSend = [...hookList(route.onSend), onSend];
  });
}

function hookList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

function replay(reply: FastifyReply, response: StoredResponse, sealer: Sealer): FastifyReply {
  let body = response.body;
  if (response.sealed && body !== null) {
    try {
      body = sealer.open(body);
    } catch {
      // Sealed under an AUTH_SECRET since rotated: the secret in it is gone for good.
      throw conflict(
        "The first answer to this Idempotency-Key can no longer be shown; send the request with a new key",
        "Idempotency-Key",
      );
    }
  }
  reply.code(response.status).headers(response.headers).header("idempotent-replayed", "true");
  // A replayed secret is as private as the first answer.
  if (response.sealed) reply.header("cache-control", "no-store");
  return reply.send(body ?? undefined);
}

function pick(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of replayedHeaders) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  return headers;
}

/** Null for an empty answer, undefined for one that cannot be kept (a stream). */
function storableBody(payload: unknown): string | null | undefined {
  if (payload === null || payload === undefined || payload === "") return null;
  if (typeof payload === "string") return payload;
  if (Buffer.isBuffer(payload)) return payload.toString("utf8");
  return undefined;
}

function pathOf(url: string): string {
  const path = url.split("?", 1)[0] ?? "/";
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** sha256 of method, URL and the body with object keys sorted (key order is not a difference). */
function fingerprint(request: FastifyRequest): string {
  return createHash("sha256")
    .update(`${request.method}\n${request.url}\n${canonicalJson(request.body)}`)
    .digest("base64url");
}

function canonicalJson(value: unknown): string {
  if (value === undefined) return "";
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    return Object.fromEntries(
      Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });
}

/** Purges expired keys once at start and then every hour (platform/housekeeping.ts). */
export function idempotencyChore(options: { db: Executor; now: () => Date }): Chore {
  return {
    name: "idempotency keys",
    everyMs: 60 * 60_000,
    run: () =>
      purgeIdempotencyKeys(options.db, new Date(options.now().getTime() - idempotencyRetentionMs)),
  };
}
