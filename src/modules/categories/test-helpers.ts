import { expect } from "vitest";
import type { TestUser } from "../../../test/harness.ts";
import type { Problem } from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";
import type { Category } from "./contracts.ts";

export type { Page, Problem } from "../../../test/tasks-helpers.ts";
export { createTask as newTask } from "../../../test/tasks-helpers.ts";

export function createCategory(app: App, user: TestUser, payload: Record<string, unknown>) {
  return app.inject({ method: "POST", url: "/v1/categories", headers: user.headers, payload });
}

export async function newCategory(app: App, user: TestUser, name = "Home"): Promise<Category> {
  const response = await createCategory(app, user, { name });
  expect(response.statusCode).toBe(201);
  return response.json<Category>();
}

export function fieldPaths(body: Problem): string[] {
  return (body.errors ?? []).map((entry) => entry.path);
}
