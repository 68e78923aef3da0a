import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import type { AssistantAgent } from "./agent.ts";
import {
  approvalDecisionSchema,
  chatBodySchema,
  chatResultSchema,
  conversationPageSchema,
  idParamsSchema,
  messagePageSchema,
  pageQuerySchema,
} from "./contracts.ts";
import * as service from "./service.ts";

const tags = ["Assistant"];

/**
 * `/v1/chat` and `/v1/conversations`. The agent is passed in: today the
 * offline one, later a model-driven one; the routes and the stored history
 * stay the same.
 */
export const chatRoutes: FastifyPluginAsyncZod<{ agent: AssistantAgent }> = async (
  app,
  options,
) => {
  app.post("/v1/chat", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "Send a message to the assistant",
      description:
        "Starts a conversation, or continues one with conversationId. The assistant acts " +
        "through the same tools as MCP, as you. Deletes and changes to more than 3 tasks " +
        "are not done but held in pendingApproval until POST /v1/chat/approvals/{id}.",
      body: chatBodySchema,
      response: {
        200: chatResultSchema,
        ...problemResponses("not_found", "forbidden", "payload_too_large"),
      },
    },
    handler: (request) => service.chat(ctxOf(request), options.agent, request.body),
  });

  app.post("/v1/chat/approvals/:id", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "Approve or reject a held action",
      description:
        "approve: true runs the held tool calls now, as you; false discards them. An approval " +
        "is decided once and lapses after 10 minutes (409).",
      params: idParamsSchema,
      body: approvalDecisionSchema,
      response: {
        200: chatResultSchema,
        ...problemResponses("not_found", "forbidden", "conflict"),
      },
    },
    handler: (request) => service.decide(ctxOf(request), request.params.id, request.body.approve),
  });

  app.get("/v1/conversations", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "List my conversations, most recently active first",
      querystring: pageQuerySchema,
      response: { 200: conversationPageSchema, ...problemResponses() },
    },
    handler: (request) => service.listConversations(ctxOf(request), request.query),
  });

  app.get("/v1/conversations/:id/messages", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "The messages of a conversation, oldest first",
      params: idParamsSchema,
      querystring: pageQuerySchema,
      response: { 200: messagePageSchema, ...problemResponses("not_found") },
    },
    handler: (request) => service.listMessages(ctxOf(request), request.params.id, request.query),
  });

  app.delete("/v1/conversations/:id", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "Delete a conversation and its messages",
      params: idParamsSchema,
      response: {
        204: z.null().describe("Deleted"),
        ...problemResponses("not_found", "forbidden"),
      },
    },
    handler: async (request, reply) => {
      await service.deleteConversation(ctxOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  });
};
