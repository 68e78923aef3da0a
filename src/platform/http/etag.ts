import { hash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { preconditionFailed } from "./errors.ts";
import type { ExpectedVersion } from "./lost-update.ts";
import { problemResponse } from "./route-helpers.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route's resource has a version, and it reads `If-Match` (`versionFromIfMatch`). */
    ifMatch?: boolean;
  }
}

/** A strong ETag from the parts that change whenever the representation does. */
export function formatEtag(...parts: Array<string | number>): string {
  return `"${parts.join(".")}"`;
}

/** A weak ETag over some text: a sha256 prefix, for representations without a version of their own. */
export function weakEtag(text: string): string {
  return `W/"${hash("sha256", text, "base64url").slice(0, 27)}"`;
}

/** If-None-Match compares weakly (a W/ prefix is ignored), If-Match strongly. */
function listedTags(header: string, comparison: "weak" | "strong"): string[] {
  const tags = header.split(",").map((tag) => tag.trim());
  return comparison === "weak" ? tags.map((tag) => tag.replace(/^W\//, "")) : tags;
}

/**
 * Sends the ETag and answers 304 when the client's copy is current.
 * Returns true when the 304 was sent and the handler must stop.
 */
export function replyNotModified(
  request: FastifyRequest,
  reply: FastifyReply,
  etag: string,
): boolean {
  reply.header("etag", etag);
  if (ifNoneMatchMatches(request.headers["if-none-match"], etag)) {
    reply.code(304).send();
    return true;
  }
  return false;
}

/** True when an If-None-Match header lists `etag` (weak comparison) or `*`. */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const tags = listedTags(header, "weak");
  return tags.includes("*") || tags.includes(etag.replace(/^W\//, ""));
}

/**
 * The versions an `If-Match` header pins, undefined when there is none. Our
 * ETags start with the version number, so it is read from the first part of
 * each listed tag; the condition holds when any of them is the current one
 * (RFC 9110, 13.1.1). A weak tag never matches, as comparison is strong.
 */
export function versionFromIfMatch(request: FastifyRequest): ExpectedVersion {
  const header = request.headers["if-match"];
  if (header === undefined) return undefined;
  const tags = listedTags(header, "strong");
  if (tags.includes("*")) return "any";
  // Tags we never issued match no version: with only those, the list is
  // empty and the verb answers 412 once it has found the resource and
  // checked the caller (see checkVersion).
  return tags
    .map((tag) => /^"(\d+)(?:\.[^"]*)?"$/.exec(tag)?.[1])
    .filter((value) => value !== undefined)
    .map(Number);
}

/** A /v1 PATCH or DELETE whose resource has no version: see `refuseUnmatchableIfMatch`. */
function withoutEntityTag(route: RouteOptions): boolean {
  const methods = [route.method].flat();
  const changes = methods.some((method) => method === "PATCH" || method === "DELETE");
  return changes && route.url.startsWith("/v1/") && !route.config?.ifMatch;
}

/** 412 for `If-Match` with a tag (not `*`) on a route whose resource has none. */
async function noTagToMatch(request: FastifyRequest): Promise<void> {
  const header = request.headers["if-match"];
  if (header === undefined || listedTags(header, "strong").includes("*")) return;
  throw preconditionFailed(
    `${request.method} ${request.routeOptions.url} has no entity tag to match: send no If-Match, or If-Match: *`,
  );
}

/**
 * `PATCH` and `DELETE` honour `If-Match` (API.md). Resources with a version
 * read it themselves (`config.ifMatch`); the others (members, invitations,
 * keys, conversations, the profile) send no ETag, so a listed tag cannot
 * match (RFC 9110, 13.1.1): 412 before the handler runs, rather than
 * ignoring a condition the client set. `If-Match: *` (the resource exists)
 * passes. The check and its documented 412 go on those routes only. It
 * answers before the handler, so also where the handler would answer 404
 * or 403, which RFC 9110 (13.2.1) would have win; the answer is the same
 * whatever exists, so it tells nothing. Versioned resources check after
 * their lookup (`checkVersion`).
 */
export function refuseUnmatchableIfMatch(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    if (!withoutEntityTag(route)) return;
    route.preHandler = [...[route.preHandler ?? []].flat(), noTagToMatch];
    if (!route.schema) return;
    const schema = route.schema as { response?: Record<string, unknown> };
    schema.response = { ...schema.response, 412: schema.response?.[412] ?? problemResponse };
  });
}
