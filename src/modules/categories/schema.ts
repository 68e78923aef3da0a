import { sql } from "drizzle-orm";
import {
  check,
  doublePrecision,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { workspace } from "../workspaces/schema.ts";

export const categories = pgTable(
  "categories",
  {
    id: uuid("id").primaryKey(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspace.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    color: text("color"),
    position: doublePrecision("position").notNull(),
    version: integer("version").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex("categories_workspace_name_unique").on(
      table.workspaceId,
      sql`lower(${table.name})`,
    ),
    index("categories_workspace_position_idx").on(table.workspaceId, table.position, table.id),
    check(
      "categories_name_length",
      sql`char_length(${table.name}) between 1 and 100 and ${table.name} = btrim(${table.name})`,
    ),
    check("categories_color_hex", sql`${table.color} ~ '^#[0-9a-f]{6}$'`),
    check("categories_version_positive", sql`${table.version} > 0`),
  ],
);
