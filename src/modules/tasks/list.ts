import { createHash } from "node:crypto";
import {
  type AnyColumn,
  and,
  arrayContains,
  asc,
  count,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  or,
  type Placeholder,
  type Query,
  type SQL,
  sql,
} from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { LRUCache } from "lru-cache";
import { actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { validationFailed } from "../../platform/http/errors.ts";
import { decodeCursor, type Page, toPage } from "../../platform/http/pagination.ts";
import { member } from "../workspaces/schema.ts";
import { roleIn } from "../workspaces/service.ts";
import { type TaskRow, taskColumns } from "./access.ts";
import type { ListTasksQuery, Task, TaskSort } from "./contracts.ts";
import { isoTime, type TaskRowWithIsoTimes, toTask } from "./mapping.ts";
import { queryCells, taskRowFromCells } from "./rows.ts";
import { priorityRankOf, type TaskPriority, taskPriorities, tasks } from "./schema.ts";

const sortFields = {
  position: "position",
  dueAt: "dueAt",
  priority: "priorityRank",
  createdAt: "createdAt",
  updatedAt: "updatedAt",
  title: "title",
} as const satisfies Record<TaskSort, keyof typeof taskColumns>;

const sortColumns: Record<TaskSort, PgColumn> = {
  position: tasks.position,
  dueAt: tasks.dueAt,
  priority: tasks.priorityRank,
  createdAt: tasks.createdAt,
  updatedAt: tasks.updatedAt,
  title: tasks.title,
};

/** ORDER BY for a sort, on the tasks table or on a subquery of it. */
function orderBy(sort: TaskSort, descending: boolean, key: SQL | AnyColumn, id: SQL | AnyColumn) {
  const direction = descending ? desc : asc;
  return [
    sort === "dueAt"
      ? sql`${key} ${sql.raw(descending ? "desc" : "asc")} nulls last`
      : direction(key),
    direction(id),
  ];
}

function sortKey(row: ListRow, sort: TaskSort): string | number | null {
  switch (sort) {
    case "position":
      return row.position;
    case "dueAt":
      return row.dueAt === null ? null : isoTime(row.dueAt);
    case "priority":
      return row.priorityRank;
    case "createdAt":
      return isoTime(row.createdAt);
    case "updatedAt":
      return isoTime(row.updatedAt);
    case "title":
      return row.title;
  }
}

function keyValue(sort: TaskSort, key: string | number): unknown {
  return sort === "dueAt" || sort === "createdAt" || sort === "updatedAt"
    ? new Date(String(key))
    : key;
}

/** A cursor key of the wrong type (a forged cursor) would otherwise reach the database. */
function checkCursorKey(sort: TaskSort, key: string | number | null): void {
  let valid: boolean;
  if (key === null) valid = sort === "dueAt";
  else if (sort === "position" || sort === "priority") valid = typeof key === "number";
  else if (sort === "title") valid = typeof key === "string";
  else valid = typeof key === "string" && !Number.isNaN(Date.parse(key));
  if (!valid) throw validationFailed("cursor", "is not a valid cursor");
}

/**
 * A list query's values, as placeholders of a prepared statement, and its
 * shape: which conditions it has (not their values). Queries of one shape
 * share one statement, built by Drizzle once.
 */
class Bindings {
  readonly values: Record<string, unknown> = {};
  readonly #shape: string[] = [];

  /** A placeholder for `value`. */
  bind(value: unknown): Placeholder {
    const name = `p${Object.keys(this.values).length}`;
    this.values[name] = value;
    return sql.placeholder(name);
  }

  /** Records that the query has `part`; returns `condition` (so: `has("x") && ...`). */
  has(part: string): true {
    this.#shape.push(part);
    return true;
  }

  get shape(): string {
    return this.#shape.join(",");
  }
}

/**
 * Rows strictly after the cursor in (sort key, id) order. Tasks without a due
 * date sort last in both directions, so they need their own branch.
 */
function afterCursor(
  bindings: Bindings,
  sort: TaskSort,
  descending: boolean,
  cursor: { key: string | number | null; id: string },
): SQL | undefined {
  const column = sortColumns[sort];
  const beyond = descending ? lt : gt;
  const id = bindings.bind(cursor.id);
  if (cursor.key === null) {
    bindings.has("cursor:null");
    return and(isNull(column), beyond(tasks.id, id));
  }
  bindings.has("cursor");
  const key = bindings.bind(keyValue(sort, cursor.key));
  return or(
    beyond(column, key),
    and(eq(column, key), beyond(tasks.id, id)),
    sort === "dueAt" ? isNull(column) : undefined,
  );
}

/**
 * Prepared list statements per database handle and query shape (Postgres
 * keeps each one parsed per connection). Shapes are few in practice; the
 * LRU bounds them anyway.
 */
const preparedLists = new WeakMap<Executor, LRUCache<string, ListStatement>>();

type ListStatement = {
  name: string;
  /** Built by Drizzle; runs the list inside a transaction. */
  prepared: ReturnType<typeof buildList> | ReturnType<typeof buildKeysFirstList>;
  /** Its text and parameters (placeholders among them), for the pool's fast path. */
  query: Query;
};

/** The page subquery's columns, in `taskColumns` order: the fast path reads rows by position. */
const taskColumnNames = Object.keys(taskColumns) as Array<keyof typeof taskColumns>;

function buildList(ctx: Context, query: ListTasksQuery, name: string, parts: ListParts) {
  const { conditions, workspace, member: memberCondition, limit } = parts;
  const descending = query.order === "desc";
  const column = sortColumns[query.sort];
  // One page per workspace the user belongs to, each read in index order and
  // cut at limit + 1, then merged: Postgres stops early in every workspace
  // instead of sorting all of a user's tasks (5x faster p95 at 1M tasks).
  const page = ctx.db
    .select(taskColumns)
    .from(tasks)
    .where(and(eq(tasks.workspaceId, member.organizationId), ...conditions))
    .orderBy(...orderBy(query.sort, descending, column, tasks.id))
    .limit(limit)
    .as("page");
  const selection = Object.fromEntries(taskColumnNames.map((key) => [key, page[key]])) as {
    [K in keyof typeof taskColumns]: (typeof page)[K];
  };
  return ctx.db
    .select(selection)
    .from(member)
    .crossJoinLateral(page)
    .where(and(memberCondition, workspace))
    .orderBy(...orderBy(query.sort, descending, page[sortFields[query.sort]], page.id))
    .limit(limit)
    .prepare(name);
}

/**
 * The same list for a user in many workspaces: each workspace's page reads
 * only its sort keys and ids (an index-only scan of the list index), the
 * merged page is cut at limit + 1, and only those rows are read from the
 * table, by primary key. `buildList` reads limit + 1 whole rows in every
 * workspace, so its cost grows with the number of workspaces; this one
 * pays a primary-key lookup per row instead, which costs more than it saves
 * for up to three workspaces (pgbench, bench/README.md "Many workspaces").
 */
function buildKeysFirstList(ctx: Context, query: ListTasksQuery, name: string, parts: ListParts) {
  const { conditions, workspace, member: memberCondition, limit } = parts;
  const descending = query.order === "desc";
  const column = sortColumns[query.sort];
  const keys = ctx.db
    .select({ id: tasks.id, key: column })
    .from(tasks)
    .where(and(eq(tasks.workspaceId, member.organizationId), ...conditions))
    .orderBy(...orderBy(query.sort, descending, column, tasks.id))
    .limit(limit)
    .as("keys");
  const top = ctx.db
    .select({ id: keys.id, key: keys.key })
    .from(member)
    .crossJoinLateral(keys)
    .where(and(memberCondition, workspace))
    .orderBy(...orderBy(query.sort, descending, keys.key, keys.id))
    .limit(limit)
    .as("top");
  return ctx.db
    .select(taskColumns)
    .from(top)
    .innerJoin(tasks, eq(tasks.id, top.id))
    .orderBy(...orderBy(query.sort, descending, top.key, top.id))
    .prepare(name);
}

/** From this many workspaces on, a list reads keys first (`buildKeysFirstList`). */
export const keysFirstFromWorkspaces = 4;

/**
 * How many workspaces each user belongs to, as the list's choice of
 * statement sees it. Only a hint for that choice (both statements answer
 * the same), so a count up to a minute old is good enough and nothing
 * invalidates it.
 */
const workspaceCounts = new LRUCache<string, number>({ max: 10_000, ttl: 60_000 });

const workspaceCountStatement = preparedPerDatabase((db) =>
  db
    .select({ count: count() })
    .from(member)
    .where(eq(member.userId, sql.placeholder("userId")))
    .prepare("workspace_count_of_user"),
);

async function workspaceCount(ctx: Context, query: ListTasksQuery): Promise<number> {
  if (query.workspaceId || workspaceRestriction(ctx.actor) !== null) return 1;
  const { userId } = actingUser(ctx.actor);
  let found = workspaceCounts.get(userId);
  if (found === undefined) {
    const [row] = await workspaceCountStatement(ctx.db).execute({ userId });
    found = row?.count ?? 0;
    workspaceCounts.set(userId, found);
  }
  return found;
}

type ListRow = TaskRow | TaskRowWithIsoTimes;

/**
 * Runs a list statement: on the pool (every request outside a transaction)
 * through the fast path of rows.ts, else through Drizzle.
 */
async function runList(
  ctx: Context,
  statement: ListStatement,
  values: Record<string, unknown>,
): Promise<ListRow[]> {
  const rows = await queryCells(ctx, statement.name, statement.query, values);
  return rows ? rows.map(taskRowFromCells) : statement.prepared.execute(values);
}

/** The prepared statement's name for a list shape (bench/baseline.ts sends the same). */
export function listStatementName(shape: string): string {
  return `task_list_${createHash("sha256").update(shape).digest("hex").slice(0, 16)}`;
}

type ListParts = {
  conditions: Array<SQL | undefined>;
  workspace: SQL | undefined;
  member: SQL;
  limit: Placeholder;
};

export async function listTasks(ctx: Context, query: ListTasksQuery): Promise<Page<Task>> {
  const me = actingUser(ctx.actor);
  if (query.workspaceId) await roleIn(ctx, query.workspaceId);
  const descending = query.order === "desc";
  const cursor = decodeCursor(query.cursor, `${query.sort}:${query.order}`);
  if (cursor) checkCursorKey(query.sort, cursor.key);
  const now = ctx.now();
  const keysFirst = (await workspaceCount(ctx, query)) >= keysFirstFromWorkspaces;
  const b = new Bindings();
  b.has(`sort:${query.sort}:${query.order}`);
  if (keysFirst) b.has("keysFirst");
  // Every value is bound in the same order for a given shape, so placeholder
  // names line up with the statement prepared for that shape.
  const parts: ListParts = {
    conditions: [
      query.deleted
        ? b.has("deleted") && isNotNull(tasks.deletedAt)
        : b.has("live") && isNull(tasks.deletedAt),
      query.status === "all"
        ? undefined
        : b.has("status") && eq(tasks.status, b.bind(query.status)),
      query.workspaceId
        ? b.has("workspace") && eq(tasks.workspaceId, b.bind(query.workspaceId))
        : undefined,
      query.priority ? priorityCondition(b, query.priority) : undefined,
      query.categoryId
        ? b.has("category") && eq(tasks.categoryId, b.bind(query.categoryId))
        : undefined,
      query.tag
        ? b.has("tag") && arrayContains(tasks.tags, b.bind([query.tag.toLowerCase()]))
        : undefined,
      query.q
        ? b.has("q") && sql`${tasks.search} @@ websearch_to_tsquery('english', ${b.bind(query.q)})`
        : undefined,
      query.dueBefore
        ? b.has("dueBefore") && lte(tasks.dueAt, b.bind(new Date(query.dueBefore)))
        : undefined,
      query.dueAfter
        ? b.has("dueAfter") && gte(tasks.dueAt, b.bind(new Date(query.dueAfter)))
        : undefined,
      query.overdue
        ? b.has("overdue") && and(eq(tasks.status, "open"), lt(tasks.dueAt, b.bind(now)))
        : undefined,
      query.overdue === false
        ? b.has("notOverdue") &&
          or(isNull(tasks.dueAt), gte(tasks.dueAt, b.bind(now)), eq(tasks.status, "completed"))
        : undefined,
      query.assigneeId
        ? b.has("assignee") &&
          eq(tasks.assigneeId, b.bind(query.assigneeId === "me" ? me.userId : query.assigneeId))
        : undefined,
      query.parentId ? b.has("parent") && eq(tasks.parentId, b.bind(query.parentId)) : undefined,
      cursor ? afterCursor(b, query.sort, descending, cursor) : undefined,
    ],
    limit: b.bind(query.limit + 1),
    member: membershipCondition(ctx, b),
    workspace: query.workspaceId ? eq(member.organizationId, b.bind(query.workspaceId)) : undefined,
  };
  let statements = preparedLists.get(ctx.db);
  if (!statements) {
    statements = new LRUCache({ max: 200 });
    preparedLists.set(ctx.db, statements);
  }
  const shape = b.shape;
  let statement = statements.get(shape);
  if (!statement) {
    const name = listStatementName(shape);
    const prepared = (keysFirst ? buildKeysFirstList : buildList)(ctx, query, name, parts);
    statement = { name, prepared, query: prepared.getQuery() };
    statements.set(shape, statement);
  }
  const rows = await runList(ctx, statement, b.values);
  return toPage(rows, query.limit, toTask, (row) => ({
    sort: `${query.sort}:${query.order}`,
    key: sortKey(row, query.sort),
    id: row.id,
  }));
}

/**
 * Tasks of these priorities, as a range of `priority_rank` (the last column
 * of every list index, so the range is checked in the index and other
 * priorities' rows are never read), plus the exact set where it has gaps.
 */
function priorityCondition(b: Bindings, priorities: readonly TaskPriority[]): SQL | undefined {
  const ranks = [...new Set(priorities.map(priorityRankOf))].sort((x, y) => x - y);
  const lowest = ranks[0] ?? 0;
  const highest = ranks.at(-1) ?? 0;
  const gaps = highest - lowest + 1 > ranks.length;
  b.has(gaps ? `priority:range+${ranks.length}` : "priority:range");
  return and(
    gte(tasks.priorityRank, b.bind(lowest)),
    lte(tasks.priorityRank, b.bind(highest)),
    // On `priority`, not the rank: a rank list on an index column made the
    // planner drop the ordered scan for a bitmap scan and a sort (3.6x slower).
    gaps
      ? inArray(
          tasks.priority,
          ranks.map((rank) => b.bind(taskPriorities[rank])),
        )
      : undefined,
  );
}

/** The actor's memberships (workspaceRestriction included), with bound values. */
function membershipCondition(ctx: Context, b: Bindings): SQL {
  const restricted = workspaceRestriction(ctx.actor);
  const mine = eq(member.userId, b.bind(actingUser(ctx.actor).userId));
  if (restricted === null) return mine;
  b.has("restricted");
  return and(mine, eq(member.organizationId, b.bind(restricted))) as SQL;
}
