import { describe, expect, it } from "vitest";
import type { Task } from "../src/modules/tasks/contracts.ts";
import { call, createWorkspace, join } from "../src/modules/workspaces/test-helpers.ts";
import { signUp, type TestUser, useTestApp } from "./harness.ts";
import { createCategory, createTask, expectValidationError, getTask } from "./tasks-helpers.ts";

const t = useTestApp();

/** Fields a client must never set through a body, with a value an attacker would send. */
function forged(self: TestUser, workspaceId: string): Record<string, unknown> {
  return {
    role: "owner",
    workspaceId,
    createdBy: self.id,
    ownerId: self.id,
    personal: true,
    userId: self.id,
    inviterId: self.id,
    status: "accepted",
    email: "admin@example.com",
    id: "00000000-0000-7000-8000-000000000000",
    version: 99,
  };
}

type Route = {
  method: "POST" | "PATCH";
  url: string;
  body: Record<string, unknown>;
  /** Fields this route legitimately takes, so they are not tested as forged here. */
  own: string[];
};

describe("mass assignment", () => {
  it("rejects every privileged field on every writable route, with 400 naming it", async () => {
    const owner = await signUp(t.app);
    const attacker = await signUp(t.app);
    const workspace = await createWorkspace(t.app, owner);
    await join(t.app, owner, workspace.id, attacker, "member");
    // The attacker's own things: reaching them is not the point, the forged field is.
    const task = await createTask(t.app, attacker, { title: "Mine", workspaceId: workspace.id });
    const category = await createCategory(t.app, attacker, "Mine");
    const mine = await createWorkspace(t.app, attacker, "Mine");
    const routes: Route[] = [
      { method: "POST", url: "/v1/tasks", body: { title: "x" }, own: ["workspaceId"] },
      { method: "POST", url: "/v1/tasks/quick", body: { text: "x" }, own: ["workspaceId"] },
      { method: "PATCH", url: `/v1/tasks/${task.id}`, body: { title: "x" }, own: ["status"] },
      { method: "POST", url: "/v1/categories", body: { name: "x" }, own: ["workspaceId"] },
      { method: "PATCH", url: `/v1/categories/${category.id}`, body: { name: "x" }, own: [] },
      { method: "POST", url: "/v1/workspaces", body: { name: "x" }, own: [] },
      { method: "PATCH", url: `/v1/workspaces/${mine.id}`, body: { name: "x" }, own: [] },
      {
        method: "PATCH",
        url: `/v1/workspaces/${mine.id}/members/${attacker.id}`,
        body: { role: "owner" },
        own: ["role"],
      },
      {
        method: "POST",
        url: `/v1/workspaces/${mine.id}/invitations`,
        body: { email: "friend@example.com", role: "viewer" },
        own: ["role", "email"],
      },
      {
        method: "POST",
        url: `/v1/workspaces/${mine.id}/transfer`,
        body: { userId: owner.id },
        own: ["userId"],
      },
      { method: "PATCH", url: "/v1/me", body: { name: "x" }, own: [] },
    ];
    for (const route of routes) {
      for (const [field, value] of Object.entries(forged(attacker, workspace.id))) {
        if (route.own.includes(field)) continue;
        const response = await call(t.app, attacker, route.method, route.url, {
          ...route.body,
          [field]: value,
        });
        const problem = expectValidationError(response, field);
        expect(problem.detail, `${route.method} ${route.url} ${field}`).toContain(field);
      }
    }
  });

  it("leaves the resource untouched when a forged field comes along", async () => {
    const owner = await signUp(t.app);
    const task: Task = await createTask(t.app, owner, { title: "Original" });
    const response = await call(t.app, owner, "PATCH", `/v1/tasks/${task.id}`, {
      title: "Changed",
      createdBy: "00000000-0000-7000-8000-000000000000",
    });
    expectValidationError(response, "createdBy");
    expect(await getTask(t.app, owner, task.id)).toEqual(task);
  });
});
