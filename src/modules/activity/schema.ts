import { sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { currentTransactionId, xid8 } from "../../platform/db/xid8.ts";
import { workspace } from "../workspaces/schema.ts";

export const actorTypes = ["user", "apiKey", "agent", "system"] as const;

/**
 * The trail of every change. Rows are never updated; the entity title is a
 * snapshot so the trail still reads well after the entity is gone.
 */
export const activityEvents = pgTable(
  "activity_events",
  {
    id: uuid("id").primaryKey(),
    workspaceId: uuid("workspace_id").references(() => workspace.id, { onDelete: "cascade" }),
    actorType: text("actor_type", { enum: actorTypes }).notNull(),
    actorId: uuid("actor_id"),
    type: text("type").notNull(),
    entityType: text("entity_type").notNull(),
    entityId: uuid("entity_id").notNull(),
    entityTitle: text("entity_title"),
    changes: jsonb("changes").notNull().default(sql`'{}'::jsonb`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /**
     * The writing transaction's id: with `id` it is the event's place in the
     * feed (`GET /v1/events`, src/modules/events/feed.ts), which hands an
     * event out only once every transaction that could still write an
     * earlier one has ended. Rows from before the feed hold 1.
     */
    tx: xid8("tx").notNull().default(currentTransactionId),
  },
  (table) => [
    index("activity_actor_idx").on(table.actorId, table.createdAt.desc(), table.id.desc()),
    // The feed: each workspace's events in feed order, everything in feed
    // order (what each instance polls), and a user's own events outside
    // any workspace (profile, API keys, conversations).
    index("activity_workspace_feed_idx").on(table.workspaceId, table.tx, table.id),
    index("activity_feed_idx").on(table.tx, table.id),
    index("activity_personal_feed_idx")
      .on(table.actorId, table.tx, table.id)
      .where(sql`${table.workspaceId} is null`),
    index("activity_entity_idx").on(
      table.entityType,
      table.entityId,
      table.createdAt.desc(),
      table.id.desc(),
    ),
    check("activity_type_format", sql`${table.type} ~ '^[a-z_]+\\.[a-z_]+$'`),
    check(
      "activity_actor_type_valid",
      sql`${table.actorType} in ('user', 'apiKey', 'agent', 'system')`,
    ),
  ],
);
