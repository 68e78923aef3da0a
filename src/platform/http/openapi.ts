import type { SwaggerTransform } from "@fastify/swagger";
import type { FastifySchema } from "fastify";

type Transformed = { schema: FastifySchema & Record<string, unknown>; url: string };

const idempotencyKeyHeader = {
  type: "object",
  properties: {
    "idempotency-key": {
      type: "string",
      minLength: 1,
      maxLength: 255,
      description:
        "Makes a retry safe: the same key with the same body within 24 h replays the first answer (`Idempotent-Replayed: true`); with another body 422, while the first still runs 409.",
    },
  },
};

/**
 * A route behind our authentication: app.ts registers the idempotency
 * plugin and the caching defaults beside `requireActor`, around /v1, the
 * compat surface under /api/{user_id}, /mcp and /graphql (not better-auth's own
 * routes under /api/auth, nor the operational ones).
 */
function behindActor(url: string): boolean {
  if (url.startsWith("/api/auth/")) return false;
  return url.startsWith("/v1/") || url.startsWith("/api/") || url === "/mcp" || url === "/graphql";
}

/**
 * Adds what the platform does for every route to the generated document:
 * `deprecated` from the route's deprecation config; behind our
 * authentication, on every POST the optional `Idempotency-Key` header with
 * its two problem answers, and on every GET answering JSON the 304 the
 * caching defaults give a matching `If-None-Match`.
 */
export function withPlatformDocs(transform: SwaggerTransform): SwaggerTransform {
  return (input) => {
    const output = transform(input) as Transformed;
    const { route } = input;
    const schema: Transformed["schema"] = { ...output.schema };
    if (route.config?.deprecated) schema.deprecated = true;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const responses = { ...(schema.response as Record<string, unknown> | undefined) };
    if (methods.includes("POST") && behindActor(route.url)) {
      schema.headers = mergeHeaders(schema.headers, idempotencyKeyHeader);
      const problem = responses["400"];
      if (problem) {
        responses["409"] ??= problem;
        responses["422"] ??= problem;
      }
    }
    if (methods.includes("GET") && behindActor(route.url) && answersJson(responses["200"])) {
      responses["304"] ??= notModified;
    }
    if (schema.response) schema.response = responses;
    return { ...output, schema };
  };
}

const notModified = { type: "null", description: "Not modified" };

/** A 200 response schema with a JSON body (not an event stream's `content` map). */
function answersJson(response: unknown): boolean {
  return typeof response === "object" && response !== null && !("content" in response);
}

function mergeHeaders(existing: unknown, added: typeof idempotencyKeyHeader) {
  const current = existing as { properties?: Record<string, unknown> } | undefined;
  return {
    ...current,
    type: "object",
    properties: { ...current?.properties, ...added.properties },
  };
}
