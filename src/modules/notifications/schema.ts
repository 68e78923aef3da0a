import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";
import { currentTransactionId, xid8 } from "../../platform/db/xid8.ts";
import { activityEvents } from "../activity/schema.ts";
import { workspace } from "../workspaces/schema.ts";

/**
 * Why a user was told: a task was assigned to them; a task of theirs
 * (assigned to them or made by them) changed, was completed, deleted...;
 * their own membership changed; or the server turned off a webhook of a
 * workspace they administer.
 */
export const notificationReasons = [
  "assigned",
  "task_activity",
  "membership",
  "webhook_disabled",
] as const;
export type NotificationReason = (typeof notificationReasons)[number];

/**
 * One activity event, for one user who did not cause it. The event is the
 * content (it goes when the event goes: a deleted workspace takes both);
 * the row adds who is told, why, and whether they have read it.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    eventId: uuid("event_id")
      .notNull()
      .references(() => activityEvents.id, { onDelete: "cascade" }),
    /** The event's workspace, so a list shows only workspaces the user is still in. */
    workspaceId: uuid("workspace_id").references(() => workspace.id, { onDelete: "cascade" }),
    reason: text("reason", { enum: notificationReasons }).notNull(),
    readAt: timestamp("read_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex("notifications_user_event_idx").on(table.userId, table.eventId),
    index("notifications_list_idx").on(table.userId, table.id),
    index("notifications_unread_idx")
      .on(table.userId, table.id)
      .where(sql`${table.readAt} is null`),
    index("notifications_event_idx").on(table.eventId),
    check(
      "notifications_reason_valid",
      sql`${table.reason} in ('assigned', 'task_activity', 'membership', 'webhook_disabled')`,
    ),
  ],
);

/**
 * The notifier's place in the event feed (docs/adr/0005): one row. Events
 * up to it have been turned into notifications; the instance that holds
 * the row's lock does the next ones.
 */
export const notifierPosition = pgTable(
  "notifier_position",
  {
    id: integer("id").primaryKey(),
    positionTx: xid8("position_tx").notNull().default(currentTransactionId),
    positionId: uuid("position_id").notNull().default("00000000-0000-0000-0000-000000000000"),
  },
  (table) => [check("notifier_position_single", sql`${table.id} = 1`)],
);
