import type { FastifyInstance } from "fastify";
import { ifNoneMatchMatches, weakEtag } from "./etag.ts";

/**
 * HTTP caching defaults for the plugin it is registered in: every answer
 * says `Cache-Control: private, no-cache` unless its route chose otherwise
 * (clients may keep a copy but must revalidate it), and a 200 to a GET that
 * has no ETag of its own (lists, the profile) gets a weak one over its body,
 * so `If-None-Match` can answer 304 without sending the body again. Routes
 * with a version-based ETag (single resources) keep theirs.
 */
export function registerCachingDefaults(app: FastifyInstance): void {
  // Synchronous (`done`): an async hook costs a promise and a microtask per request.
  app.addHook("onSend", (request, reply, payload, done) => {
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "private, no-cache");
    if (
      request.method !== "GET" ||
      reply.statusCode !== 200 ||
      reply.hasHeader("etag") ||
      typeof payload !== "string"
    ) {
      done(null, payload);
      return;
    }
    const etag = weakEtag(payload);
    reply.header("etag", etag);
    if (!ifNoneMatchMatches(request.headers["if-none-match"], etag)) {
      done(null, payload);
      return;
    }
    reply.code(304);
    done(null, null);
  });
}
