/**
 * The raw-SQL baseline: for each scenario, the statements the API issues for
 * one request (authentication: nothing for a token and user in the app's
 * caches, else better-auth's session and user lookups and the actor's user
 * row; then the service's queries, in the same transactions), sent straight through `pg`
 * with the same parameters. `run.ts` checks the statement texts against a trace of
 * the real API, so a change in src that adds a query shows up as a mismatch.
 * The reads and the authentication are exported for the HTTP floor (floor.ts).
 */
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { listStatementName } from "../src/modules/tasks/list.ts";
import {
  createInput,
  type LoadUser,
  listPriorityRanks,
  listUsesPriority,
  pickTask,
  pickUser,
  type ScenarioName,
  updateInput,
  usersFor,
} from "./scenarios.ts";
import { concatSamples, type LatencySummary, summarize } from "./stats.ts";

const taskColumns = [
  "id",
  "workspace_id",
  "category_id",
  "parent_id",
  "created_by",
  "assignee_id",
  "title",
  "description",
  "status",
  "priority",
  "priority_rank",
  "tags",
  "due_at",
  "all_day",
  "recurrence",
  "completed_at",
  "next_occurrence_id",
  "position",
  "version",
  "deleted_at",
  "created_at",
  "updated_at",
];
const bare = taskColumns.map((column) => `"${column}"`).join(", ");
const qualified = taskColumns.map((column) => `"tasks"."${column}"`).join(", ");
const pageColumns = taskColumns.map((column) => `"page"."${column}"`).join(", ");
/** The list statement: one page per workspace (lateral), merged. `n` is the first limit's parameter. */
const listPage = (filters: string, n: number) =>
  `select ${pageColumns} from "member" cross join lateral (select ${bare} from "tasks" where ("tasks"."workspace_id" = "member"."organization_id" and "tasks"."deleted_at" is null and "tasks"."status" = $1${filters}) order by "tasks"."due_at" asc nulls last, "tasks"."id" asc limit $${n}) "page" where "member"."user_id" = $${n + 1} order by "page"."due_at" asc nulls last, "page"."id" asc limit $${n + 2}`;

/** Statement texts exactly as Drizzle and better-auth's Drizzle adapter render them. */
export const statements = {
  session: `select "id", "expires_at", "token", "ip_address", "user_agent", "user_id", "created_at", "updated_at", "impersonated_by" from "session" where "session"."token" = $1`,
  user: `select "id", "name", "email", "email_verified", "image", "timezone", "created_at", "updated_at", "role", "banned", "ban_reason", "ban_expires", "two_factor_enabled" from "user" where "user"."id" = $1`,
  cachedUser: `select "id", "name", "email", "timezone", "banned", "ban_expires" from "user" where "user"."id" = $1`,
  list: listPage("", 2),
  listByPriority: listPage(
    ` and ("tasks"."priority_rank" >= $2 and "tasks"."priority_rank" <= $3)`,
    4,
  ),
  visibleTask: `select ${qualified}, "member"."role" from "tasks" inner join "member" on ("member"."organization_id" = "tasks"."workspace_id" and "member"."user_id" = $1) where ("tasks"."id" = $2 and "tasks"."deleted_at" is null)`,
  personalWorkspace: `select "id" from "organization" where "organization"."personal_owner_id" = $1`,
  role: `select "role" from "member" where ("member"."organization_id" = $1 and "member"."user_id" = $2)`,
  insertTask: `insert into "tasks" ("id", "workspace_id", "category_id", "parent_id", "created_by", "assignee_id", "title", "description", "status", "priority", "tags", "due_at", "all_day", "recurrence", "completed_at", "next_occurrence_id", "position", "version", "deleted_at", "created_at", "updated_at") values ($1, $2, $3, $4, $5, $6, $7, $8, default, $9, $10, $11, $12, $13, default, default, $14, default, default, $15, $16) returning ${bare}`,
  insertActivity: `insert into "activity_events" ("id", "workspace_id", "actor_type", "actor_id", "type", "entity_type", "entity_id", "entity_title", "changes", "created_at") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  embeddingJob: `insert into "embedding_jobs" ("task_id", "requested_by", "generation", "run_after", "locked_until", "attempts", "last_error") values ($1, $2, default, $3, default, default, default) on conflict ("task_id") do update set "requested_by" = $4, "generation" = "embedding_jobs"."generation" + 1, "run_after" = $5, "attempts" = $6, "last_error" = $7`,
  updateTask: `update "tasks" set "title" = $1, "priority" = $2, "version" = "tasks"."version" + 1, "updated_at" = $3 where ("tasks"."id" = $4 and "tasks"."version" = $5) returning ${bare}`,
  memberships: `select "organization"."id", "organization"."name", "member"."role" from "member" inner join "organization" on "organization"."id" = "member"."organization_id" where "member"."user_id" = $1 order by "organization"."created_at" asc, "organization"."id" asc`,
  activity: `select "activity_events"."id", "activity_events"."workspace_id", "activity_events"."actor_type", "activity_events"."actor_id", "activity_events"."type", "activity_events"."entity_type", "activity_events"."entity_id", "activity_events"."entity_title", "activity_events"."changes", "activity_events"."created_at", "user"."name" from "activity_events" left join "user" on "user"."id" = "activity_events"."actor_id" where "activity_events"."actor_id" = $1 order by "activity_events"."created_at" desc, "activity_events"."id" desc limit $2`,
  stats: `select count(*) filter (where "tasks"."status" = $1), count(*) filter (where ("tasks"."status" = $2 and "tasks"."due_at" < $3)), count(*) filter (where ("tasks"."status" = $4 and "tasks"."due_at" >= $5 and "tasks"."due_at" <= $6)), count(*) filter (where ("tasks"."status" = $7 and "tasks"."completed_at" >= $8)) from "tasks" where ("tasks"."workspace_id" in (select "member"."organization_id" from "member" where "member"."user_id" = $9) and "tasks"."deleted_at" is null and ("tasks"."assignee_id" = $10 or ("tasks"."assignee_id" is null and "tasks"."created_by" = $11)))`,
};

type TaskRow = { id: string; title: string; version: number; workspace_id: string };

class BaselineError extends Error {}

/** The token names no live session (or its user is gone): the app answers 401. */
export class UnknownTokenError extends BaselineError {}

function first<T extends pg.QueryResultRow>(result: pg.QueryResult<T>, what: string): T {
  const row = result.rows[0];
  if (row === undefined) throw new BaselineError(`${what}: no row`);
  return row;
}

function known<T extends pg.QueryResultRow>(result: pg.QueryResult<T>, what: string): T {
  const row = result.rows[0];
  if (row === undefined) throw new UnknownTokenError(`${what}: no row`);
  return row;
}

/**
 * The app's authentication caches (src/platform/auth/session-cache.ts and
 * user-cache.ts): for `sessionTtlMs` after better-auth recognised a bearer
 * token the app skips the session check, and for `userTtlMs` after reading a
 * user row it skips that read. Nothing changes users or sessions during a
 * run, so no invalidation arrives; the baseline keeps the same caches so it
 * sends the same SQL.
 */
export class BaselineSessionCache {
  readonly #sessions = new Map<string, { userId: string; validUntil: number }>();
  readonly #users = new Map<string, number>();
  readonly sessionTtlMs: number;
  readonly userTtlMs: number;

  constructor(sessionTtlMs: number, userTtlMs: number) {
    this.sessionTtlMs = sessionTtlMs;
    this.userTtlMs = userTtlMs;
  }

  get(token: string, now: number): string | undefined {
    const entry = this.#sessions.get(token);
    if (!entry || entry.validUntil <= now) return undefined;
    return entry.userId;
  }

  remember(token: string, userId: string, expiresAt: number, now: number): void {
    if (this.sessionTtlMs > 0) {
      const ttl = this.sessionTtlMs * (0.5 + Math.random() * 0.5);
      this.#sessions.set(token, { userId, validUntil: Math.min(now + ttl, expiresAt) });
    }
  }

  knowsUser(userId: string, now: number): boolean {
    return (this.#users.get(userId) ?? 0) > now;
  }

  rememberUser(userId: string, now: number): void {
    if (this.userTtlMs > 0) this.#users.set(userId, now + this.userTtlMs);
  }
}

/**
 * The app's authentication: a cached token skips better-auth's getSession
 * (which reads the session by token, then its user); a cached user skips
 * the read of the user row behind the actor.
 */
export async function authenticate(
  pool: pg.Pool,
  sessions: BaselineSessionCache,
  token: string,
): Promise<{ userId: string }> {
  const now = Date.now();
  let userId = sessions.get(token, now);
  if (!userId) {
    const session = known(
      await pool.query<{ user_id: string; expires_at: Date }>(statements.session, [token]),
      "session",
    );
    if (session.expires_at.getTime() < now) throw new UnknownTokenError("session expired");
    const user = known(
      await pool.query<{ id: string }>(statements.user, [session.user_id]),
      "user",
    );
    sessions.remember(token, user.id, session.expires_at.getTime(), now);
    userId = user.id;
  }
  if (!sessions.knowsUser(userId, now)) {
    known(await pool.query<{ id: string }>(statements.cachedUser, [userId]), "cached user");
    sessions.rememberUser(userId, now);
  }
  return { userId };
}

/** Drizzle's `db.transaction`: a pooled client, begin, work, commit (or rollback). */
async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>) {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

function textArray(items: readonly string[]): string {
  return `{${items.map((item) => `"${item}"`).join(",")}}`;
}

// The read scenarios' SQL after authentication, shared by the baseline and
// the HTTP floor (bench/floor.ts) so both send the same statements.

/** GET /v1/tasks: the app prepares one statement per list shape and reads its rows as arrays. */
export async function readList(
  pool: pg.Pool,
  userId: string,
  withPriority: boolean,
): Promise<unknown[][]> {
  const result = withPriority
    ? await pool.query({
        name: listStatementName("sort:dueAt:asc,live,status,priority:range"),
        text: statements.listByPriority,
        // The app sends a priority set without gaps as a range of ranks.
        values: ["open", ...listPriorityRanks, 51, userId, 51],
        rowMode: "array",
      })
    : await pool.query({
        name: listStatementName("sort:dueAt:asc,live,status"),
        text: statements.list,
        values: ["open", 51, userId, 51],
        rowMode: "array",
      });
  return result.rows;
}

/** GET /v1/tasks/{id} (and the read before a PATCH): one prepared statement, as in the app. */
export function visibleTaskQuery(userId: string, taskId: string): pg.QueryConfig {
  return { name: "task_visible_to_user", text: statements.visibleTask, values: [userId, taskId] };
}

/** The task if the user may see it, undefined when not (the app's 404). */
export async function readTask(
  pool: pg.Pool,
  userId: string,
  taskId: string,
): Promise<pg.QueryResultRow | undefined> {
  return (await pool.query(visibleTaskQuery(userId, taskId))).rows[0];
}

export type MeRows = {
  profile: pg.QueryResultRow;
  memberships: pg.QueryResultRow[];
  stats: pg.QueryResultRow[];
  activity: pg.QueryResultRow[];
};

/**
 * GET /v1/me: the profile, then memberships, task stats and the first
 * activity page in parallel, all prepared as in the app. Undefined (and
 * nothing more sent) when the profile row is missing.
 */
export async function readMe(pool: pg.Pool, userId: string): Promise<MeRows | undefined> {
  const profile = (
    await pool.query({ name: "profile_user", text: statements.user, values: [userId] })
  ).rows[0];
  if (profile === undefined) return undefined;
  const now = new Date();
  const start = new Date(now);
  start.setUTCHours(0, 0, 0, 0);
  const end = new Date(start.getTime() + 86_399_999);
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
  const [memberships, stats, activity] = await Promise.all([
    pool.query({ name: "memberships_of_user", text: statements.memberships, values: [userId] }),
    pool.query({
      name: "task_stats_of_user",
      text: statements.stats,
      values: [
        "open",
        "open",
        now,
        "open",
        start,
        end,
        "completed",
        weekAgo,
        userId,
        userId,
        userId,
      ],
    }),
    pool.query({ name: "activity_of_actor", text: statements.activity, values: [userId, 21] }),
  ]);
  return { profile, memberships: memberships.rows, stats: stats.rows, activity: activity.rows };
}

export type BaselineOp = (i: number) => Promise<void>;

/** One scenario request's worth of SQL, for request counter i. */
export function baselineOp(
  pool: pg.Pool,
  sessions: BaselineSessionCache,
  scenario: ScenarioName,
  all: LoadUser[],
  /**
   * Where semantic search is available (pgvector: PGlite, or a server with
   * the extension) a new or retitled task also asks for its embedding, in
   * the same transaction; `debounceMs` is the app's delay before it runs.
   */
  embeddings: { debounceMs: number } | null = null,
): BaselineOp {
  const users = usersFor(scenario, all);
  const requestEmbedding = async (client: pg.PoolClient, taskId: string, userId: string) => {
    if (!embeddings) return;
    const runAfter = new Date(Date.now() + embeddings.debounceMs).toISOString();
    await client.query(statements.embeddingJob, [
      taskId,
      userId,
      runAfter,
      userId,
      runAfter,
      0,
      null,
    ]);
  };
  switch (scenario) {
    case "list":
      return async (i) => {
        const me = await authenticate(pool, sessions, pickUser(users, i).token);
        await readList(pool, me.userId, listUsesPriority(i));
      };
    case "get":
      return async (i) => {
        const { user, taskId } = pickTask(users, i);
        const me = await authenticate(pool, sessions, user.token);
        if ((await readTask(pool, me.userId, taskId)) === undefined) {
          throw new BaselineError("task: no row");
        }
      };
    case "me":
      return async (i) => {
        const me = await authenticate(pool, sessions, pickUser(users, i).token);
        if ((await readMe(pool, me.userId)) === undefined) {
          throw new BaselineError("profile: no row");
        }
      };
    case "create":
      return async (i) => {
        const input = createInput(i);
        const me = await authenticate(pool, sessions, pickUser(users, i).token);
        const workspace = first(
          await pool.query<{ id: string }>(statements.personalWorkspace, [me.userId]),
          "workspace",
        );
        const { role } = first(
          await pool.query<{ role: string }>(statements.role, [workspace.id, me.userId]),
          "role",
        );
        if (role === "viewer") throw new BaselineError("viewer cannot create");
        await transaction(pool, async (client) => {
          const now = new Date();
          const row = first(
            await client.query<TaskRow>(statements.insertTask, [
              uuidv7(),
              workspace.id,
              null,
              null,
              me.userId,
              null,
              input.title,
              input.description,
              input.priority,
              textArray(input.tags),
              input.dueAt,
              false,
              null,
              now.getTime(),
              now.toISOString(),
              now.toISOString(),
            ]),
            "insert",
          );
          await client.query(statements.insertActivity, [
            uuidv7(),
            workspace.id,
            "user",
            me.userId,
            "task.created",
            "task",
            row.id,
            row.title,
            JSON.stringify({ ...input, status: "open", categoryId: null }),
            now.toISOString(),
          ]);
          await requestEmbedding(client, row.id, me.userId);
        });
      };
    case "update":
      return async (i) => {
        const input = updateInput(i);
        const { user, taskId } = pickTask(users, i);
        const me = await authenticate(pool, sessions, user.token);
        const current = first(
          await pool.query<TaskRow & { role: string }>(visibleTaskQuery(me.userId, taskId)),
          "task",
        );
        await transaction(pool, async (client) => {
          const now = new Date();
          const row = first(
            await client.query<TaskRow>(statements.updateTask, [
              input.title,
              input.priority,
              now.toISOString(),
              taskId,
              current.version,
            ]),
            "update (version changed underneath)",
          );
          await client.query(statements.insertActivity, [
            uuidv7(),
            row.workspace_id,
            "user",
            me.userId,
            "task.updated",
            "task",
            row.id,
            row.title,
            JSON.stringify({ title: { from: current.title, to: input.title } }),
            now.toISOString(),
          ]);
          await requestEmbedding(client, row.id, me.userId);
        });
      };
  }
}

export type BaselineResult = {
  perSecond: number;
  ops: number;
  elapsedMs: number;
  latency: LatencySummary;
  /** Every latency in ms (kept out of the JSON report). */
  samples: Float64Array;
  errors: number;
  failures: string[];
};

/** Several baseline runs as one. */
export function mergeBaselines(parts: readonly BaselineResult[]): BaselineResult {
  const samples = concatSamples(parts.map((part) => part.samples));
  const elapsedMs = parts.reduce((sum, part) => sum + part.elapsedMs, 0);
  return {
    perSecond: samples.length / (elapsedMs / 1000),
    ops: samples.length,
    elapsedMs,
    latency: summarize(samples),
    samples,
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    failures: parts.flatMap((part) => part.failures).slice(0, 5),
  };
}

/**
 * Closed loop like autocannon's: `concurrency` workers, each starting its
 * next operation when the previous one finishes, for `seconds`.
 */
export async function runBaseline(
  op: BaselineOp,
  options: { concurrency: number; seconds: number; offset: number },
): Promise<BaselineResult> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let errors = 0;
  let counter = options.offset;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const begin = performance.now();
      try {
        await op(counter++);
        latencies.push(performance.now() - begin);
      } catch (error) {
        errors++;
        if (failures.length < 5)
          failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  return {
    perSecond: latencies.length / (elapsedMs / 1000),
    ops: latencies.length,
    elapsedMs,
    latency: summarize(latencies),
    samples: Float64Array.from(latencies),
    errors,
    failures,
  };
}
