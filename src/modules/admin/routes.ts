import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import { supportAccessSchema, supportSnapshotSchema } from "./contracts.ts";
import { openSupportAccess } from "./service.ts";

const tags = ["Administration"];

export const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post("/v1/admin/workspaces/:id/support-access", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "Audited, read-only look into a workspace (system admins)",
      description:
        "For a system admin who is not a member: writes a workspace.support_access activity event with the reason (visible to the workspace's members) and returns the workspace, its members, the open task count and the first open tasks. Anyone else gets 403.",
      params: idParams,
      body: supportAccessSchema,
      response: { 200: supportSnapshotSchema, ...problemResponses("forbidden", "not_found") },
    },
    handler: (request) => openSupportAccess(ctxOf(request), request.params.id, request.body),
  });
};
