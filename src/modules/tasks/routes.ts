import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Context } from "../../platform/context.ts";
import {
  formatEtag,
  replyNotModified,
  versionFromIfMatch,
  weakEtag,
} from "../../platform/http/etag.ts";
import { idParams } from "../../platform/http/fields.ts";
import type { ExpectedVersion } from "../../platform/http/lost-update.ts";
import {
  concurrentChanges,
  ctxOf,
  problemResponses,
  security,
} from "../../platform/http/route-helpers.ts";
import { activityPageSchema, activityQuerySchema } from "../activity/contracts.ts";
import {
  createTaskSchema,
  listTasksQuerySchema,
  quickAddSchema,
  type Task,
  taskPageSchema,
  taskSchema,
  updateTaskSchema,
} from "./contracts.ts";
import { occurrenceBudgetMs } from "./schedule/occurrences.ts";
import * as service from "./service.ts";

const tags = ["Tasks"];
const etagOf = (task: { version: number }) => formatEtag(task.version);

/**
 * A page's weak ETag from its tasks' ids and versions and its cursor: a
 * task's version moves whenever its representation does (every verb bumps
 * it; a trigger covers the references the database clears, migration 0011),
 * so this changes exactly when the page does, without hashing the ~20 KB
 * body that the generic ETag (platform/http/caching.ts) would.
 */
function pageEtag(page: {
  data: ReadonlyArray<{ id: string; version: number }>;
  nextCursor: string | null;
}) {
  let parts = page.nextCursor ?? "";
  for (const task of page.data) parts += `|${task.id}.${task.version}`;
  return weakEtag(parts);
}

export const taskRoutes: FastifyPluginAsyncZod<{ quickAdd?: service.QuickAddSplitter }> = async (
  app,
  options,
) => {
  app.get("/v1/tasks", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "List tasks",
      description:
        "Keyset-paginated; filters combine with AND. Sends a weak ETag; If-None-Match answers 304 while the page is unchanged.",
      querystring: listTasksQuerySchema,
      response: {
        200: taskPageSchema,
        304: z.null().describe("Not modified"),
        ...problemResponses("not_found"),
      },
    },
    handler: async (request, reply) => {
      const page = await service.listTasks(ctxOf(request), request.query);
      if (replyNotModified(request, reply, pageEtag(page))) return reply;
      return page;
    },
  });

  app.post("/v1/tasks", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      summary: "Create a task",
      body: createTaskSchema,
      response: {
        201: taskSchema,
        ...problemResponses(
          "not_found",
          "forbidden",
          "invalid_reference",
          "payload_too_large",
          "unsupported_media_type",
        ),
      },
    },
    handler: async (request, reply) => {
      const task = await service.createTask(ctxOf(request), request.body);
      return reply
        .code(201)
        .header("location", `/v1/tasks/${task.id}`)
        .header("etag", etagOf(task))
        .send(task);
    },
  });

  app.post("/v1/tasks/quick", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      summary: "Quick add from one line of text",
      description:
        '"Pay rent every 1st at 9am #Home @finance p1": # category, @ tag, p1..p4 priority, dates and repeats in words. When the AI layer has a `quickadd` model, it splits the text first; dates are still read by the offline parser, which also takes over when the model fails.',
      body: quickAddSchema,
      response: { 201: taskSchema, ...problemResponses("not_found", "forbidden") },
    },
    handler: async (request, reply) => {
      const task = await service.quickAddTask(ctxOf(request), request.body, options.quickAdd);
      return reply
        .code(201)
        .header("location", `/v1/tasks/${task.id}`)
        .header("etag", etagOf(task))
        .send(task);
    },
  });

  app.get("/v1/tasks/:id", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "Get a task",
      description: "Sends an ETag; If-None-Match answers 304 when unchanged.",
      params: idParams,
      response: {
        200: taskSchema,
        304: z.null().describe("Not modified"),
        ...problemResponses("not_found"),
      },
    },
    handler: async (request, reply) => {
      const task = await service.getTask(ctxOf(request), request.params.id);
      if (replyNotModified(request, reply, etagOf(task))) return reply;
      return task;
    },
  });

  app.patch("/v1/tasks/:id", {
    config: { scope: "tasks:write", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Update a task",
      description: `${concurrentChanges} Setting status runs the complete/reopen rules.`,
      params: idParams,
      body: updateTaskSchema,
      response: {
        200: taskSchema,
        ...problemResponses(
          "not_found",
          "forbidden",
          "conflict",
          "invalid_reference",
          "precondition_failed",
        ),
      },
    },
    handler: async (request, reply) => {
      const expected = versionFromIfMatch(request);
      const task = await service.updateTask(
        ctxOf(request),
        request.params.id,
        request.body,
        expected,
      );
      return reply.header("etag", etagOf(task)).send(task);
    },
  });

  app.delete("/v1/tasks/:id", {
    config: { scope: "tasks:write", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Delete a task (to the trash)",
      description: `Its sub-tasks at every depth go with it (and come back with a restore). A member gets 403 when one of them is a task they neither created nor are assigned to. ${concurrentChanges}`,
      params: idParams,
      response: {
        204: z.null().describe("Deleted"),
        ...problemResponses("not_found", "forbidden", "conflict", "precondition_failed"),
      },
    },
    handler: async (request, reply) => {
      await service.deleteTask(ctxOf(request), request.params.id, versionFromIfMatch(request));
      return reply.code(204).send(null);
    },
  });

  const statusChange = (
    path: string,
    summary: string,
    verb: (ctx: Context, id: string, expected?: ExpectedVersion) => Promise<Task>,
    description = concurrentChanges,
  ) =>
    app.post(path, {
      config: { scope: "tasks:write", ifMatch: true },
      schema: {
        tags,
        security,
        summary,
        description,
        params: idParams,
        response: {
          200: taskSchema,
          ...problemResponses("not_found", "forbidden", "conflict", "precondition_failed"),
        },
      },
      handler: async (request, reply) => {
        const task = await verb(ctxOf(request), request.params.id, versionFromIfMatch(request));
        return reply.header("etag", etagOf(task)).send(task);
      },
    });

  statusChange(
    "/v1/tasks/:id/complete",
    "Complete a task (a recurring one gets its next occurrence)",
    service.completeTask,
    `A recurring task whose rule cannot be evaluated (not within ${occurrenceBudgetMs / 1000} s, or no occurrence within 10,000 of its periods; one stored before rules were checked on write) answers 409 naming \`recurrence\` and stays open. ${concurrentChanges}`,
  );
  statusChange("/v1/tasks/:id/reopen", "Reopen a completed task", service.reopenTask);
  statusChange(
    "/v1/tasks/:id/restore",
    "Restore a task from the trash",
    service.restoreTask,
    `The sub-tasks that went to the trash with it come back with it (a member gets 403 when one of them is a task they neither created nor are assigned to). A sub-task whose parent is still in the trash answers 409: restore the parent. ${concurrentChanges}`,
  );

  app.get("/v1/tasks/:id/activity", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "What happened to a task, newest first",
      params: idParams,
      querystring: activityQuerySchema,
      response: { 200: activityPageSchema, ...problemResponses("not_found") },
    },
    handler: (request) =>
      service.listTaskActivity(ctxOf(request), request.params.id, request.query),
  });
};
