import { sql } from "drizzle-orm";
import { check, index, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";

// Named after better-auth's organization plugin tables, which the workspace
// roles work will switch on; `personal_owner_id` marks each user's own space.
export const workspace = pgTable(
  "organization",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    slug: text("slug").notNull().unique(),
    logo: text("logo"),
    metadata: text("metadata"),
    personalOwnerId: uuid("personal_owner_id")
      .unique()
      .references(() => user.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check("organization_name_length", sql`char_length(btrim(${table.name})) between 1 and 100`),
  ],
);

export const workspaceRoles = ["owner", "admin", "member", "viewer"] as const;
export type WorkspaceRole = (typeof workspaceRoles)[number];

export const member = pgTable(
  "member",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => workspace.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    role: text("role", { enum: workspaceRoles }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique("member_organization_user_unique").on(table.organizationId, table.userId),
    index("member_user_id_idx").on(table.userId),
    check("member_role_valid", sql`${table.role} in ('owner', 'admin', 'member', 'viewer')`),
  ],
);
