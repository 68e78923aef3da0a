import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import {
  apiKeyPageSchema,
  createApiKeySchema,
  createdApiKeySchema,
  listApiKeysQuerySchema,
} from "./contracts.ts";
import * as service from "./service.ts";

const tags = ["API keys"];

// Managing keys needs a signed-in user (session or JWT): "session" routes are
// closed to API keys, so a leaked key cannot mint or list others.
export const apiKeyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post("/v1/api-keys", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "Create an API key (shown once)",
      description:
        "The answer is the only time the key is shown; only its SHA-256 is stored. " +
        "Send it as `x-api-key`. A `workspaceId` binds the key to that workspace.",
      body: createApiKeySchema,
      response: {
        201: createdApiKeySchema,
        ...problemResponses("forbidden", "conflict", "invalid_reference"),
      },
    },
    handler: async (request, reply) => {
      const created = await service.createApiKey(ctxOf(request), request.body);
      return reply.code(201).header("cache-control", "no-store").send(created);
    },
  });

  app.get("/v1/api-keys", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "List my API keys (never the keys themselves)",
      querystring: listApiKeysQuerySchema,
      response: { 200: apiKeyPageSchema, ...problemResponses("forbidden") },
    },
    handler: (request) => service.listApiKeys(ctxOf(request), request.query),
  });

  app.delete("/v1/api-keys/:id", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "Revoke an API key",
      description: "Takes effect at once, on every instance.",
      params: idParams,
      response: {
        204: z.null().describe("Revoked"),
        ...problemResponses("not_found", "forbidden"),
      },
    },
    handler: async (request, reply) => {
      await service.revokeApiKey(ctxOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  });
};
