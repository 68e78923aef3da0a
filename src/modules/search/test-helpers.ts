import { sql } from "drizzle-orm";
import { expect } from "vitest";
import type { TestClock } from "../../../test/harness.ts";
import { queryString } from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import type { SearchResult } from "./contracts.ts";

type Params = Record<string, string | number>;

/** GET /v1/search; the raw response, for status checks. */
export function searchResponse(app: App, headers: Record<string, string>, params: Params) {
  return app.inject({ method: "GET", url: `/v1/search${queryString(params)}`, headers });
}

/** GET /v1/search, expecting 200. */
export async function search(
  app: App,
  user: { headers: Record<string, string> },
  params: Params,
): Promise<SearchResult> {
  const response = await searchResponse(app, user.headers, params);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<SearchResult>();
}

/** The titles a search found, best first. */
export async function foundTitles(
  app: App,
  user: { headers: Record<string, string> },
  params: Params,
): Promise<string[]> {
  return (await search(app, user, params)).data.map((hit) => hit.task.title);
}

/** Lets every queued embedding come due (the debounce is app time) and drains the queue. */
export async function embedPending(app: App, clock: TestClock): Promise<number> {
  const search = app.services.search;
  if (!search) throw new Error("the app has no search service");
  clock.advance(search.settings.debounceMs + 1);
  return search.worker.drain();
}

export type StoredVector = { model: string; dimension: number; contentHash: string };

/** The vectors stored for a task. */
export async function storedVectors(db: Executor, taskId: string): Promise<StoredVector[]> {
  const result = await db.execute<StoredVector>(sql`
    select model, dimension, content_hash as "contentHash"
    from task_embeddings where task_id = ${taskId} order by model`);
  return result.rows;
}

/** The jobs waiting in the embedding queue. */
export async function queuedJobs(db: Executor): Promise<Array<{ taskId: string }>> {
  const result = await db.execute<{ taskId: string }>(
    sql`select task_id as "taskId" from embedding_jobs order by task_id`,
  );
  return result.rows;
}
