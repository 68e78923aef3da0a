import { expect } from "vitest";
import type { TestUser } from "../../../test/harness.ts";
import type { App } from "../../app.ts";
import type { Task } from "../tasks/contracts.ts";
import type { Category } from "./contracts.ts";

export type Page<T> = { data: T[]; nextCursor: string | null };
export type Problem = {
  code: string;
  status: number;
  errors?: Array<{ path: string; message: string }>;
};

export function createCategory(app: App, user: TestUser, payload: Record<string, unknown>) {
  return app.inject({ method: "POST", url: "/v1/categories", headers: user.headers, payload });
}

export async function newCategory(app: App, user: TestUser, name = "Home"): Promise<Category> {
  const response = await createCategory(app, user, { name });
  expect(response.statusCode).toBe(201);
  return response.json<Category>();
}

export async function newTask(
  app: App,
  user: TestUser,
  payload: Record<string, unknown>,
): Promise<Task> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/tasks",
    headers: user.headers,
    payload,
  });
  expect(response.statusCode).toBe(201);
  return response.json<Task>();
}

export function fieldPaths(body: Problem): string[] {
  return (body.errors ?? []).map((entry) => entry.path);
}
