import { sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
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
  },
  (table) => [
    index("activity_actor_idx").on(table.actorId, table.createdAt.desc(), table.id.desc()),
    index("activity_workspace_idx").on(table.workspaceId, table.createdAt.desc(), table.id.desc()),
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
