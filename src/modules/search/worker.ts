import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { v7 as uuidv7 } from "uuid";
import type { Context } from "../../platform/context.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import type { EmbedAnswer } from "../ai/embedding.ts";
import type { AiGateway } from "../ai/gateway.ts";
import { tasks } from "../tasks/schema.ts";
import { embeddingJobs } from "./schema.ts";
import type { SearchSettings } from "./settings.ts";
import { contentHash, embeddingText, ensureModelIndex, vectorText } from "./store.ts";

export type WorkerDeps = {
  db: Executor;
  gateway: AiGateway;
  now: () => Date;
  log: FastifyBaseLogger;
  settings: SearchSettings;
};

/** What the ledger calls the texts the worker embeds. */
export const taskTextInput = { id: "task-text", version: 1 };

type Claim = { taskId: string; requestedBy: string | null; generation: number; attempts: number };
type TaskText = { id: string; workspaceId: string; text: string; hash: string };

/**
 * Drains `embedding_jobs` in the background: claims due rows (FOR UPDATE
 * SKIP LOCKED, with a lease, so instances share the queue), embeds the live
 * tasks' current text through the AI layer's `embed` chain, and stores each
 * vector only if the task's text is still the one embedded. It sleeps until
 * the next known due time (an enqueue in this process wakes it) or a slow
 * poll for jobs from other instances and restarts, and now and then sweeps
 * for live tasks without a fresh vector (tasks older than the feature, jobs
 * that gave up).
 *
 * Everything runs one step at a time: the timer and direct calls (tests,
 * which move the clock and then `drain()`) queue behind each other.
 */
export class EmbeddingWorker {
  private readonly deps: WorkerDeps;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();
  private readonly indexed = new Set<string>();
  private lastSweep = Number.NEGATIVE_INFINITY;
  private started = false;

  constructor(deps: WorkerDeps) {
    this.deps = deps;
  }

  start(): void {
    this.started = true;
    this.schedule(0);
  }

  /** An enqueue in this process: be awake when its debounce ends (if running in the background). */
  wake(at: Date): void {
    if (!this.started) return;
    this.schedule(Math.max(0, at.getTime() - this.deps.now().getTime()));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.queue.catch(() => {});
  }

  /** Embeds every task whose job is due now; returns how many jobs were done. */
  drain(): Promise<number> {
    return this.exclusive(async () => {
      let done = 0;
      for (;;) {
        const handled = await this.drainBatch();
        done += handled;
        if (handled === 0 || this.stopping.signal.aborted) return done;
      }
    });
  }

  /** Queues jobs for live tasks that have no vector of their current text; returns how many. */
  sweep(): Promise<number> {
    return this.exclusive(async () => {
      const { settings, now } = this.deps;
      this.lastSweep = now().getTime();
      const result = await this.deps.db.execute(sql`
        insert into ${embeddingJobs} (task_id, run_after)
        select ${tasks.id}, ${now()} from ${tasks}
        where ${tasks.deletedAt} is null
          and not exists (
            select 1 from task_embeddings e
            where e.task_id = ${tasks.id} and e.content_hash = ${contentHash()})
        limit ${settings.sweepLimit}
        on conflict (task_id) do nothing`);
      return result.rowCount ?? 0;
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private schedule(delayMs: number): void {
    if (this.stopping.signal.aborted) return;
    const at = Date.now() + delayMs;
    if (this.timer && at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    try {
      if (this.deps.now().getTime() - this.lastSweep >= this.deps.settings.sweepIntervalMs) {
        await this.sweep();
      }
      await this.drain();
    } catch (error) {
      this.deps.log.error({ err: error }, "embedding worker failed; retrying later");
    }
    this.schedule(this.deps.settings.idlePollMs);
  }

  private async drainBatch(): Promise<number> {
    const claims = await this.claim();
    if (claims.length === 0) return 0;
    const texts = await this.liveTexts(claims.map((claim) => claim.taskId));
    const reused = await this.reuseVectors(texts);
    const byTask = new Map(
      texts.filter((task) => !reused.has(task.id)).map((task) => [task.id, task]),
    );
    const ctx = this.context();
    // One embed call per payer: the ledger and budgets charge the user who
    // changed the tasks, in the tasks' workspace.
    const groups = new Map<string, { claims: Claim[]; tasks: TaskText[] }>();
    for (const claim of claims) {
      const task = byTask.get(claim.taskId);
      if (!task) continue; // deleted since: nothing to embed
      const key = `${task.workspaceId}/${claim.requestedBy ?? ""}`;
      const group = groups.get(key) ?? { claims: [], tasks: [] };
      group.claims.push(claim);
      group.tasks.push(task);
      groups.set(key, group);
    }
    const failed = new Set<string>();
    for (const group of groups.values()) {
      try {
        await this.embedGroup(ctx, group.claims[0]?.requestedBy ?? null, group.tasks);
      } catch (error) {
        if (this.stopping.signal.aborted) {
          // Shutting down: hand the unfinished jobs back instead of leaving them leased.
          await this.release(claims.filter((claim) => !failed.has(claim.taskId)));
          return 0;
        }
        await this.retryLater(group.claims, error);
        for (const claim of group.claims) failed.add(claim.taskId);
      }
    }
    await this.finish(claims.filter((claim) => !failed.has(claim.taskId)));
    return claims.length;
  }

  private async claim(): Promise<Claim[]> {
    const { db, now, settings } = this.deps;
    const at = now();
    const due = db
      .select({ taskId: embeddingJobs.taskId })
      .from(embeddingJobs)
      .where(
        and(
          lte(embeddingJobs.runAfter, at),
          or(isNull(embeddingJobs.lockedUntil), lte(embeddingJobs.lockedUntil, at)),
        ),
      )
      .orderBy(embeddingJobs.runAfter)
      .limit(settings.batchSize)
      .for("update", { skipLocked: true });
    return db
      .update(embeddingJobs)
      .set({
        lockedUntil: new Date(at.getTime() + settings.leaseMs),
        attempts: sql`${embeddingJobs.attempts} + 1`,
      })
      .where(inArray(embeddingJobs.taskId, due))
      .returning({
        taskId: embeddingJobs.taskId,
        requestedBy: embeddingJobs.requestedBy,
        generation: embeddingJobs.generation,
        attempts: embeddingJobs.attempts,
      });
  }

  private async liveTexts(ids: string[]): Promise<TaskText[]> {
    const rows = await this.deps.db
      .select({
        id: tasks.id,
        workspaceId: tasks.workspaceId,
        title: tasks.title,
        description: tasks.description,
        hash: sql<string>`${contentHash()}`,
      })
      .from(tasks)
      .where(and(inArray(tasks.id, ids), isNull(tasks.deletedAt)));
    return rows.map((row) => ({ ...row, text: embeddingText(row) }));
  }

  /**
   * Copies the vector of another task with the same text (a recurring task's
   * next occurrence, a duplicate) instead of calling the model again; only
   * from the chain's first model, the one searches normally use.
   */
  private async reuseVectors(texts: TaskText[]): Promise<Set<string>> {
    const primary = this.deps.gateway.settings.routes.embed[0];
    if (!primary || texts.length === 0) return new Set();
    const { db, now } = this.deps;
    const ids = texts.map((task) => task.id);
    const copied = await db.execute<{ task_id: string }>(sql`
      insert into task_embeddings (task_id, model, dimension, embedding, content_hash, updated_at)
      select ${tasks.id}, e.model, e.dimension, e.embedding, e.content_hash, ${now()}
      from ${tasks} cross join lateral (
        select * from task_embeddings e
        where e.model = ${primary.key} and e.content_hash = ${contentHash()}
        limit 1) e
      where ${inArray(tasks.id, ids)}
      on conflict (task_id, model) do update set
        dimension = excluded.dimension, embedding = excluded.embedding,
        content_hash = excluded.content_hash, updated_at = excluded.updated_at
      returning task_id`);
    const done = new Set(copied.rows.map((row) => row.task_id));
    for (const task of texts) if (done.has(task.id)) await this.dropStale(task.id);
    return done;
  }

  private context(): Context {
    return {
      actor: { type: "system", name: "embedding-worker" },
      db: this.deps.db,
      requestId: `embedding-worker:${uuidv7()}`,
      now: this.deps.now,
      log: this.deps.log,
    };
  }

  private async embedGroup(ctx: Context, userId: string | null, group: TaskText[]) {
    const answer = await this.deps.gateway.embed(ctx, {
      values: group.map((task) => task.text),
      input: taskTextInput,
      userId,
      workspaceId: group[0]?.workspaceId ?? null,
      signal: this.stopping.signal,
    });
    await this.ensureIndex(answer);
    for (const [index, task] of group.entries()) {
      const vector = answer.embeddings[index];
      if (vector) await this.store(task, answer, vector);
    }
  }

  private async ensureIndex(answer: EmbedAnswer) {
    const key = `${answer.model.key}/${answer.dimensions}`;
    if (this.indexed.has(key)) return;
    await ensureModelIndex(this.deps.db, answer.model.key, answer.dimensions, this.deps.log);
    this.indexed.add(key);
  }

  /**
   * Stores the vector only if the task still has the text that was embedded
   * (an edit during the call leaves its own job behind), and drops the
   * task's vectors of older texts.
   */
  private async store(task: TaskText, answer: EmbedAnswer, vector: number[]) {
    const { db, now } = this.deps;
    await db.execute(sql`
      insert into task_embeddings (task_id, model, dimension, embedding, content_hash, updated_at)
      select ${tasks.id}, ${answer.model.key}, ${answer.dimensions},
        ${vectorText(vector)}::vector, ${task.hash}, ${now()}
      from ${tasks}
      where ${tasks.id} = ${task.id} and ${contentHash()} = ${task.hash}
      on conflict (task_id, model) do update set
        dimension = excluded.dimension, embedding = excluded.embedding,
        content_hash = excluded.content_hash, updated_at = excluded.updated_at`);
    await this.dropStale(task.id);
  }

  /** Vectors of a task's earlier texts are never used again. */
  private async dropStale(taskId: string) {
    await this.deps.db.execute(sql`
      delete from task_embeddings
      where task_id = ${taskId}
        and content_hash <> (select ${contentHash()} from ${tasks} where ${tasks.id} = ${taskId})`);
  }

  /** Done: the job goes unless a newer edit came in meanwhile; that one stays, unlocked. */
  private async finish(claims: Claim[]) {
    const { db } = this.deps;
    for (const claim of claims) {
      await db
        .delete(embeddingJobs)
        .where(
          and(
            eq(embeddingJobs.taskId, claim.taskId),
            eq(embeddingJobs.generation, claim.generation),
          ),
        );
    }
    await this.release(claims);
  }

  private async release(claims: Claim[]) {
    if (claims.length === 0) return;
    await this.deps.db
      .update(embeddingJobs)
      .set({ lockedUntil: null })
      .where(
        inArray(
          embeddingJobs.taskId,
          claims.map((claim) => claim.taskId),
        ),
      );
  }

  /** Backs off exponentially; after `maxAttempts` the job is dropped (the sweep brings it back). */
  private async retryLater(claims: Claim[], error: unknown) {
    const { db, now, settings, log } = this.deps;
    const message = error instanceof Error ? error.message : String(error);
    log.warn({ err: error, tasks: claims.length }, "embedding failed; will retry");
    for (const claim of claims) {
      if (claim.attempts >= settings.maxAttempts) {
        await db.delete(embeddingJobs).where(eq(embeddingJobs.taskId, claim.taskId));
        log.error({ taskId: claim.taskId, error: message }, "embedding gave up after retries");
        continue;
      }
      const backoffMs = Math.min(settings.retryBaseMs * 2 ** (claim.attempts - 1), 600_000);
      await db
        .update(embeddingJobs)
        .set({
          lockedUntil: null,
          runAfter: new Date(now().getTime() + backoffMs),
          lastError: message.slice(0, 500),
        })
        .where(eq(embeddingJobs.taskId, claim.taskId));
    }
  }
}
