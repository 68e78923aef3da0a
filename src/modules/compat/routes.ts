import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { DomainError } from "../../platform/http/errors.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import * as tasks from "../tasks/service.ts";
import {
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
export const compatRoutes: FastifyPluginAsyncZod = async (app) => {
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
        ...problemResponses("forbidden", "not_found", "payload_too_large"),
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
      response: { 204: z.null(), ...problemResponses("forbidden", "not_found") },
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
      response: { 200: compatTaskSchema, ...problemResponses("forbidden", "not_found") },
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
      description: `${description} Answers 501 until the assistant lands.`,
      summary: "Chat with the task assistant (not implemented yet)",
      params: compatUserParams,
      body: compatChatBody,
      response: { ...problemResponses("forbidden", "not_implemented") },
    },
    handler: async (request) => {
      assertSelf(ctxOf(request), request.params.user_id);
      throw new DomainError("not_implemented", "The assistant is not available yet");
    },
  });
};
