import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";
import { tasks } from "../tasks/schema.ts";

/**
 * Tasks whose text must be (re-)embedded: an outbox that the task verbs fill
 * in the same transaction as the change, and that the embedding worker
 * drains. One row per task, so a burst of edits is embedded once: each edit
 * moves `runAfter` (the debounce) and bumps `generation`, so a worker that
 * claimed an older generation leaves the row for the newer edit. Workers claim rows with FOR UPDATE SKIP LOCKED and a lease
 * (`lockedUntil`), so several instances share the queue and a crashed one's
 * rows come back. The rows survive restarts.
 *
 * The vectors themselves live in `task_embeddings`, which exists only where
 * the `vector` extension does and is therefore created at start-up, outside
 * this schema (store.ts, docs/adr/0004-optional-pgvector.md).
 */
export const embeddingJobs = pgTable(
  "embedding_jobs",
  {
    taskId: uuid("task_id")
      .primaryKey()
      .references(() => tasks.id, { onDelete: "cascade" }),
    /** Who changed the task: their AI budget pays for the call (null: system work). */
    requestedBy: uuid("requested_by").references(() => user.id, { onDelete: "set null" }),
    generation: integer("generation").notNull().default(1),
    runAfter: timestamp("run_after", { withTimezone: true }).notNull(),
    lockedUntil: timestamp("locked_until", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (table) => [
    index("embedding_jobs_due_idx").on(table.runAfter),
    check("embedding_jobs_counters_valid", sql`${table.attempts} >= 0 and ${table.generation} > 0`),
  ],
);
