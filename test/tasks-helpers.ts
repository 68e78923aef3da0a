import pg from "pg";
import { expect, vi } from "vitest";
import type { App } from "../src/app.ts";
import type { Activity } from "../src/modules/activity/contracts.ts";
import type { Category } from "../src/modules/categories/contracts.ts";
import type { Task } from "../src/modules/tasks/contracts.ts";
import { useFastTaskRows } from "../src/modules/tasks/rows.ts";
import { timestamptzToIso } from "../src/platform/db/timestamps.ts";
import { type ErrorCode, errorCodes } from "../src/platform/http/errors.ts";
import type { Page } from "../src/platform/http/pagination.ts";
import type { Problem } from "../src/platform/http/problem.ts";
import type { TestUser } from "./harness.ts";

type Response = Awaited<ReturnType<App["inject"]>>;
type Query = Record<string, string | number | boolean>;

export type { Activity, Category, Page, Problem, Task };

/** The query string for `params`, with a leading "?" when there is any. */
export function queryString(params: Query = {}): string {
  const search = new URLSearchParams(
    Object.entries(params).map(([key, value]): [string, string] => [key, String(value)]),
  ).toString();
  return search ? `?${search}` : "";
}

/** POST /v1/tasks, expecting 201. */
export async function createTask(
  app: App,
  user: TestUser,
  body: Record<string, unknown>,
): Promise<Task> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/tasks",
    headers: user.headers,
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Task>();
}

/** Several tasks, created one after the other with the given titles. */
export async function createTasks(
  app: App,
  user: TestUser,
  titles: string[],
  extra: Record<string, unknown> = {},
): Promise<Task[]> {
  const created: Task[] = [];
  for (const title of titles) created.push(await createTask(app, user, { title, ...extra }));
  return created;
}

/** GET /v1/tasks/{id}, expecting 200. */
export async function getTask(app: App, user: TestUser, id: string): Promise<Task> {
  const response = await app.inject({
    method: "GET",
    url: `/v1/tasks/${id}`,
    headers: user.headers,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Task>();
}

/** GET /v1/tasks with a query; the raw response, for status checks. */
export function listResponse(app: App, user: TestUser, params: Query = {}): Promise<Response> {
  return app.inject({
    method: "GET",
    url: `/v1/tasks${queryString(params)}`,
    headers: user.headers,
  });
}

/** GET /v1/tasks, expecting 200. */
export async function listTasks(app: App, user: TestUser, params: Query = {}): Promise<Page<Task>> {
  const response = await listResponse(app, user, params);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Page<Task>>();
}

/** The titles of the first page of GET /v1/tasks. */
export async function listTitles(app: App, user: TestUser, params: Query = {}): Promise<string[]> {
  return (await listTasks(app, user, { limit: 100, ...params })).data.map((task) => task.title);
}

/** Follows nextCursor until the end; `between` runs after every page but the last. */
export async function walkPages(
  app: App,
  user: TestUser,
  params: Query,
  between: (pageIndex: number) => Promise<void> = async () => {},
): Promise<Task[]> {
  const seen: Task[] = [];
  let cursor: string | null = null;
  for (let pageIndex = 0; pageIndex < 100; pageIndex++) {
    const page = await listTasks(app, user, { ...params, ...(cursor ? { cursor } : {}) });
    seen.push(...page.data);
    cursor = page.nextCursor;
    if (!cursor) return seen;
    await between(pageIndex);
  }
  throw new Error("pagination did not end after 100 pages");
}

/** POST /v1/tasks/{id}/{action} (complete, reopen, restore). */
export function taskAction(
  app: App,
  user: TestUser,
  id: string,
  action: "complete" | "reopen" | "restore",
  headers: Record<string, string> = {},
): Promise<Response> {
  return app.inject({
    method: "POST",
    url: `/v1/tasks/${id}/${action}`,
    headers: { ...user.headers, ...headers },
  });
}

/** PATCH /v1/tasks/{id}; the raw response. */
export function patchTask(
  app: App,
  user: TestUser,
  id: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return app.inject({
    method: "PATCH",
    url: `/v1/tasks/${id}`,
    headers: { ...user.headers, ...headers },
    payload: body,
  });
}

/** DELETE /v1/tasks/{id}; the raw response. */
export function deleteTask(
  app: App,
  user: TestUser,
  id: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return app.inject({
    method: "DELETE",
    url: `/v1/tasks/${id}`,
    headers: { ...user.headers, ...headers },
  });
}

/** GET /v1/tasks/{id}/activity (newest first), expecting 200. */
export async function taskActivity(app: App, user: TestUser, id: string): Promise<Activity[]> {
  const response = await app.inject({
    method: "GET",
    url: `/v1/tasks/${id}/activity?limit=100`,
    headers: user.headers,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Page<Activity>>().data;
}

/** POST /v1/categories, expecting 201. */
export async function createCategory(
  app: App,
  user: TestUser,
  name: string,
  workspaceId?: string,
): Promise<Category> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/categories",
    headers: user.headers,
    payload: { name, workspaceId },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Category>();
}

/** PATCH /v1/me {timezone}, expecting 200. */
export async function setTimezone(app: App, user: TestUser, timezone: string): Promise<void> {
  const response = await app.inject({
    method: "PATCH",
    url: "/v1/me",
    headers: user.headers,
    payload: { timezone },
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** The user's personal workspace id, from GET /v1/me. */
export async function personalWorkspaceId(app: App, user: TestUser): Promise<string> {
  const response = await app.inject({ method: "GET", url: "/v1/me", headers: user.headers });
  expect(response.statusCode, response.body).toBe(200);
  const [workspace] = response.json<{ workspaces: Array<{ id: string }> }>().workspaces;
  if (!workspace) throw new Error("the user has no workspace");
  return workspace.id;
}

/** Status codes of requests sent at the same moment, sorted: which one wins is not promised. */
export function sortedStatuses(answers: Array<{ statusCode: number }>): number[] {
  return answers.map((answer) => answer.statusCode).sort();
}

/** Their bodies, one per line, for the assertion message when the statuses are not as expected. */
export function allBodies(answers: Array<{ body: string }>): string {
  return answers.map((answer) => answer.body).join("\n");
}

/** Asserts a problem+json answer with `status` and `code`; returns the problem. */
export function expectProblem(response: Response, status: number, code: string): Problem {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json<Problem>();
  expect(problem).toMatchObject({
    type: `/docs/errors#${code}`,
    title: errorCodes[code as ErrorCode].title,
    status,
    code,
    detail: expect.any(String),
    requestId: response.headers["x-request-id"],
  });
  return problem;
}

/** Asserts 400 validation_failed with an errors[] entry at `path` (or below it). */
export function expectValidationError(response: Response, path: string): Problem {
  const problem = expectProblem(response, 400, "validation_failed");
  const paths = (problem.errors ?? []).map((entry) => entry.path);
  expect(
    paths.some((candidate) => candidate === path || candidate.startsWith(`${path}.`)),
    `expected an error at "${path}", got ${JSON.stringify(paths)}`,
  ).toBe(true);
  return problem;
}

/** The Postgres error (code, constraint) a rejected Drizzle query carried. */
export async function postgresErrorOf(
  query: PromiseLike<unknown>,
): Promise<{ code?: string; constraint?: string }> {
  try {
    await query;
  } catch (error) {
    const cause = error instanceof Error && error.cause ? error.cause : error;
    return cause as { code?: string; constraint?: string };
  }
  throw new Error("the query was expected to fail");
}

/**
 * Runs `read` with the hot reads' fast path (tasks/rows.ts) on, then off
 * (Drizzle's row mapping), and returns both answers to compare. Fails unless
 * the fast path really served the first run: `count` statements named as
 * `named` accepts went to the pool as array rows with ISO timestamps
 * (Drizzle's own queries also ask for arrays, but parse timestamps itself).
 */
export async function withAndWithoutFastRows<T>(
  pool: pg.Pool,
  read: () => Promise<T>,
  expected: { named: (name: string) => boolean; count: number },
): Promise<{ fast: T; drizzle: T }> {
  const query = vi.spyOn(pool, "query");
  try {
    const fast = await read();
    const fastQueries = query.mock.calls.filter(([config]) => {
      const sent = config as unknown as {
        name?: string;
        rowMode?: string;
        types?: { getTypeParser?: (oid: number) => unknown };
      };
      return (
        sent.name !== undefined &&
        expected.named(sent.name) &&
        sent.rowMode === "array" &&
        sent.types?.getTypeParser?.(pg.types.builtins.TIMESTAMPTZ) === timestamptzToIso
      );
    });
    expect(fastQueries).toHaveLength(expected.count);
    useFastTaskRows(false);
    try {
      return { fast, drizzle: await read() };
    } finally {
      useFastTaskRows(true);
    }
  } finally {
    query.mockRestore();
  }
}

/**
 * Tasks that use every column a read maps: one with every field set (a
 * category, tags, a due time with milliseconds, a weekly recurrence), its
 * sub-task, and an all-day task; for tests that compare two ways of reading.
 */
export async function createTaskVariety(app: App, user: TestUser) {
  const category = await createCategory(app, user, "Work");
  const full = await createTask(app, user, {
    title: "Plan the launch",
    description: "With everyone",
    priority: "urgent",
    tags: ["Launch", "q2"],
    dueAt: "2026-03-05T09:30:00.123Z",
    categoryId: category.id,
    recurrence: "every monday",
  });
  const child = await createTask(app, user, { title: "Book the room", parentId: full.id });
  const allDay = await createTask(app, user, { title: "All day", due: "March 6" });
  return { full, child, allDay };
}
