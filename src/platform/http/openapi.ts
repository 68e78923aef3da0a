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
 * Adds what the platform does for every route to the generated document:
 * `deprecated` from the route's deprecation config, and on every POST under
 * /v1 the optional `Idempotency-Key` header with its two problem answers.
 */
export function withPlatformDocs(transform: SwaggerTransform): SwaggerTransform {
  return (input) => {
    const output = transform(input) as Transformed;
    const { route } = input;
    const schema: Transformed["schema"] = { ...output.schema };
    if (route.config?.deprecated) schema.deprecated = true;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes("POST") && route.url.startsWith("/v1/")) {
      schema.headers = mergeHeaders(schema.headers, idempotencyKeyHeader);
      const responses = { ...(schema.response as Record<string, unknown> | undefined) };
      const problem = responses["400"];
      if (problem) {
        responses["409"] ??= problem;
        responses["422"] ??= problem;
      }
      schema.response = responses;
    }
    return { ...output, schema };
  };
}

function mergeHeaders(existing: unknown, added: typeof idempotencyKeyHeader) {
  const current = existing as { properties?: Record<string, unknown> } | undefined;
  return {
    ...current,
    type: "object",
    properties: { ...current?.properties, ...added.properties },
  };
}
