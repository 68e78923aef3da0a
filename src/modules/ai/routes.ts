import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { wantsEventStream } from "../../platform/http/event-stream.ts";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import { getBudget, getUsage, setBudget } from "./account.ts";
import {
  breakdownBodySchema,
  breakdownSchema,
  budgetBodySchema,
  budgetQuerySchema,
  budgetSchema,
  digestBodySchema,
  digestSchema,
  summarySchema,
  usageQuerySchema,
  usageReportSchema,
} from "./contracts.ts";
import { breakdown, digest, type StreamOptions, summarizeTask } from "./features.ts";
import type { AiGateway } from "./gateway.ts";
import { answerWithEvents } from "./sse.ts";

const tags = ["AI"];

const streamDescription =
  "With `Accept: text/event-stream` the answer streams as server-sent events: `delta` " +
  "({text}) while the model writes, then one `done` (this JSON answer) or one `error` " +
  "(a problem object). Errors before the first event answer problem+json as usual.";

/** A 200 that is JSON, or server-sent events when asked for. */
const answerResponse = (schema: z.ZodType) => ({
  description: "The answer (JSON), or its event stream",
  content: {
    "application/json": { schema },
    "text/event-stream": { schema: z.string().meta({ description: streamDescription }) },
  },
});

const featureErrors = problemResponses(
  "not_found",
  "forbidden",
  "budget_exceeded",
  "upstream_error",
  "upstream_timeout",
);

/** JSON, or SSE when the client asked for it; the verb is the same. */
function answer<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  produce: (options: StreamOptions) => Promise<T>,
) {
  if (!wantsEventStream(request)) return produce({ stream: false });
  return answerWithEvents(request, reply, produce);
}

export const aiRoutes: FastifyPluginAsyncZod<{ gateway: AiGateway }> = async (app, options) => {
  const ai = options.gateway;

  app.post("/v1/tasks/:id/summary", {
    config: { scope: "ai:use", extraScopes: ["tasks:read"] },
    schema: {
      tags,
      security,
      summary: "Summarise a task",
      description: `From its title, description, sub-tasks and activity. An API key needs \`tasks:read\` too (403 without). ${streamDescription}`,
      params: idParams,
      response: { 200: answerResponse(summarySchema), ...featureErrors },
    },
    handler: (request, reply) =>
      answer(request, reply, (stream) =>
        summarizeTask(ctxOf(request), ai, request.params.id, stream),
      ),
  });

  app.post("/v1/ai/digest", {
    config: { scope: "ai:use", extraScopes: ["tasks:read"] },
    schema: {
      tags,
      security,
      summary: "Digest of your tasks",
      description: `Overdue, due today, high priority and recently completed, for the tasks the filter selects ("what is on my plate this week"). An API key needs \`tasks:read\` too (403 without). ${streamDescription}`,
      body: digestBodySchema.optional(),
      response: { 200: answerResponse(digestSchema), ...featureErrors },
    },
    handler: (request, reply) =>
      answer(request, reply, (stream) =>
        digest(ctxOf(request), ai, request.body?.filter ?? {}, stream),
      ),
  });

  app.post("/v1/ai/breakdown", {
    config: { scope: "ai:use", extraScopes: ["tasks:read"] },
    schema: {
      tags,
      security,
      summary: "Break a task down into sub-tasks",
      description: `Suggestions validated against a schema (an invalid model answer is repaired once, then 502). \`apply: true\` creates them as sub-tasks in one transaction. An API key needs \`tasks:read\` too, and \`tasks:write\` for \`apply: true\` (403 without, before the model is asked). ${streamDescription}`,
      body: breakdownBodySchema,
      response: { 200: answerResponse(breakdownSchema), ...featureErrors },
    },
    handler: (request, reply) =>
      answer(request, reply, (stream) => breakdown(ctxOf(request), ai, request.body, stream)),
  });

  app.get("/v1/ai/usage", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "AI usage and cost",
      description:
        "Calls, tokens and cost from the ledger, grouped by day, model or feature; yours, or a workspace's for its admins.",
      querystring: usageQuerySchema,
      response: { 200: usageReportSchema, ...problemResponses("not_found", "forbidden") },
    },
    handler: (request) => getUsage(ctxOf(request), ai, request.query),
  });

  app.get("/v1/ai/budget", {
    config: { scope: "ai:use" },
    schema: {
      tags,
      security,
      summary: "Monthly AI budgets",
      description: "Your own budget and a workspace's, with what is spent this month.",
      querystring: budgetQuerySchema,
      response: { 200: budgetSchema, ...problemResponses("not_found") },
    },
    handler: (request) => getBudget(ctxOf(request), ai, request.query),
  });

  app.put("/v1/ai/budget", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "Set a monthly AI budget",
      description:
        "Your own (scope user) or a workspace's (scope workspace: owners and admins only); null removes it. Not available to API keys.",
      body: budgetBodySchema,
      response: { 200: budgetSchema, ...problemResponses("not_found", "forbidden") },
    },
    handler: (request) => setBudget(ctxOf(request), ai, request.body),
  });
};
