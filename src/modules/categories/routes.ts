import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { formatEtag, replyNotModified, versionFromIfMatch } from "../../platform/http/etag.ts";
import { idParams } from "../../platform/http/fields.ts";
import {
  concurrentChanges,
  ctxOf,
  problemResponses,
  security,
} from "../../platform/http/route-helpers.ts";
import {
  categoryPageSchema,
  categorySchema,
  createCategorySchema,
  listCategoriesQuerySchema,
  updateCategorySchema,
} from "./contracts.ts";
import * as service from "./service.ts";

const tags = ["Categories"];
// The task count is part of the representation, so it is part of the ETag.
const etagOf = (category: { id: string; taskCount: number }, version: number) =>
  formatEtag(version, category.taskCount);

export const categoryRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get("/v1/categories", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "List categories",
      querystring: listCategoriesQuerySchema,
      response: { 200: categoryPageSchema, ...problemResponses("not_found") },
    },
    handler: (request) => service.listCategories(ctxOf(request), request.query),
  });

  app.post("/v1/categories", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      summary: "Create a category",
      description: "Names are unique per workspace, ignoring case (409 otherwise).",
      body: createCategorySchema,
      response: { 201: categorySchema, ...problemResponses("not_found", "forbidden", "conflict") },
    },
    handler: async (request, reply) => {
      const category = await service.createCategory(ctxOf(request), request.body);
      return reply
        .code(201)
        .header("location", `/v1/categories/${category.id}`)
        .header("etag", etagOf(category, 1))
        .send(category);
    },
  });

  app.get("/v1/categories/:id", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "Get a category",
      params: idParams,
      response: {
        200: categorySchema,
        304: z.null().describe("Not modified"),
        ...problemResponses("not_found"),
      },
    },
    handler: async (request, reply) => {
      const { category, version } = await service.getCategoryWithVersion(
        ctxOf(request),
        request.params.id,
      );
      if (replyNotModified(request, reply, etagOf(category, version))) return reply;
      return category;
    },
  });

  app.patch("/v1/categories/:id", {
    config: { scope: "tasks:write", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Update a category",
      description: concurrentChanges,
      params: idParams,
      body: updateCategorySchema,
      response: {
        200: categorySchema,
        ...problemResponses("not_found", "forbidden", "conflict", "precondition_failed"),
      },
    },
    handler: (request) =>
      service.updateCategory(
        ctxOf(request),
        request.params.id,
        request.body,
        versionFromIfMatch(request),
      ),
  });

  app.delete("/v1/categories/:id", {
    config: { scope: "tasks:write", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Delete a category",
      description: `Its tasks stay, uncategorised. ${concurrentChanges}`,
      params: idParams,
      response: {
        204: z.null().describe("Deleted"),
        ...problemResponses("not_found", "forbidden", "conflict", "precondition_failed"),
      },
    },
    handler: async (request, reply) => {
      await service.deleteCategory(ctxOf(request), request.params.id, versionFromIfMatch(request));
      return reply.code(204).send(null);
    },
  });
};
