import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import { activityPageSchema, activityQuerySchema } from "../activity/contracts.ts";
import { profileQuerySchema, profileSchema, updateProfileSchema } from "./contracts.ts";
import { getProfile, listMyActivity, updateProfile } from "./service.ts";

const tags = ["Profile"];

export type ProfileRoutesOptions = {
  /** Called after the signed-in user's own row changed (the user cache listens). */
  onUserChanged?: (userId: string) => Promise<void>;
};

export const profileRoutes: FastifyPluginAsyncZod<ProfileRoutesOptions> = async (app, options) => {
  app.get("/v1/me", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "Who I am, my workspaces, my task stats and recent activity",
      querystring: profileQuerySchema,
      response: { 200: profileSchema, ...problemResponses() },
    },
    handler: (request) => getProfile(ctxOf(request), request.query),
  });

  app.patch("/v1/me", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "Update my name, time zone or image",
      body: updateProfileSchema,
      // 403: a cookie-authenticated change from a foreign Origin.
      response: { 200: profileSchema, ...problemResponses("forbidden") },
    },
    handler: async (request) => {
      const ctx = ctxOf(request);
      const profile = await updateProfile(ctx, request.body);
      // Name and time zone are part of every request's actor: drop the cached row.
      await options.onUserChanged?.(profile.id);
      return profile;
    },
  });

  app.get("/v1/me/activity", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "What I did, newest first",
      querystring: activityQuerySchema,
      response: { 200: activityPageSchema, ...problemResponses() },
    },
    handler: (request) => listMyActivity(ctxOf(request), request.query),
  });
};
