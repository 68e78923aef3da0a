import { and, eq, lte, sql } from "drizzle-orm";
import { actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { notFound } from "../../platform/http/errors.ts";
import { decodeCursor, toPage } from "../../platform/http/pagination.ts";
import { type FeedRow, feedRowColumns, toFeedEvent } from "../events/feed.ts";
import { visibleWorkspaceIds } from "../workspaces/membership.ts";
import type { ListNotificationsQuery, MarkAllReadInput, Notification } from "./contracts.ts";
import { type NotificationReason, notifications, notifierPosition } from "./schema.ts";

type NotificationRow = FeedRow & {
  notification_id: string;
  reason: NotificationReason;
  read_at: Date | string | null;
  notified_at: Date | string;
};

function toNotification(row: NotificationRow): Notification {
  const readAt = row.read_at === null ? null : new Date(row.read_at).toISOString();
  return {
    id: row.notification_id,
    reason: row.reason,
    read: readAt !== null,
    readAt,
    createdAt: new Date(row.notified_at).toISOString(),
    activity: toFeedEvent(row).activity,
  };
}

/**
 * The caller's notifications they may still see: those of workspaces they
 * are in (one for a workspace-bound key), and those about their own
 * membership, which stay after it ends so they learn why a workspace went.
 */
function mine(ctx: Context) {
  const userId = actingUser(ctx.actor).userId;
  const only = workspaceRestriction(ctx.actor);
  // A bound key sees its workspace while its user is still in it; nothing else.
  const where = only
    ? sql`n.workspace_id in ${visibleWorkspaceIds(ctx.actor)}`
    : sql`(n.reason = 'membership' or n.workspace_id is null
        or n.workspace_id in ${visibleWorkspaceIds(ctx.actor)})`;
  return sql`n.user_id = ${userId} and ${where}`;
}

const notificationColumns = (readAt = sql`n.read_at`) => sql`n.id as notification_id, n.reason,
  ${readAt} as read_at, n.created_at as notified_at, ${feedRowColumns}`;

/**
 * Newest first, with the number still unread: one statement, the page
 * joined to the count so an empty page still brings it (a row of nulls).
 */
export async function listNotifications(ctx: Context, query: ListNotificationsQuery) {
  const cursor = decodeCursor(query.cursor, "notification");
  const result = await ctx.db.execute<NotificationRow & { unread_count: number }>(sql`
    select c.unread_count, p.* from (
      select count(*)::int as unread_count from notifications n
      where ${mine(ctx)} and n.read_at is null
    ) c
    left join lateral (
      select ${notificationColumns()}
      from notifications n
      join activity_events e on e.id = n.event_id
      left join "user" u on u.id = e.actor_id
      where ${mine(ctx)}
        ${query.unread ? sql`and n.read_at is null` : sql``}
        ${cursor ? sql`and n.id < ${cursor.id}` : sql``}
      order by n.id desc
      limit ${query.limit + 1}
    ) p on true
    order by p.notification_id desc`);
  const unreadCount = result.rows[0]?.unread_count ?? 0;
  const rows = result.rows.filter((row) => row.notification_id !== null);
  const page = toPage(rows, query.limit, toNotification, (row) => ({
    sort: "notification",
    key: null,
    id: row.notification_id,
  }));
  return { ...page, unreadCount };
}

/**
 * Marks one read and answers it, in one statement. Again is fine: it keeps
 * its first read time. The read time comes from the UPDATE's RETURNING,
 * which sees the row as it is once locked: the outer select sees it as of
 * the statement's start, before a concurrent read-all that committed
 * meanwhile (which an UPDATE filtered on "still unread" would skip, and
 * answer unread).
 */
export async function markRead(ctx: Context, id: string): Promise<Notification> {
  const result = await ctx.db.execute<NotificationRow>(sql`
    with marked as (
      update notifications n set read_at = coalesce(n.read_at, ${ctx.now()})
      where n.id = ${id} and ${mine(ctx)}
      returning n.id, n.read_at
    )
    select ${notificationColumns(sql`m.read_at`)}
    from marked m
    join notifications n on n.id = m.id
    join activity_events e on e.id = n.event_id
    left join "user" u on u.id = e.actor_id`);
  const row = result.rows[0];
  if (!row) throw notFound("Notification");
  return toNotification(row);
}

/** Marks every unread one read, or those up to `upTo` (the newest the client has shown). */
export async function markAllRead(ctx: Context, input: MarkAllReadInput) {
  const result = await ctx.db.execute(sql`
    update notifications n set read_at = ${ctx.now()}
    where n.read_at is null and ${mine(ctx)}
      ${input.upTo ? sql`and n.id <= ${input.upTo}` : sql``}`);
  return { marked: result.rowCount ?? 0 };
}

/**
 * The notifier's place in the feed, locked for this transaction; null while
 * another instance holds it.
 */
export async function claimPlace(db: Executor): Promise<{ tx: string; id: string } | null> {
  const [place] = await db
    .select({
      tx: sql<string>`${notifierPosition.positionTx}::text`,
      id: notifierPosition.positionId,
    })
    .from(notifierPosition)
    .where(eq(notifierPosition.id, 1))
    .for("update", { skipLocked: true });
  return place ?? null;
}

/** Moves the notifier's place past the last event it read. */
export async function movePlace(db: Executor, place: { tx: string; id: string }): Promise<void> {
  await db
    .update(notifierPosition)
    .set({ positionTx: place.tx, positionId: place.id })
    .where(eq(notifierPosition.id, 1));
}

/**
 * The notifier's writes: one row per (user, event); a rerun writes nothing
 * twice. One statement whatever the count (arrays, not a parameter per
 * value), and a recipient whose account is gone by now is skipped rather
 * than failing the batch (and every round after it) on the foreign key.
 */
export async function writeNotifications(
  db: Executor,
  rows: Array<{
    id: string;
    userId: string;
    eventId: string;
    workspaceId: string | null;
    reason: NotificationReason;
  }>,
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  const written = await db.execute(sql`
    insert into notifications (id, user_id, event_id, workspace_id, reason, created_at)
    select d.id, d.user_id, d.event_id, d.workspace_id, d.reason, ${now}
    from unnest(${sql.param(rows.map((row) => row.id))}::uuid[],
      ${sql.param(rows.map((row) => row.userId))}::uuid[],
      ${sql.param(rows.map((row) => row.eventId))}::uuid[],
      ${sql.param(rows.map((row) => row.workspaceId))}::uuid[],
      ${sql.param(rows.map((row) => row.reason))}::text[])
      as d(id, user_id, event_id, workspace_id, reason)
    where exists (select 1 from "user" u where u.id = d.user_id)
    on conflict (user_id, event_id) do nothing`);
  return written.rowCount ?? 0;
}

const retentionMs = 90 * 24 * 60 * 60 * 1000;

/** Housekeeping: read notifications older than 90 days. */
export async function purgeOldNotifications(db: Executor, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionMs);
  const removed = await db
    .delete(notifications)
    .where(and(lte(notifications.createdAt, cutoff), sql`${notifications.readAt} is not null`))
    .returning({ id: notifications.id });
  return removed.length;
}
