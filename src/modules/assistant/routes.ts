import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { wantsEventStream, withEventStream } from "../../platform/http/event-stream.ts";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import type { AssistantAgent } from "./agent.ts";
import {
  approvalDecisionSchema,
  chatBodySchema,
  chatResultSchema,
  conversationPageSchema,
  messagePageSchema,
  pageQuerySchema,
} from "./contracts.ts";
import type { ChatEvent } from "./service.ts";
import * as service from "./service.ts";

const tags = ["Assistant"];

const streamDescription =
  "With `Accept: text/event-stream` the turn streams as server-sent events: `delta` " +
  "({text}) as the reply is written, `tool_call` ({name, input}) before a tool runs, " +
  "`tool_result` (the ToolCall with its status) after it, `approval_required` " +
  "(the PendingApproval) when something waits for approval, then one `done` (this JSON " +
  "answer) or one `error` (a problem object). Errors before the first event answer " +
  "problem+json as usual. Closing the connection stops the turn; what was done is kept.";

/** A 200 that is JSON, or server-sent events when asked for (typed loosely, as either). */
const replyOrEvents: { description: string; content: Record<string, { schema: z.ZodType }> } = {
  description: "The reply (JSON), or its event stream",
  content: {
    "application/json": { schema: chatResultSchema },
    "text/event-stream": { schema: z.string().meta({ description: streamDescription }) },
  },
};

function eventData(event: ChatEvent): unknown {
  switch (event.type) {
    case "delta":
      return { text: event.text };
    case "tool_call":
      return event.call;
    case "tool_result":
      return event.record;
    case "approval_required":
      return event.approval;
  }
}

/**
 * `/v1/chat` and `/v1/conversations`. The agent is passed in (app.ts picks
 * the model-driven one or the offline one); the routes and the stored
 * history are the same for both.
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
        `are not done but held in pendingApproval until POST /v1/chat/approvals/{id}. ${streamDescription}`,
      body: chatBodySchema,
      response: {
        200: replyOrEvents,
        ...problemResponses(
          "not_found",
          "forbidden",
          "payload_too_large",
          "budget_exceeded",
          "upstream_error",
          "upstream_timeout",
        ),
      },
    },
    handler: (request, reply) => {
      const ctx = ctxOf(request);
      if (!wantsEventStream(request)) return service.chat(ctx, options.agent, request.body);
      return withEventStream(request, reply, async ({ signal, send }) => {
        const result = await service.chat(ctx, options.agent, request.body, {
          signal,
          onEvent: (event) => send(event.type, eventData(event)),
        });
        send("done", result);
      });
    },
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
      params: idParams,
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
      params: idParams,
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
      params: idParams,
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
