import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import { searchQuerySchema, searchResultSchema } from "./contracts.ts";
import { searchTasks } from "./service.ts";

export const searchRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get("/v1/search", {
    config: { scope: "tasks:read" },
    schema: {
      tags: ["Search"],
      security,
      summary: "Search tasks by words or meaning",
      description:
        "Keyword (full text + typo-tolerant titles), semantic (embeddings of title and " +
        "description, pgvector) or hybrid (both, reciprocal rank fusion). Semantic and hybrid " +
        "fall back to keyword when embeddings are unavailable; `mode` says what ran. The " +
        "built-in offline embedding model is lexical: it matches word forms, partial words " +
        "and typos, not synonyms. Only live tasks of workspaces the caller may see.",
      querystring: searchQuerySchema,
      response: { 200: searchResultSchema, ...problemResponses("not_found") },
    },
    handler: (request) => searchTasks(ctxOf(request), request.query),
  });
};
