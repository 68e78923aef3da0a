import { desc, inArray, or, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../../platform/db/transaction.ts";
import { type TaskRow, taskColumns } from "../tasks/access.ts";
import { tasks } from "../tasks/schema.ts";
import { contentHash, literal, vectorText } from "./store.ts";

/** A task id with its score in one ranked list. */
export type Match = { id: string; score: number };

/**
 * Word similarity (pg_trgm: the share of the query's trigrams found in the
 * title) from which a title counts as a typo of the query: "grocries" finds
 * "Buy groceries" (0.58), "pasport" finds "Renew passport" (0.7). Below it, a
 * title sharing only one word of a two-word query (~0.5) is not a match.
 * Short words with swapped letters ("dentsit": 0.5) stay out of reach.
 */
const typoThreshold = 0.55;

/**
 * Full text (the tasks' generated tsvector, English stems, all words must
 * match) plus, with pg_trgm, titles within typo distance of the query.
 * Score: text rank (normalised to 0..1) + title word similarity (0..1).
 */
export async function keywordMatches(
  tx: Executor,
  input: { scope: SQL; q: string; typos: boolean; limit: number },
): Promise<Match[]> {
  const query = sql`websearch_to_tsquery('english', ${input.q})`;
  const fullText = sql`${tasks.search} @@ ${query}`;
  let score = sql<number>`ts_rank_cd(${tasks.search}, ${query}, 32)::float8`;
  let matches = fullText;
  if (input.typos) {
    await tx.execute(sql.raw(`set local pg_trgm.word_similarity_threshold = ${typoThreshold}`));
    score = sql<number>`(ts_rank_cd(${tasks.search}, ${query}, 32) + word_similarity(${input.q}, ${tasks.title}))::float8`;
    matches = or(fullText, sql`${input.q} <% ${tasks.title}`) as SQL;
  }
  return tx
    .select({ id: tasks.id, score })
    .from(tasks)
    .where(sql`${input.scope} and ${matches}`)
    .orderBy(desc(score), desc(tasks.id))
    .limit(input.limit);
}

/**
 * The nearest vectors of one model to the query's, among tasks in scope
 * whose vector is of their current text (a task edited since it was embedded
 * is left out until it is embedded again, never matched by its old text).
 * Score: cosine similarity. The model and dimension are literals so the
 * planner can use that model's partial HNSW index (store.ts).
 */
export async function semanticMatches(
  tx: Executor,
  input: {
    scope: SQL;
    vector: number[];
    model: string;
    minSimilarity: number;
    limit: number;
    iterativeScan: boolean;
  },
): Promise<Match[]> {
  const dimensions = sql.raw(String(input.vector.length));
  // HNSW returns at most ef_search candidates (default 40) before filtering.
  await tx.execute(sql.raw(`set local hnsw.ef_search = ${Math.max(40, input.limit)}`));
  // pgvector 0.8+: keep scanning when the visibility filter drops candidates.
  if (input.iterativeScan) await tx.execute(sql`set local hnsw.iterative_scan = relaxed_order`);
  const distance = sql`(e.embedding::vector(${dimensions}) <=> ${vectorText(input.vector)}::vector(${dimensions}))`;
  const result = await tx.execute<{ id: string; distance: number }>(sql`
    select ${tasks.id} as id, ${distance}::float8 as distance
    from task_embeddings e join ${tasks} on ${tasks.id} = e.task_id
    where e.model = ${sql.raw(literal(input.model))} and e.dimension = ${dimensions}
      and ${input.scope} and e.content_hash = ${contentHash()}
    order by ${distance}
    limit ${input.limit}`);
  return result.rows
    .map((row) => ({ id: row.id, score: 1 - Number(row.distance) }))
    .filter((match) => match.score >= input.minSimilarity)
    .sort((a, b) => b.score - a.score);
}

/** The tasks of the matches, in the matches' order (a task deleted meanwhile drops out). */
export async function tasksOf(tx: Executor, ids: string[]): Promise<Map<string, TaskRow>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.select(taskColumns).from(tasks).where(inArray(tasks.id, ids));
  return new Map(rows.map((row) => [row.id, row]));
}
