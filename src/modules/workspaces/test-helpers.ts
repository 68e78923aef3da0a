import { expect } from "vitest";
import type { TestUser } from "../../../test/harness.ts";
import type { App } from "../../app.ts";
import type { CreatedInvitation, Member, Workspace } from "./contracts.ts";
import type { InvitableRole, WorkspaceRole } from "./schema.ts";

export type { CreatedInvitation, Invitation, Member, Workspace } from "./contracts.ts";

type Response = Awaited<ReturnType<App["inject"]>>;
type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** One authenticated request; the raw response, for status checks. */
export function call(
  app: App,
  user: TestUser,
  method: Method,
  url: string,
  payload?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return app.inject({
    method,
    url,
    headers: { ...user.headers, ...headers },
    ...(payload ? { payload } : {}),
  });
}

/** POST /v1/workspaces, expecting 201. */
export async function createWorkspace(
  app: App,
  owner: TestUser,
  name = "Team",
): Promise<Workspace> {
  const response = await call(app, owner, "POST", "/v1/workspaces", { name });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Workspace>();
}

/** POST /v1/workspaces/{id}/invitations, expecting 201. */
export async function invite(
  app: App,
  inviter: TestUser,
  workspaceId: string,
  email: string,
  role: InvitableRole = "member",
): Promise<CreatedInvitation> {
  const response = await call(app, inviter, "POST", `/v1/workspaces/${workspaceId}/invitations`, {
    email,
    role,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<CreatedInvitation>();
}

/** POST /v1/invitations/{id}/accept; the raw response. */
export function accept(app: App, user: TestUser, invitationId: string): Promise<Response> {
  return call(app, user, "POST", `/v1/invitations/${invitationId}/accept`);
}

/**
 * Brings `user` into the workspace with `role` the way people really join:
 * invited (by `owner`), then accepting; owners are then promoted by role change.
 */
export async function join(
  app: App,
  owner: TestUser,
  workspaceId: string,
  user: TestUser,
  role: WorkspaceRole,
): Promise<void> {
  const invitation = await invite(
    app,
    owner,
    workspaceId,
    user.email,
    role === "owner" ? "admin" : role,
  );
  const accepted = await accept(app, user, invitation.id);
  expect(accepted.statusCode, accepted.body).toBe(200);
  if (role === "owner") {
    const promoted = await call(
      app,
      owner,
      "PATCH",
      `/v1/workspaces/${workspaceId}/members/${user.id}`,
      {
        role,
      },
    );
    expect(promoted.statusCode, promoted.body).toBe(200);
  }
}

/** GET /v1/workspaces/{id}/members (first 100), expecting 200. */
export async function listMembers(
  app: App,
  user: TestUser,
  workspaceId: string,
): Promise<Member[]> {
  const response = await call(app, user, "GET", `/v1/workspaces/${workspaceId}/members?limit=100`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ data: Member[] }>().data;
}
