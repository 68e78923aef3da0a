import { and, eq, sql } from "drizzle-orm";
import { type Actor, actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { DomainError, validationFailed } from "../../platform/http/errors.ts";
import type { Activity } from "../activity/contracts.ts";
import { toActivity } from "../activity/service.ts";
import { membershipsOf } from "../workspaces/membership.ts";
import { member } from "../workspaces/schema.ts";

/**
 * The event feed is the activity trail in commit-safe order. Each event's
 * place is (writing transaction id, event id), and an event is handed out
 * only when its transaction is older than every transaction still running
 * (`pg_snapshot_xmin`). Every row that can ever sort before it is then
 * committed (or never will be), so a client that resumes after the last
 * place it saw misses nothing and sees nothing twice. Ordering by time or by
 * event id would not do: a transaction that started first can commit last,
 * and its events would appear behind a place the client already passed.
 * The price: a long-running writing transaction anywhere in the database
 * holds the feed back until it ends.
 */
export type FeedPosition = { tx: string; id: string };

/** Postgres xid8 is an unsigned 64-bit integer. */
const maxXid8 = 2n ** 64n - 1n;
const positionPattern =
  /^(\d{1,20})-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
/** Sorts before every event id, for "from this transaction on". */
const lowestId = "00000000-0000-0000-0000-000000000000";

/** An event's SSE id: what a client sends back as `Last-Event-ID`. */
export function formatPosition(position: FeedPosition): string {
  return `${position.tx}-${position.id}`;
}

/** Reads a `Last-Event-ID`; anything that is not one is a 400 naming `field`. */
export function parsePosition(text: string, field: string): FeedPosition {
  const match = positionPattern.exec(text.trim());
  if (!match?.[1] || !match[2] || BigInt(match[1]) > maxXid8) {
    throw validationFailed(field, "is not an event id this feed issued");
  }
  return { tx: BigInt(match[1]).toString(), id: match[2].toLowerCase() };
}

/** Events of transactions that may still be running are not handed out yet. */
export const settled = sql`tx < pg_snapshot_xmin(pg_current_snapshot())`;
const after = (position: FeedPosition) =>
  sql`(tx, id) > (${position.tx}::xid8, ${position.id}::uuid)`;

/**
 * The oldest transaction still running (`xmin`: events before it are
 * settled), the next one to start (`xmax`: no event has it yet), and the
 * snapshot itself (`seen`, as text).
 */
async function horizon(db: Executor): Promise<{ xmin: string; xmax: string; seen: string }> {
  const result = await db.execute<{ xmin: string; xmax: string; seen: string }>(
    sql`select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as xmax,
          s::text as seen
        from pg_current_snapshot() as s`,
  );
  const row = result.rows[0];
  if (!row) throw new Error("pg_current_snapshot() returned no row");
  return row;
}

/** The place before every event not yet settled (the hub's starting place). */
export async function currentPosition(db: Executor): Promise<FeedPosition> {
  return { tx: (await horizon(db)).xmin, id: lowestId };
}

/**
 * Where a stream opened without a place starts: "from now on". The place is
 * before every transaction still running, which a long one (in any
 * database of the server) can hold far back; `seen` is the snapshot of
 * now, whose committed events a page skips, so nothing that committed
 * before the stream opened is shown.
 */
export async function startingNow(db: Executor): Promise<{ position: FeedPosition; seen: string }> {
  const { xmin, seen } = await horizon(db);
  return { position: { tx: xmin, id: lowestId }, seen };
}

/**
 * Refuses a place no event of this database can have had: one ahead of
 * every transaction so far comes from another copy of it (a dump restored
 * into a new cluster starts its transaction ids again), and would skip
 * every event until the ids caught up.
 */
export async function assertIssued(db: Executor, position: FeedPosition, field: string) {
  if (BigInt(position.tx) >= BigInt((await horizon(db)).xmax)) {
    throw validationFailed(
      field,
      "is ahead of every event of this database (from another copy of it?); reconnect without it",
    );
  }
}

/** Who was affected by one settled event: enough to wake the streams that may show it. */
export type FeedMark = FeedPosition & { workspaceId: string | null; actorId: string | null };

/** Settled events after `position`, across the database, in feed order. */
export async function eventsAfter(
  db: Executor,
  position: FeedPosition,
  limit: number,
): Promise<FeedMark[]> {
  const result = await db.execute<{
    tx: string;
    id: string;
    workspace_id: string | null;
    actor_id: string | null;
  }>(sql`
    select tx::text as tx, id, workspace_id, actor_id from activity_events
    where ${after(position)} and ${settled}
    order by tx, id
    limit ${limit}`);
  return result.rows.map((row) => ({
    tx: row.tx,
    id: row.id,
    workspaceId: row.workspace_id,
    actorId: row.actor_id,
  }));
}

/**
 * What every member, viewers included, may follow, by the subject of the
 * event type (`task.created`: task): what they can read anyway (the
 * permission matrix's `workspace.read`: the workspace, its members, tasks
 * and categories). Invitations, budgets, a system admin's support access
 * and any subject not named here are for owners and admins.
 */
const memberSubjects = ["task", "category", "workspace", "member"];
const adminOnlyTypes = ["member.invited", "workspace.support_access"];
/**
 * The events that end one's membership, shown to that person although the
 * workspace is no longer theirs, so a client learns why it went quiet.
 */
const endedMembership = ["member.left", "member.removed"];
const listOf = (values: string[]) =>
  sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  );

/**
 * What one actor may follow, read again before every page so a removed
 * member stops seeing a workspace at once: each workspace it belongs to
 * (one for a workspace-bound key) from the transaction that made it a
 * member on (a `Last-Event-ID` from long ago replays no history from
 * before it joined), whether it administers it (owner or admin, and for an
 * API key the `workspaces:admin` scope), and its own events outside any
 * workspace (not for a bound key).
 */
export type FeedAudience = {
  userId: string;
  /** `since`: the transaction that made the membership; nothing before it is shown. */
  workspaces: Array<{ id: string; admin: boolean; since: string }>;
  personal: boolean;
};

export async function audienceOf(
  db: Executor,
  actor: Actor,
  onlyWorkspace?: string,
): Promise<FeedAudience> {
  const { userId } = actingUser(actor);
  const keyAdmin = keyMayAdminister(actor);
  const rows = await db
    .select({ id: member.organizationId, role: member.role, since: member.joinedTx })
    .from(member)
    .where(
      and(
        membershipsOf(actor),
        onlyWorkspace ? eq(member.organizationId, onlyWorkspace) : undefined,
      ),
    );
  return {
    userId,
    workspaces: rows.map((row) => ({
      id: row.id,
      admin: keyAdmin && (row.role === "owner" || row.role === "admin"),
      since: row.since,
    })),
    personal: workspaceRestriction(actor) === null && onlyWorkspace === undefined,
  };
}

/**
 * `audienceOf`, for a stream that follows `only` one workspace: 404 when
 * the actor does not (or no longer) belong to it.
 */
export async function followedAudience(
  db: Executor,
  actor: Actor,
  only: string | undefined,
): Promise<FeedAudience> {
  const audience = await audienceOf(db, actor, only);
  if (only && audience.workspaces.length === 0) {
    throw new DomainError("not_found", "No workspace with this id is visible to you");
  }
  return audience;
}

function keyMayAdminister(actor: Actor): boolean {
  if (actor.type === "agent") return keyMayAdminister(actor.onBehalfOf);
  return actor.type !== "apiKey" || actor.scopes.includes("workspaces:admin");
}

export type FeedEvent = { position: FeedPosition; activity: Activity };

/** The activity columns a feed query reads from `activity_events`. */
export const feedColumns = sql`id, workspace_id, actor_type, actor_id, type, entity_type, entity_id,
    entity_title, changes, created_at, tx`;

/** What a feed query returns of rows `e` (feedColumns) joined to their actor `u`: a `FeedRow`. */
export const feedRowColumns = sql`e.tx::text as tx, e.id, e.workspace_id, e.actor_type, e.actor_id,
    u.name as actor_name, e.type, e.entity_type, e.entity_id, e.entity_title, e.changes, e.created_at`;

/**
 * The next settled events the audience may see after `position`, in feed
 * order: per workspace from its feed index (a lateral join, so each
 * workspace reads at most `limit` rows), plus the user's own events outside
 * any workspace and the end of any of their memberships, merged and cut at
 * `limit`.
 */
export async function feedPage(
  db: Executor,
  audience: FeedAudience,
  position: FeedPosition,
  limit: number,
  seen?: string,
): Promise<FeedEvent[]> {
  if (audience.workspaces.length === 0 && !audience.personal) return [];
  const ids = audience.workspaces.map((workspace) => workspace.id);
  const admin = audience.workspaces.map((workspace) => workspace.admin);
  const since = audience.workspaces.map((workspace) => workspace.since);
  const unseen = seen ? sql`and not pg_visible_in_snapshot(tx, ${seen}::pg_snapshot)` : sql``;
  const result = await db.execute<FeedRow>(sql`
    select ${feedRowColumns}
    from (
      select x.* from unnest(${sql.param(ids)}::uuid[], ${sql.param(admin)}::boolean[],
        ${sql.param(since)}::xid8[]) as w(id, admin, since)
      cross join lateral (
        select ${feedColumns} from activity_events
        where workspace_id = w.id and ${after(position)} and ${settled} and tx >= w.since ${unseen}
          and (w.admin or (split_part(type, '.', 1) in (${listOf(memberSubjects)})
            and type not in (${listOf(adminOnlyTypes)})))
        order by tx, id
        limit ${limit}
      ) x
      union all
      (select ${feedColumns} from activity_events
        where ${audience.personal} and actor_id = ${audience.userId} and workspace_id is null
          and ${after(position)} and ${settled} ${unseen}
        order by tx, id
        limit ${limit})
      union all
      (select ${feedColumns} from activity_events
        where ${audience.personal} and entity_type = 'user' and entity_id = ${audience.userId}
          and type in (${listOf(endedMembership)})
          and ${after(position)} and ${settled} ${unseen}
        order by tx, id
        limit ${limit})
    ) e
    left join "user" u on u.id = e.actor_id
    order by e.tx, e.id
    limit ${limit}`);
  return result.rows.map(toFeedEvent);
}

/** One row of a feed query: `feedColumns` with `tx` as text, plus `actor_name`. */
export type FeedRow = {
  tx: string;
  id: string;
  workspace_id: string | null;
  actor_type: Activity["actor"]["type"];
  actor_id: string | null;
  actor_name: string | null;
  type: string;
  entity_type: string;
  entity_id: string;
  entity_title: string | null;
  changes: Record<string, unknown>;
  created_at: Date | string;
};

export function toFeedEvent(row: FeedRow): FeedEvent {
  return {
    position: { tx: row.tx, id: row.id },
    activity: toActivity({
      event: {
        id: row.id,
        workspaceId: row.workspace_id,
        actorType: row.actor_type,
        actorId: row.actor_id,
        type: row.type,
        entityType: row.entity_type,
        entityId: row.entity_id,
        entityTitle: row.entity_title,
        changes: row.changes,
        createdAt: new Date(row.created_at),
        tx: row.tx,
      },
      actorName: row.actor_name,
    }),
  };
}
