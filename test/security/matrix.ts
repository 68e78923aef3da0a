import { expect } from "vitest";
import type { App } from "../../src/app.ts";
import { createApiKey } from "../../src/modules/api-keys/test-helpers.ts";
import type { WorkspaceRole } from "../../src/modules/workspaces/schema.ts";
import type { RouteScope, Scope } from "../../src/platform/auth/scopes.ts";
import { injectOnce } from "../inject.ts";
import { createTask } from "../tasks-helpers.ts";
import type { World } from "./world.ts";

/** The methods the `/v1` routes answer. */
export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export type SuiteRequest = { url: string; payload?: unknown };

/**
 * One row per `/v1` operation of the OpenAPI document: who may call it and
 * how to build a request that should succeed for them. The suite fails when
 * the document and this table disagree, so a new route cannot ship without
 * its access rules being tested.
 */
export type RouteRule = {
  /**
   * The lowest workspace role that may do this to a resource the workspace
   * owner created, "self" for routes on the caller's own account (no
   * workspace resource involved), or "systemAdmin" for the system admins'
   * routes (anyone else: 403).
   */
  minRole: WorkspaceRole | "self" | "systemAdmin";
  /** The API-key scope the route needs ("session": no key may call it). */
  scope: RouteScope;
  /** Further scopes a key needs (the route's `extraScopes`). */
  extraScopes?: Scope[];
  /**
   * For "self" routes on a resource of the caller's own (built for the
   * outsider): anyone else gets 404, as for any resource they cannot see.
   */
  ownedByCaller?: true;
  /** A request against fresh resources of the shared workspace. */
  build: (world: World) => Promise<SuiteRequest>;
};

const inWorkspace = (world: World, path: string) => `${path}?workspaceId=${world.workspaceId}`;

const onTask =
  (make: (world: World) => Promise<{ id: string }>, suffix = "", payload?: unknown) =>
  async (world: World): Promise<SuiteRequest> => ({
    url: `/v1/tasks/${(await make(world)).id}${suffix}`,
    payload,
  });

const onCategory =
  (payload?: (world: World) => unknown) =>
  async (world: World): Promise<SuiteRequest> => ({
    url: `/v1/categories/${(await world.category()).id}`,
    payload: payload?.(world),
  });

/** A webhook the owner made in a fresh workspace (25 per workspace at most, so never the shared one). */
const onWebhook =
  (suffix = "", payload?: unknown) =>
  async (world: World): Promise<SuiteRequest> => {
    const response = await world.app.inject({
      method: "POST",
      url: "/v1/webhooks",
      headers: world.users.owner.headers,
      payload: {
        url: "https://hooks.example.com/suite",
        events: ["task.*"],
        workspaceId: await world.freshWorkspace(),
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    return { url: `/v1/webhooks/${response.json<{ id: string }>().id}${suffix}`, payload };
  };

const inFresh =
  (suffix: (world: World) => string, payload?: (world: World) => unknown) =>
  async (world: World): Promise<SuiteRequest> => ({
    url: `/v1/workspaces/${await world.freshWorkspace()}${suffix(world)}`,
    payload: payload?.(world),
  });

export const routeMatrix: Record<string, RouteRule> = {
  "GET /v1/tasks": {
    minRole: "viewer",
    scope: "tasks:read",
    build: async (world) => ({ url: inWorkspace(world, "/v1/tasks") }),
  },
  "POST /v1/tasks": {
    minRole: "member",
    scope: "tasks:write",
    build: async (world) => ({
      url: "/v1/tasks",
      payload: { title: "New task", workspaceId: world.workspaceId },
    }),
  },
  "POST /v1/tasks/quick": {
    minRole: "member",
    scope: "tasks:write",
    build: async (world) => ({
      url: "/v1/tasks/quick",
      payload: { text: "Water the plants tomorrow p2", workspaceId: world.workspaceId },
    }),
  },
  "GET /v1/tasks/{id}": { minRole: "viewer", scope: "tasks:read", build: onTask((w) => w.task()) },
  "PATCH /v1/tasks/{id}": {
    minRole: "admin",
    scope: "tasks:write",
    build: onTask((w) => w.task(), "", { title: "Renamed by someone else" }),
  },
  "DELETE /v1/tasks/{id}": {
    minRole: "admin",
    scope: "tasks:write",
    build: onTask((w) => w.task()),
  },
  "POST /v1/tasks/{id}/complete": {
    minRole: "admin",
    scope: "tasks:write",
    build: onTask((w) => w.task(), "/complete"),
  },
  "POST /v1/tasks/{id}/reopen": {
    minRole: "admin",
    scope: "tasks:write",
    build: onTask((w) => w.completedTask(), "/reopen"),
  },
  "POST /v1/tasks/{id}/restore": {
    minRole: "admin",
    scope: "tasks:write",
    build: onTask((w) => w.deletedTask(), "/restore"),
  },
  "GET /v1/tasks/{id}/activity": {
    minRole: "viewer",
    scope: "tasks:read",
    build: onTask((w) => w.task(), "/activity"),
  },
  "GET /v1/search": {
    minRole: "viewer",
    scope: "tasks:read",
    build: async (world) => ({ url: `/v1/search?q=task&workspaceId=${world.workspaceId}` }),
  },
  "GET /v1/categories": {
    minRole: "viewer",
    scope: "tasks:read",
    build: async (world) => ({ url: inWorkspace(world, "/v1/categories") }),
  },
  "POST /v1/categories": {
    minRole: "admin",
    scope: "tasks:write",
    build: async (world) => ({
      url: "/v1/categories",
      payload: { name: `Made by a caller ${crypto.randomUUID()}`, workspaceId: world.workspaceId },
    }),
  },
  "GET /v1/categories/{id}": { minRole: "viewer", scope: "tasks:read", build: onCategory() },
  "PATCH /v1/categories/{id}": {
    minRole: "admin",
    scope: "tasks:write",
    build: onCategory(() => ({ name: `Renamed ${crypto.randomUUID()}` })),
  },
  "DELETE /v1/categories/{id}": { minRole: "admin", scope: "tasks:write", build: onCategory() },
  "GET /v1/me": { minRole: "self", scope: "tasks:read", build: async () => ({ url: "/v1/me" }) },
  "PATCH /v1/me": {
    minRole: "self",
    scope: "session",
    build: async () => ({ url: "/v1/me", payload: { name: "Renamed myself" } }),
  },
  "GET /v1/me/activity": {
    minRole: "self",
    scope: "tasks:read",
    build: async () => ({ url: "/v1/me/activity" }),
  },
  "GET /v1/notifications": {
    minRole: "self",
    scope: "tasks:read",
    build: async () => ({ url: "/v1/notifications" }),
  },
  "POST /v1/notifications/{id}/read": {
    // The outsider's own notification: the suite's "any signed-in user" is the outsider.
    minRole: "self",
    ownedByCaller: true,
    scope: "tasks:write",
    build: async (world) => ({
      url: `/v1/notifications/${await world.notification(world.users.outsider)}/read`,
    }),
  },
  "POST /v1/notifications/read-all": {
    minRole: "self",
    scope: "tasks:write",
    build: async () => ({ url: "/v1/notifications/read-all", payload: {} }),
  },
  "GET /v1/events": {
    minRole: "viewer",
    scope: "tasks:read",
    build: async (world) => ({ url: inWorkspace(world, "/v1/events") }),
  },

  "GET /v1/workspaces": {
    minRole: "self",
    scope: "tasks:read",
    build: async () => ({ url: "/v1/workspaces" }),
  },
  "POST /v1/workspaces": {
    minRole: "self",
    scope: "workspaces:admin",
    build: async () => ({ url: "/v1/workspaces", payload: { name: "Made in the suite" } }),
  },
  "GET /v1/workspaces/{id}": {
    minRole: "viewer",
    scope: "tasks:read",
    build: async (world) => ({ url: `/v1/workspaces/${world.workspaceId}` }),
  },
  "PATCH /v1/workspaces/{id}": {
    minRole: "admin",
    scope: "workspaces:admin",
    build: inFresh(
      () => "",
      () => ({ name: "Renamed" }),
    ),
  },
  "DELETE /v1/workspaces/{id}": {
    minRole: "owner",
    scope: "workspaces:admin",
    build: inFresh(() => ""),
  },
  "POST /v1/workspaces/{id}/transfer": {
    minRole: "owner",
    scope: "workspaces:admin",
    build: inFresh(
      () => "/transfer",
      (world) => ({ userId: world.users.member.id }),
    ),
  },
  "GET /v1/workspaces/{id}/members": {
    minRole: "viewer",
    scope: "tasks:read",
    build: async (world) => ({ url: `/v1/workspaces/${world.workspaceId}/members` }),
  },
  "PATCH /v1/workspaces/{id}/members/{userId}": {
    minRole: "owner",
    scope: "workspaces:admin",
    build: inFresh(
      (world) => `/members/${world.users.member.id}`,
      () => ({ role: "viewer" }),
    ),
  },
  "DELETE /v1/workspaces/{id}/members/{userId}": {
    minRole: "admin",
    scope: "workspaces:admin",
    // The viewer, not the member: a member removing themself is leaving, which anyone may.
    build: inFresh((world) => `/members/${world.users.viewer.id}`),
  },
  "POST /v1/workspaces/{id}/invitations": {
    minRole: "admin",
    scope: "workspaces:admin",
    build: inFresh(
      () => "/invitations",
      () => ({ email: `invitee-${crypto.randomUUID()}@example.com`, role: "member" }),
    ),
  },
  "GET /v1/workspaces/{id}/invitations": {
    minRole: "admin",
    scope: "tasks:read",
    build: async (world) => ({ url: `/v1/workspaces/${world.workspaceId}/invitations` }),
  },
  "DELETE /v1/workspaces/{id}/invitations/{invitationId}": {
    minRole: "admin",
    scope: "workspaces:admin",
    build: async (world) => {
      const invitation = await world.invitation();
      return { url: `/v1/workspaces/${invitation.workspaceId}/invitations/${invitation.id}` };
    },
  },
  "POST /v1/invitations/{id}/accept": {
    // Only the invitee can accept; the suite's "any signed-in user" is the outsider.
    minRole: "self",
    ownedByCaller: true,
    scope: "session",
    build: async (world) => {
      const invitation = await world.invitation(world.users.outsider.email);
      return { url: `/v1/invitations/${invitation.id}/accept` };
    },
  },

  "GET /v1/api-keys": {
    minRole: "self",
    scope: "session",
    build: async () => ({ url: "/v1/api-keys" }),
  },
  "POST /v1/api-keys": {
    minRole: "self",
    scope: "session",
    build: async () => ({ url: "/v1/api-keys", payload: { name: "CI", scopes: ["tasks:read"] } }),
  },
  "DELETE /v1/api-keys/{id}": {
    // The outsider's own key: the suite's "any signed-in user" is the outsider.
    minRole: "self",
    ownedByCaller: true,
    scope: "session",
    build: async (world) => {
      const key = await createApiKey(world.app, world.users.outsider, { scopes: ["tasks:read"] });
      return { url: `/v1/api-keys/${key.id}` };
    },
  },

  "GET /v1/webhooks": {
    minRole: "admin",
    scope: "webhooks:manage",
    build: async (world) => ({ url: inWorkspace(world, "/v1/webhooks") }),
  },
  "POST /v1/webhooks": {
    minRole: "admin",
    scope: "webhooks:manage",
    build: async (world) => ({
      url: "/v1/webhooks",
      payload: {
        url: "https://hooks.example.com/suite",
        events: ["task.*"],
        workspaceId: await world.freshWorkspace(),
      },
    }),
  },
  "GET /v1/webhooks/{id}": { minRole: "admin", scope: "webhooks:manage", build: onWebhook() },
  "PATCH /v1/webhooks/{id}": {
    minRole: "admin",
    scope: "webhooks:manage",
    build: onWebhook("", { description: "Changed" }),
  },
  "DELETE /v1/webhooks/{id}": { minRole: "admin", scope: "webhooks:manage", build: onWebhook() },
  "GET /v1/webhooks/{id}/deliveries": {
    minRole: "admin",
    scope: "webhooks:manage",
    build: onWebhook("/deliveries"),
  },

  "POST /v1/tasks/{id}/summary": {
    minRole: "viewer",
    scope: "ai:use",
    extraScopes: ["tasks:read"],
    build: onTask((w) => w.task(), "/summary"),
  },
  "POST /v1/ai/digest": {
    minRole: "self",
    scope: "ai:use",
    extraScopes: ["tasks:read"],
    build: async () => ({ url: "/v1/ai/digest", payload: {} }),
  },
  "POST /v1/ai/breakdown": {
    minRole: "viewer",
    scope: "ai:use",
    extraScopes: ["tasks:read"],
    build: async (world) => ({
      url: "/v1/ai/breakdown",
      payload: { taskId: (await world.task()).id },
    }),
  },
  "GET /v1/ai/usage": {
    minRole: "admin",
    scope: "ai:use",
    build: async (world) => ({ url: inWorkspace(world, "/v1/ai/usage") }),
  },
  "GET /v1/ai/budget": {
    minRole: "viewer",
    scope: "ai:use",
    build: async (world) => ({ url: inWorkspace(world, "/v1/ai/budget") }),
  },
  "PUT /v1/ai/budget": {
    minRole: "admin",
    scope: "session",
    build: async (world) => ({
      url: "/v1/ai/budget",
      payload: { scope: "workspace", workspaceId: world.workspaceId, monthlyLimitUsd: 5 },
    }),
  },
  "POST /v1/admin/workspaces/{id}/support-access": {
    minRole: "systemAdmin",
    scope: "session",
    build: async (world) => ({
      url: `/v1/admin/workspaces/${world.workspaceId}/support-access`,
      payload: { reason: "Ticket 4711: the owner cannot see their tasks" },
    }),
  },

  "POST /v1/chat": {
    minRole: "self",
    scope: "ai:use",
    build: async () => ({ url: "/v1/chat", payload: { message: "what's due this week?" } }),
  },
  "GET /v1/conversations": {
    minRole: "self",
    scope: "ai:use",
    build: async () => ({ url: "/v1/conversations" }),
  },
  "GET /v1/conversations/{id}/messages": {
    minRole: "self",
    ownedByCaller: true,
    scope: "ai:use",
    build: async (world) => ({
      url: `/v1/conversations/${(await outsiderChat(world, "show high priority")).conversationId}/messages`,
    }),
  },
  "DELETE /v1/conversations/{id}": {
    minRole: "self",
    ownedByCaller: true,
    scope: "ai:use",
    build: async (world) => ({
      url: `/v1/conversations/${(await outsiderChat(world, "show high priority")).conversationId}`,
    }),
  },
  "POST /v1/chat/approvals/{id}": {
    minRole: "self",
    ownedByCaller: true,
    scope: "ai:use",
    build: async (world) => {
      const title = `Old receipts ${crypto.randomUUID()}`;
      await createTask(world.app, world.users.outsider, { title });
      const answer = await outsiderChat(world, `delete ${title}`);
      if (!answer.pendingApproval) throw new Error("the delete did not wait for approval");
      return { url: `/v1/chat/approvals/${answer.pendingApproval.id}`, payload: { approve: true } };
    },
  },
};

/** A chat turn of the outsider's, expecting 200. */
async function outsiderChat(
  world: World,
  message: string,
): Promise<{ conversationId: string; pendingApproval: { id: string } | null }> {
  const response = await world.app.inject({
    method: "POST",
    url: "/v1/chat",
    headers: world.users.outsider.headers,
    payload: { message },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/**
 * Optional fields the matrix's minimal requests leave out, filled in by the
 * generated input suites so that they are covered too. Each must keep the
 * request valid (both suites check that it succeeds).
 */
export const richer: Record<
  string,
  { payload?: Record<string, unknown>; query?: Record<string, string> }
> = {
  "GET /v1/tasks": { query: { q: "plants", tag: "home", status: "open", sort: "dueAt" } },
  "POST /v1/tasks": {
    payload: { description: "Some words", tags: ["home", "garden"], due: "tomorrow 5pm" },
  },
  "PATCH /v1/tasks/{id}": {
    payload: { description: "Other words", tags: ["work"], recurrence: "every monday" },
  },
  "POST /v1/ai/digest": { payload: { filter: { q: "plants", tag: "home" } } },
  // Resume after an event id the feed could have issued (transaction 1: before any event).
  "GET /v1/events": { query: { lastEventId: "1-00000000-0000-7000-8000-000000000000" } },
  "PATCH /v1/me": { payload: { image: "https://example.com/me.png" } },
  "GET /v1/notifications": { query: { unread: "true", limit: "10" } },
  "POST /v1/notifications/read-all": { payload: { upTo: "01a25000-0000-7000-8000-000000000000" } },
};

/** A user for whom the route's request succeeds. */
export function whoSucceeds(world: World, rule: RouteRule) {
  if (rule.minRole === "self") return world.users.outsider;
  if (rule.minRole === "systemAdmin") return world.users.systemAdmin;
  return world.users[rule.minRole];
}

/** The route's request, with the optional fields of `richer` filled in. */
export async function enrichedRequest(
  world: World,
  key: string,
  rule: RouteRule,
): Promise<SuiteRequest> {
  const request = await rule.build(world);
  const extra = richer[key];
  if (!extra) return request;
  const url = new URL(request.url, "http://suite.invalid");
  for (const [name, value] of Object.entries(extra.query ?? {})) url.searchParams.set(name, value);
  const payload =
    extra.payload === undefined
      ? request.payload
      : { ...(request.payload as Record<string, unknown>), ...extra.payload };
  return { url: `${url.pathname}${url.search}`, payload };
}

/**
 * The generated suites' first check on each route: its enriched request,
 * sent by a user allowed to make it, succeeds. A 400 for a spoiled copy of
 * it then comes from the spoiled value, not from a request that never worked.
 */
export async function expectEnrichedRequestSucceeds(
  app: App,
  world: World,
  route: { key: string; method: Method; rule: RouteRule },
): Promise<void> {
  const request = await enrichedRequest(world, route.key, route.rule);
  const response = await injectOnce(app, {
    method: route.method,
    url: request.url,
    payload: request.payload as never,
    headers: whoSucceeds(world, route.rule).headers,
  });
  expect(response.statusCode, response.body).toBeLessThan(300);
}
