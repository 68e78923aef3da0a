import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { ifNoneMatchMatches } from "./etag.ts";

/**
 * HTTP caching defaults for the plugin it is registered in: every answer
 * says `Cache-Control: private, no-cache` unless its route chose otherwise
 * (clients may keep a copy but must revalidate it), and a 200 to a GET that
 * has no ETag of its own (lists, the profile) gets a weak one over its body,
 * so `If-None-Match` can answer 304 without sending the body again. Routes
 * with a version-based ETag (single resources) keep theirs.
 */
export function registerCachingDefaults(app: FastifyInstance): void {
  app.addHook("onSend", async (request, reply, payload) => {
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "private, no-cache");
    if (request.method !== "GET" || reply.statusCode !== 200 || reply.hasHeader("etag")) {
      return payload;
    }
    if (typeof payload !== "string") return payload;
    const etag = `W/"${createHash("sha256").update(payload).digest("base64url").slice(0, 27)}"`;
    reply.header("etag", etag);
    if (!ifNoneMatchMatches(request.headers["if-none-match"], etag)) return payload;
    reply.code(304);
    return null;
  });
}
