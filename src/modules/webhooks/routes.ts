import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { formatEtag, replyNotModified, versionFromIfMatch } from "../../platform/http/etag.ts";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import {
  createdWebhookSchema,
  createWebhookSchema,
  deliveryPageSchema,
  listDeliveriesQuerySchema,
  listWebhooksQuerySchema,
  updateWebhookSchema,
  webhookPageSchema,
  webhookSchema,
} from "./contracts.ts";
import * as service from "./service.ts";

const tags = ["Webhooks"];
const noContent = z.null().describe("Done");

const signing =
  "Each delivery is a POST of `{id, type, createdAt, workspaceId, data}` (`data`: the " +
  "`Activity`, as the activity lists show it) with `Taskpilot-Event` (its type), " +
  "`Taskpilot-Delivery` (the delivery id: the same on every retry) and " +
  '`Taskpilot-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the ' +
  "webhook's secret. A 2xx within 10 s is success; anything else is retried with backoff " +
  "(about 9 hours by default), and redirects are not followed. Deliveries may arrive out of " +
  "order and, rarely, more than once: use the delivery id to tell.";

/** Webhooks of a workspace: owners and admins, and API keys with `webhooks:manage`. */
export const webhookRoutes: FastifyPluginAsyncZod<{ settings: service.WebhookSettings }> = async (
  app,
  { settings },
) => {
  app.post("/v1/webhooks", {
    config: { scope: "webhooks:manage" },
    schema: {
      tags,
      security,
      summary: "Create a webhook (its secret is shown once)",
      description: `Sends the workspace's events from now on. ${signing}`,
      body: createWebhookSchema,
      response: {
        201: createdWebhookSchema,
        ...problemResponses("not_found", "forbidden", "conflict"),
      },
    },
    handler: async (request, reply) => {
      const created = await service.createWebhook(ctxOf(request), request.body, settings);
      return reply
        .code(201)
        .header("location", `/v1/webhooks/${created.id}`)
        .header("cache-control", "no-store")
        .header("etag", formatEtag(1))
        .send(created);
    },
  });

  app.get("/v1/webhooks", {
    config: { scope: "webhooks:manage" },
    schema: {
      tags,
      security,
      summary: "List the webhooks of the workspaces you administer",
      querystring: listWebhooksQuerySchema,
      response: { 200: webhookPageSchema, ...problemResponses("not_found", "forbidden") },
    },
    handler: (request) => service.listWebhooks(ctxOf(request), request.query),
  });

  app.get("/v1/webhooks/:id", {
    config: { scope: "webhooks:manage" },
    schema: {
      tags,
      security,
      summary: "Get a webhook",
      params: idParams,
      response: {
        200: webhookSchema,
        304: z.null().describe("Not modified"),
        ...problemResponses("not_found", "forbidden"),
      },
    },
    handler: async (request, reply) => {
      const { webhook, version } = await service.getWebhook(ctxOf(request), request.params.id);
      if (replyNotModified(request, reply, formatEtag(version))) return reply;
      return webhook;
    },
  });

  app.patch("/v1/webhooks/:id", {
    config: { scope: "webhooks:manage", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Change a webhook's URL, events or description, or pause and resume it",
      description:
        "Honours If-Match (412 when stale). Resuming (`active: true`) sends events from then on; what happened while it was off is not sent.",
      params: idParams,
      body: updateWebhookSchema,
      response: {
        200: webhookSchema,
        ...problemResponses("not_found", "forbidden", "precondition_failed"),
      },
    },
    handler: async (request, reply) => {
      const { webhook, version } = await service.updateWebhook(
        ctxOf(request),
        request.params.id,
        request.body,
        settings,
        versionFromIfMatch(request),
      );
      return reply.header("etag", formatEtag(version)).send(webhook);
    },
  });

  app.delete("/v1/webhooks/:id", {
    config: { scope: "webhooks:manage", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Delete a webhook",
      description: "Deliveries not yet made are not sent. Honours If-Match.",
      params: idParams,
      response: {
        204: noContent,
        ...problemResponses("not_found", "forbidden", "precondition_failed"),
      },
    },
    handler: async (request, reply) => {
      await service.deleteWebhook(ctxOf(request), request.params.id, versionFromIfMatch(request));
      return reply.code(204).send(null);
    },
  });

  app.get("/v1/webhooks/:id/deliveries", {
    config: { scope: "webhooks:manage" },
    schema: {
      tags,
      security,
      summary: "List a webhook's deliveries, newest first",
      description: "Kept for 30 days after they succeed or fail for good.",
      params: idParams,
      querystring: listDeliveriesQuerySchema,
      response: { 200: deliveryPageSchema, ...problemResponses("not_found", "forbidden") },
    },
    handler: (request) => service.listDeliveries(ctxOf(request), request.params.id, request.query),
  });
};
