import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import {
  listNotificationsQuerySchema,
  markAllReadSchema,
  markedSchema,
  notificationPageSchema,
  notificationSchema,
} from "./contracts.ts";
import * as service from "./service.ts";

const tags = ["Notifications"];

const about =
  "You are told, within about a second, when someone else assigns you a task; changes, " +
  "completes, reopens, deletes or restores a task assigned to you or made by you; changes " +
  "your role in a workspace (or gives you its ownership) or removes you; and when the " +
  "server turns off a webhook of a " +
  "workspace you administer. Never of what you did yourself. Notifications of a workspace " +
  "you have left are not shown, except the one saying you were removed. Read ones go " +
  "after 90 days.";

export const notificationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get("/v1/notifications", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "List your notifications",
      description: `Newest first, with how many are unread. ${about}`,
      querystring: listNotificationsQuerySchema,
      response: { 200: notificationPageSchema, ...problemResponses() },
    },
    handler: (request) => service.listNotifications(ctxOf(request), request.query),
  });

  app.post("/v1/notifications/:id/read", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      summary: "Mark a notification read",
      description: "Marking one already read changes nothing (it keeps its first read time).",
      params: idParams,
      response: { 200: notificationSchema, ...problemResponses("not_found") },
    },
    handler: (request) => service.markRead(ctxOf(request), request.params.id),
  });

  app.post("/v1/notifications/read-all", {
    config: { scope: "tasks:write" },
    schema: {
      tags,
      security,
      summary: "Mark every notification read",
      description:
        "Every unread one, or with `upTo` only that one and older: the newest your client has shown, so one that arrived since stays unread.",
      body: markAllReadSchema,
      response: { 200: markedSchema, ...problemResponses() },
    },
    handler: (request) => service.markAllRead(ctxOf(request), request.body),
  });
};
