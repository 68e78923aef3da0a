import { sql } from "drizzle-orm";
import {
  boolean,
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
import { workspace } from "../workspaces/schema.ts";

/** Sorts before every event id: a place "from this transaction on". */
export const lowestEventId = "00000000-0000-0000-0000-000000000000";

/**
 * A workspace's subscription: its events (by type) are POSTed to `url`,
 * signed with the secret. `position` is the webhook's place in the event
 * feed (see docs/adr/0005 and dispatcher.ts); a new webhook starts at the
 * transaction that created it. The secret is stored encrypted with a key
 * derived from AUTH_SECRET (secret.ts).
 */
export const webhooks = pgTable(
  "webhooks",
  {
    id: uuid("id").primaryKey(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspace.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    events: text("events").array().notNull(),
    secret: text("secret").notNull(),
    active: boolean("active").notNull().default(true),
    /** Why the webhook was turned off by the server (failures); null when a person did it. */
    disabledReason: text("disabled_reason"),
    /** Deliveries that failed for good since the last success. */
    failureStreak: integer("failure_streak").notNull().default(0),
    positionTx: xid8("position_tx").notNull().default(currentTransactionId),
    positionId: uuid("position_id").notNull().default(lowestEventId),
    createdBy: uuid("created_by").references(() => user.id, { onDelete: "set null" }),
    version: integer("version").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    index("webhooks_workspace_idx").on(table.workspaceId, table.id),
    index("webhooks_active_idx").on(table.id).where(sql`${table.active}`),
    check(
      "webhooks_url_http",
      sql`${table.url} ~ '^https?://' and char_length(${table.url}) <= 2000`,
    ),
    check(
      "webhooks_description_length",
      sql`${table.description} is null or char_length(${table.description}) <= 500`,
    ),
    check(
      "webhooks_events_count",
      sql`cardinality(${table.events}) between 1 and 50 and array_position(${table.events}, null) is null`,
    ),
    check("webhooks_failure_streak", sql`${table.failureStreak} >= 0`),
    check("webhooks_version_positive", sql`${table.version} >= 1`),
  ],
);

export const deliveryStatuses = ["pending", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/**
 * One event for one webhook: the exact body sent (every attempt sends the
 * same bytes) and how the last attempt went. At most one per webhook and
 * event, so a dispatch that runs twice delivers once.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey(),
    webhookId: uuid("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    eventId: uuid("event_id").notNull(),
    eventType: text("event_type").notNull(),
    body: text("body").notNull(),
    status: text("status", { enum: deliveryStatuses }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    responseStatus: integer("response_status"),
    error: text("error"),
    durationMs: integer("duration_ms"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (table) => [
    uniqueIndex("webhook_deliveries_event_idx").on(table.webhookId, table.eventId),
    index("webhook_deliveries_list_idx").on(table.webhookId, table.id),
    index("webhook_deliveries_completed_idx")
      .on(table.completedAt)
      .where(sql`${table.completedAt} is not null`),
    check(
      "webhook_deliveries_status_valid",
      sql`${table.status} in ('pending', 'succeeded', 'failed')`,
    ),
    check("webhook_deliveries_attempts", sql`${table.attempts} >= 0`),
    check(
      "webhook_deliveries_response_status",
      sql`${table.responseStatus} is null or ${table.responseStatus} between 100 and 599`,
    ),
    check(
      "webhook_deliveries_done_when_completed",
      sql`(${table.status} = 'pending') = (${table.completedAt} is null)`,
    ),
  ],
);
