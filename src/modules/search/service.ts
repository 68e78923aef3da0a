import { and, eq, isNull, type SQL } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { DomainError } from "../../platform/http/errors.ts";
import { visibleTo } from "../tasks/access.ts";
import { toTask } from "../tasks/mapping.ts";
import { tasks } from "../tasks/schema.ts";
import { roleIn } from "../workspaces/service.ts";
import type { SearchMode, SearchQuery, SearchResult } from "./contracts.ts";
import type { TaskSearch } from "./engine.ts";
import { keywordMatches, type Match, semanticMatches, tasksOf } from "./queries.ts";

export { requestEmbedding } from "./jobs.ts";

/** What the ledger calls a search query sent for embedding. */
const queryInput = { id: "search-query", version: 1 };

/** Reciprocal rank fusion's constant (Cormack et al.): damps the weight of the top ranks. */
const rrfK = 60;

type QueryVector = { vector: number[]; model: string };

/**
 * Ranks lists by reciprocal rank fusion: each task scores the sum of
 * 1 / (k + rank) over the lists it appears in, so agreement between keyword
 * and semantic search beats a high place in only one of them.
 */
export function fuseByRank(lists: Match[][]): Match[] {
  const fused = new Map<string, Match>();
  for (const list of lists) {
    for (const [index, match] of list.entries()) {
      const entry = fused.get(match.id) ?? { id: match.id, score: 0 };
      entry.score += 1 / (rrfK + index + 1);
      fused.set(match.id, entry);
    }
  }
  // Stable: ties keep the order of the first list (keyword).
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/** pgvector 0.8 added iterative index scans. */
function hasIterativeScan(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 0 || minor >= 8;
}

/** How a search will run: the mode it really gets, and the query's vector for semantic work. */
type Plan = { mode: SearchMode; vector: QueryVector | null; reason: string | null };

const keywordOnly = (reason: string | null): Plan => ({ mode: "keyword", vector: null, reason });

/**
 * Semantic and hybrid searches need the query's vector from the `embed`
 * chain; without one (no pgvector, every model failed, budget used up) the
 * search runs as keyword instead of failing, and says why.
 */
async function plan(ctx: Context, search: TaskSearch | undefined, query: SearchQuery) {
  if (query.mode === "keyword") return keywordOnly(null);
  if (!search) return keywordOnly("semantic search is not set up in this process");
  const { semantic } = search.capabilities;
  if (!semantic.available) return keywordOnly(`semantic search is unavailable: ${semantic.reason}`);
  try {
    const answer = await search.gateway.embed(ctx, {
      values: [query.q],
      input: queryInput,
      userId: actingUser(ctx.actor).userId,
      workspaceId: query.workspaceId ?? null,
    });
    const [vector] = answer.embeddings;
    if (!vector) return keywordOnly("the embedding model returned no vector");
    return { mode: query.mode, vector: { vector, model: answer.model.key }, reason: null };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    ctx.log.warn({ err: error }, "search query could not be embedded; keyword search instead");
    return keywordOnly(`no embedding model answered: ${error.message}`);
  }
}

/**
 * Finds the caller's tasks by words (keyword), by meaning (semantic: nearest
 * embeddings of title + description) or both (hybrid, fused by rank). Only
 * live tasks in workspaces the caller may see; a workspace-bound API key sees
 * its workspace only. The answer's `mode` is what really ran.
 */
export async function searchTasks(ctx: Context, query: SearchQuery): Promise<SearchResult> {
  if (query.workspaceId) await roleIn(ctx, query.workspaceId);
  const search = ctx.services?.search;
  const { mode, vector, reason } = await plan(ctx, search, query);
  const scope = and(
    visibleTo(ctx.actor),
    isNull(tasks.deletedAt),
    query.workspaceId ? eq(tasks.workspaceId, query.workspaceId) : undefined,
    query.status === "all" ? undefined : eq(tasks.status, query.status),
  ) as SQL;
  // Hybrid fuses deeper lists than it returns, so a task ranked lower in one list can rise.
  const depth = mode === "hybrid" ? Math.min(100, query.limit * 3) : query.limit;
  return withTransaction(ctx.db, async (tx) => {
    const lists: Match[][] = [];
    if (mode !== "semantic") {
      const typos = search?.capabilities.typos.available ?? false;
      lists.push(await keywordMatches(tx, { scope, q: query.q, typos, limit: depth }));
    }
    const semantic = search?.capabilities.semantic;
    if (vector && search && semantic?.available) {
      lists.push(
        await semanticMatches(tx, {
          scope,
          ...vector,
          minSimilarity: search.settings.minSimilarity,
          limit: depth,
          iterativeScan: hasIterativeScan(semantic.version),
        }),
      );
    }
    const ranked = (mode === "hybrid" ? fuseByRank(lists) : (lists[0] ?? [])).slice(0, query.limit);
    const rows = await tasksOf(
      tx,
      ranked.map((match) => match.id),
    );
    return {
      data: ranked.flatMap((match) => {
        const row = rows.get(match.id);
        return row ? [{ task: toTask(row), score: match.score }] : [];
      }),
      mode,
      model: vector?.model ?? null,
      reason,
    };
  });
}
