import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import type { AssistantAgent } from "../assistant/agent.ts";
import { chat } from "../assistant/service.ts";
import * as tasks from "../tasks/service.ts";
import {
  compatChatAnswer,
  compatChatBody,
  compatCreateBody,
  compatListQuery,
  compatReplaceBody,
  compatTaskParams,
  compatTaskSchema,
  compatUserParams,
} from "./contracts.ts";
import { assertSelf, listCompatTasks, toCompat, toggleCompletion } from "./service.ts";

const tags = ["Hackathon compatibility"];
const description =
  "The “Evolution of Todo” hackathon surface, for front ends written against it. " +
  "`user_id` must be the signed-in user (else 403). Prefer /v1 for new clients.";

/** `/api/{user_id}/...`: the hackathon spec's routes over the same task verbs. */
export const compatRoutes: FastifyPluginAsyncZod<{ agent: AssistantAgent }> = async (
  app,
  options,
) => {
  app.get("/api/:user_id/tasks", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      description,
      summary: "List my personal tasks (at most 500)",
      params: compatUserParams,
      querystring: compatListQuery,
      response: { 200: z.array(compatTaskSchema), ...problemResponses("forbidden") },
    },
    handler: async (request) => {
      const ctx = ctxOf(request);
      assertSelf(ctx, request.params.user_id);
      return listCompatTasks(ctx, request.query);
    },
  });

  app.post("/api/:user_id/tasks", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      description,
      summary: "Create a task in my personal workspace",
      params: compatUserParams,
      body: compatCreateBody,
      response: { 201: compatTaskSchema, ...problemResponses("forbidden", "payload_too_large") },
    },
    handler: async (request, reply) => {
      const ctx = ctxOf(request);
      const userId = request.params.user_id;
      assertSelf(ctx, userId);
      const { due_date, ...fields } = request.body;
      const task = await tasks.createTask(ctx, { ...fields, dueAt: due_date });
      return reply
        .code(201)
        .header("location", `/api/${userId}/tasks/${task.id}`)
        .send(toCompat(task, userId));
    },
  });

  app.get("/api/:user_id/tasks/:id", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      description,
      summary: "Get one of my tasks",
      params: compatTaskParams,
      response: { 200: compatTaskSchema, ...problemResponses("forbidden", "not_found") },
    },
    handler: async (request) => {
      const ctx = ctxOf(request);
      assertSelf(ctx, request.params.user_id);
      return toCompat(await tasks.getTask(ctx, request.params.id), request.params.user_id);
    },
  });

  app.put("/api/:user_id/tasks/:id", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      description,
      summary: "Replace a task's title, description, priority, due date, tags and completion",
      params: compatTaskParams,
      body: compatReplaceBody,
      response: {
        200: compatTaskSchema,
        ...problemResponses("forbidden", "not_found", "conflict", "payload_too_large"),
      },
    },
    handler: async (request) => {
      const ctx = ctxOf(request);
      assertSelf(ctx, request.params.user_id);
      const body = request.body;
      const task = await tasks.updateTask(ctx, request.params.id, {
        title: body.title,
        description: body.description ?? null,
        priority: body.priority ?? "none",
        dueAt: body.due_date ?? null,
        tags: body.tags ?? [],
        status: body.completed === undefined ? undefined : body.completed ? "completed" : "open",
      });
      return toCompat(task, request.params.user_id);
    },
  });

  app.delete("/api/:user_id/tasks/:id", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      description,
      summary: "Delete a task (it goes to the trash, restorable through /v1)",
      params: compatTaskParams,
      response: { 204: z.null(), ...problemResponses("forbidden", "not_found", "conflict") },
    },
    handler: async (request, reply) => {
      const ctx = ctxOf(request);
      assertSelf(ctx, request.params.user_id);
      await tasks.deleteTask(ctx, request.params.id);
      return reply.code(204).send(null);
    },
  });

  app.patch("/api/:user_id/tasks/:id/complete", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      description,
      summary: "Toggle a task between completed and pending",
      params: compatTaskParams,
      response: {
        200: compatTaskSchema,
        ...problemResponses("forbidden", "not_found", "conflict"),
      },
    },
    handler: async (request) => {
      const ctx = ctxOf(request);
      assertSelf(ctx, request.params.user_id);
      return toCompat(await toggleCompletion(ctx, request.params.id), request.params.user_id);
    },
  });

  app.post("/api/:user_id/chat", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      description:
        `${description} The same assistant as POST /v1/chat (its conversations, tools and ` +
        "approvals), in the spec's snake_case shape.",
      summary: "Chat with the task assistant",
      params: compatUserParams,
      body: compatChatBody,
      response: {
        200: compatChatAnswer,
        ...problemResponses(
          "forbidden",
          "not_found",
          "payload_too_large",
          "budget_exceeded",
          "upstream_error",
          "upstream_timeout",
        ),
      },
    },
    handler: async (request) => {
      const ctx = ctxOf(request);
      assertSelf(ctx, request.params.user_id);
      const { conversation_id, message } = request.body;
      const result = await chat(ctx, options.agent, { message, conversationId: conversation_id });
      return {
        conversation_id: result.conversationId,
        response: result.response,
        tool_calls: result.toolCalls,
        pending_approval: result.pendingApproval,
      };
    },
  });
};
