import { createHash } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import { tasks } from "../tasks/schema.ts";

/**
 * The optional half of search: the `vector` extension (pgvector) and the
 * `task_embeddings` table for semantic search, `pg_trgm` for typo-tolerant
 * keyword search. Both extensions exist in embedded PGlite; a Postgres server
 * may lack either. Migrations cannot create what may not exist, so this is
 * set up at start-up when the extension is there (docs/adr/0004).
 */

export type Capability =
  | { available: true; version: string }
  | { available: false; reason: string };
export type SearchCapabilities = { semantic: Capability; typos: Capability };

// Any constant; the same in every Taskpilot process (the migrations use another).
const setupLockKey = 7_266_019_482;

/**
 * The text a task is embedded from, and the hash that says which text a
 * vector belongs to. The hash is computed by the database from the task's
 * current columns, so a vector whose task changed since is recognisably stale.
 */
export function embeddingText(task: { title: string; description: string | null }): string {
  return task.description ? `${task.title}\n\n${task.description}` : task.title;
}

export const contentHash = (): SQL =>
  sql`md5(${tasks.title} || chr(10) || coalesce(${tasks.description}, ''))`;

async function ensureExtension(
  tx: Executor,
  name: "vector" | "pg_trgm",
  installed: Map<string, string | null>,
): Promise<Capability> {
  if (!installed.has(name)) {
    return { available: false, reason: `the ${name} extension is not installed on the server` };
  }
  const version = installed.get(name);
  if (version) return { available: true, version };
  try {
    const created = await withTransaction(tx, async (savepoint) => {
      await savepoint.execute(sql.raw(`create extension if not exists ${name}`));
      return savepoint.execute<{ version: string }>(
        sql`select extversion as version from pg_extension where extname = ${name}`,
      );
    });
    return { available: true, version: created.rows[0]?.version ?? "unknown" };
  } catch (error) {
    return {
      available: false,
      reason: `create extension ${name} failed: ${(error as Error).message}`,
    };
  }
}

const createEmbeddingsTable = sql`
  create table if not exists task_embeddings (
    task_id uuid not null references tasks (id) on delete cascade,
    model text not null,
    dimension integer not null check (dimension between 1 and 16000),
    embedding vector not null check (vector_dims(embedding) = dimension),
    content_hash text not null,
    updated_at timestamptz not null default now(),
    primary key (task_id, model)
  )`;

/**
 * Lets typo matching (`q <% title`) use an index instead of scanning every
 * visible title. On a big existing table the first start builds it once.
 */
const createTitleTrigramIndex = sql`
  create index if not exists tasks_title_trgm_idx on tasks using gin (title gin_trgm_ops)`;

/** Vectors of the same text are reused instead of embedding it again (recurring tasks). */
const createReuseIndex = sql`
  create index if not exists task_embeddings_reuse_idx on task_embeddings (model, content_hash)`;

/**
 * Creates what the database supports, once per process start; idempotent and
 * serialised across instances by an advisory lock. Never throws: whatever
 * fails is reported as unavailable with the reason (for /readyz and logs).
 */
export async function prepareSearchStore(
  db: Executor,
  log: FastifyBaseLogger,
): Promise<SearchCapabilities> {
  try {
    const capabilities = await withTransaction(db, async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${setupLockKey})`);
      const found = await tx.execute<{ name: string; installed_version: string | null }>(
        sql`select name, installed_version from pg_available_extensions
            where name in ('vector', 'pg_trgm')`,
      );
      const installed = new Map(found.rows.map((row) => [row.name, row.installed_version]));
      const typos = await ensureExtension(tx, "pg_trgm", installed);
      if (typos.available) await tx.execute(createTitleTrigramIndex);
      const semantic = await ensureExtension(tx, "vector", installed);
      if (semantic.available) {
        await tx.execute(createEmbeddingsTable);
        await tx.execute(createReuseIndex);
      }
      return { semantic, typos };
    });
    for (const [feature, capability] of Object.entries(capabilities)) {
      if (!capability.available)
        log.warn({ feature, reason: capability.reason }, "search degraded");
    }
    return capabilities;
  } catch (error) {
    const reason = `search setup failed: ${(error as Error).message}`;
    log.error({ err: error }, "search setup failed; keyword search only");
    return { semantic: { available: false, reason }, typos: { available: false, reason } };
  }
}

/** A SQL string literal (for names the planner must see as constants, such as an index predicate). */
export const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** pgvector's text form of a vector. */
export const vectorText = (vector: number[]) => `[${vector.join(",")}]`;

/** HNSW indexes vectors of at most 2,000 dimensions; larger ones are searched exactly. */
const maxIndexedDimensions = 2_000;

/**
 * An HNSW (cosine) index over one model's vectors. A `vector` column of mixed
 * models has no fixed dimension, so each model gets a partial index on its
 * rows, cast to its dimension; queries use the same cast and predicate.
 */
export async function ensureModelIndex(
  db: Executor,
  model: string,
  dimensions: number,
  log: FastifyBaseLogger,
): Promise<void> {
  if (dimensions > maxIndexedDimensions) return;
  const name = `task_embeddings_hnsw_${createHash("sha256").update(`${model}/${dimensions}`).digest("hex").slice(0, 16)}`;
  try {
    await withTransaction(db, async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${setupLockKey})`);
      await tx.execute(
        sql.raw(
          `create index if not exists ${name} on task_embeddings using hnsw ` +
            `((embedding::vector(${dimensions})) vector_cosine_ops) ` +
            `where model = ${literal(model)} and dimension = ${dimensions}`,
        ),
      );
    });
  } catch (error) {
    // Searching stays correct without it (an exact scan), only slower.
    log.warn({ err: error, model, dimensions }, "could not create the HNSW index");
  }
}
