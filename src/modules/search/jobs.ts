import { sql } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { embeddingJobs } from "./schema.ts";

/**
 * Asks for tasks to be embedded again because their title or description
 * changed (or they are new). Runs in the caller's transaction, so the request
 * commits with the change or not at all; the embedding worker picks it up
 * after the debounce. Without semantic search there is nothing to ask for.
 */
export async function requestEmbedding(ctx: Context, taskIds: string[]): Promise<void> {
  const search = ctx.services?.search;
  if (!search?.capabilities.semantic.available || taskIds.length === 0) return;
  const runAfter = new Date(ctx.now().getTime() + search.settings.debounceMs);
  const requestedBy = ctx.actor.type === "system" ? null : actingUser(ctx.actor).userId;
  await ctx.db
    .insert(embeddingJobs)
    .values(taskIds.map((taskId) => ({ taskId, requestedBy, runAfter })))
    .onConflictDoUpdate({
      target: embeddingJobs.taskId,
      set: {
        requestedBy,
        runAfter,
        generation: sql`${embeddingJobs.generation} + 1`,
        attempts: 0,
        lastError: null,
      },
    });
  search.worker.wake(runAfter);
}
