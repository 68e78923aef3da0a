import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { formatEtag, replyNotModified, versionFromIfMatch } from "../../platform/http/etag.ts";
import { idParams } from "../../platform/http/fields.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import {
  changeRoleSchema,
  createdInvitationSchema,
  createInvitationSchema,
  createWorkspaceSchema,
  invitationPageSchema,
  invitationParamsSchema,
  memberPageSchema,
  memberParamsSchema,
  memberSchema,
  pageQuerySchema,
  transferOwnershipSchema,
  updateWorkspaceSchema,
  type Workspace,
  workspacePageSchema,
  workspaceSchema,
} from "./contracts.ts";
import type { InvitationDelivery } from "./delivery.ts";
import * as invitations from "./invitations.ts";
import * as members from "./members.ts";
import * as service from "./service.ts";

const tags = ["Workspaces"];
const noContent = z.null().describe("Done");
// Member count and the caller's role are part of the representation, so of the ETag too.
const etagOf = (workspace: Workspace, version: number) =>
  formatEtag(version, workspace.memberCount, workspace.role);

export const workspaceRoutes: FastifyPluginAsyncZod<{
  invitations: InvitationDelivery;
  /**
   * Called after a workspace changed or was deleted, before the answer
   * leaves, so this instance's copies (its AI settings) are dropped at once;
   * other instances hear it from the database.
   */
  onWorkspaceChanged?: (workspaceId: string) => void;
}> = async (app, options) => {
  app.get("/v1/workspaces", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "List the workspaces I belong to",
      querystring: pageQuerySchema,
      response: { 200: workspacePageSchema, ...problemResponses() },
    },
    handler: (request) => service.listWorkspaces(ctxOf(request), request.query),
  });

  app.post("/v1/workspaces", {
    config: { scope: "workspaces:admin" },
    schema: {
      tags,
      security,
      summary: "Create a shared workspace (you become its owner)",
      description: "An API key bound to a workspace gets 403.",
      body: createWorkspaceSchema,
      response: { 201: workspaceSchema, ...problemResponses("forbidden") },
    },
    handler: async (request, reply) => {
      const workspace = await service.createWorkspace(ctxOf(request), request.body);
      return reply
        .code(201)
        .header("location", `/v1/workspaces/${workspace.id}`)
        .header("etag", etagOf(workspace, 1))
        .send(workspace);
    },
  });

  app.get("/v1/workspaces/:id", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "Get a workspace",
      params: idParams,
      response: {
        200: workspaceSchema,
        304: z.null().describe("Not modified"),
        ...problemResponses("not_found"),
      },
    },
    handler: async (request, reply) => {
      const { workspace, version } = await service.getWorkspaceWithVersion(
        ctxOf(request),
        request.params.id,
      );
      if (replyNotModified(request, reply, etagOf(workspace, version))) return reply;
      return workspace;
    },
  });

  app.patch("/v1/workspaces/:id", {
    config: { scope: "workspaces:admin", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Rename a workspace or set its AI redaction (admins and owners)",
      description:
        "Honours If-Match (412 when stale). `aiRedactPii`: true or false overrides the deployment's default for this workspace's AI prompts; null restores it.",
      params: idParams,
      body: updateWorkspaceSchema,
      response: {
        200: workspaceSchema,
        ...problemResponses("not_found", "forbidden", "precondition_failed"),
      },
    },
    handler: async (request, reply) => {
      const { workspace, version } = await service.updateWorkspace(
        ctxOf(request),
        request.params.id,
        request.body,
        versionFromIfMatch(request),
      );
      options.onWorkspaceChanged?.(request.params.id);
      return reply.header("etag", etagOf(workspace, version)).send(workspace);
    },
  });

  app.delete("/v1/workspaces/:id", {
    config: { scope: "workspaces:admin", ifMatch: true },
    schema: {
      tags,
      security,
      summary: "Delete a workspace with its tasks and categories (owners)",
      description: "Personal workspaces cannot be deleted (409). Honours If-Match.",
      params: idParams,
      response: {
        204: noContent,
        ...problemResponses("not_found", "forbidden", "conflict", "precondition_failed"),
      },
    },
    handler: async (request, reply) => {
      await service.deleteWorkspace(ctxOf(request), request.params.id, versionFromIfMatch(request));
      options.onWorkspaceChanged?.(request.params.id);
      return reply.code(204).send(null);
    },
  });

  app.post("/v1/workspaces/:id/transfer", {
    config: { scope: "workspaces:admin" },
    schema: {
      tags,
      security,
      summary: "Transfer ownership to a member (owners; you become admin)",
      params: idParams,
      body: transferOwnershipSchema,
      response: {
        200: workspaceSchema,
        ...problemResponses("not_found", "forbidden", "conflict", "invalid_reference"),
      },
    },
    handler: (request) =>
      members.transferOwnership(ctxOf(request), request.params.id, request.body),
  });

  app.get("/v1/workspaces/:id/members", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "List a workspace's members, in joining order",
      params: idParams,
      querystring: pageQuerySchema,
      response: { 200: memberPageSchema, ...problemResponses("not_found") },
    },
    handler: (request) => members.listMembers(ctxOf(request), request.params.id, request.query),
  });

  app.patch("/v1/workspaces/:id/members/:userId", {
    config: { scope: "workspaces:admin" },
    schema: {
      tags,
      security,
      summary: "Change a member's role (owners)",
      description:
        "The last owner cannot be demoted (409). A member made viewer is unassigned from the workspace's tasks.",
      params: memberParamsSchema,
      body: changeRoleSchema,
      response: { 200: memberSchema, ...problemResponses("not_found", "forbidden", "conflict") },
    },
    handler: (request) =>
      members.changeMemberRole(
        ctxOf(request),
        request.params.id,
        request.params.userId,
        request.body,
      ),
  });

  app.delete("/v1/workspaces/:id/members/:userId", {
    config: { scope: "workspaces:admin" },
    schema: {
      tags,
      security,
      summary: "Remove a member, or leave when it is you",
      description:
        "Admins remove members and viewers, owners anyone. The last owner cannot leave (409). The member's task assignments here end.",
      params: memberParamsSchema,
      response: { 204: noContent, ...problemResponses("not_found", "forbidden", "conflict") },
    },
    handler: async (request, reply) => {
      await members.removeMember(ctxOf(request), request.params.id, request.params.userId);
      return reply.code(204).send(null);
    },
  });

  app.post("/v1/workspaces/:id/invitations", {
    config: { scope: "workspaces:admin" },
    schema: {
      tags,
      security,
      summary: "Invite someone by email (admins and owners)",
      description:
        "Mailed when SMTP is configured; otherwise (or when mailing fails) the answer carries acceptUrl to pass on. Expires after 7 days.",
      params: idParams,
      body: createInvitationSchema,
      response: {
        201: createdInvitationSchema,
        ...problemResponses("not_found", "forbidden", "conflict"),
      },
    },
    handler: async (request, reply) => {
      const created = await invitations.inviteMember(
        ctxOf(request),
        request.params.id,
        request.body,
        options.invitations,
      );
      return reply.code(201).send(created);
    },
  });

  app.get("/v1/workspaces/:id/invitations", {
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "List pending invitations (admins and owners)",
      params: idParams,
      querystring: pageQuerySchema,
      response: { 200: invitationPageSchema, ...problemResponses("not_found", "forbidden") },
    },
    handler: (request) =>
      invitations.listInvitations(ctxOf(request), request.params.id, request.query),
  });

  app.delete("/v1/workspaces/:id/invitations/:invitationId", {
    config: { scope: "workspaces:admin" },
    schema: {
      tags,
      security,
      summary: "Revoke a pending invitation (admins and owners)",
      params: invitationParamsSchema,
      response: { 204: noContent, ...problemResponses("not_found", "forbidden", "conflict") },
    },
    handler: async (request, reply) => {
      await invitations.revokeInvitation(
        ctxOf(request),
        request.params.id,
        request.params.invitationId,
      );
      return reply.code(204).send(null);
    },
  });

  app.post("/v1/invitations/:id/accept", {
    config: { scope: "session" },
    schema: {
      tags,
      security,
      summary: "Accept an invitation sent to your email address",
      description:
        "404 unless you are signed in with the invited address; 409 when it was already accepted, revoked or expired.",
      params: idParams,
      response: { 200: workspaceSchema, ...problemResponses("not_found", "forbidden", "conflict") },
    },
    handler: (request) => invitations.acceptInvitation(ctxOf(request), request.params.id),
  });
};
