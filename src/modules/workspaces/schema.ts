import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";
import { currentTransactionId, xid8 } from "../../platform/db/xid8.ts";

// Named after better-auth's organization plugin tables (ADR 0002), although
// our own verbs own them; `personal_owner_id` marks each user's own space.
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
    // Null: the deployment's default (AI_REDACT_PII) applies.
    aiRedactPii: boolean("ai_redact_pii"),
    version: integer("version").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check("organization_name_length", sql`char_length(btrim(${table.name})) between 1 and 100`),
    check("organization_version_positive", sql`${table.version} > 0`),
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
    /**
     * The transaction that made this membership: the event feed shows the
     * member the workspace's events from it on, never its history before
     * (src/modules/events/feed.ts). Memberships from before the feed hold 1.
     */
    joinedTx: xid8("joined_tx").notNull().default(currentTransactionId),
  },
  (table) => [
    unique("member_organization_user_unique").on(table.organizationId, table.userId),
    index("member_user_id_idx").on(table.userId),
    check("member_role_valid", sql`${table.role} in ('owner', 'admin', 'member', 'viewer')`),
  ],
);

/** Roles an invitation can grant: ownership only ever moves by transfer or role change. */
export const invitableRoles = ["admin", "member", "viewer"] as const;
export type InvitableRole = (typeof invitableRoles)[number];

export const invitationStatuses = ["pending", "accepted", "revoked", "expired"] as const;
export type InvitationStatus = (typeof invitationStatuses)[number];

/**
 * better-auth's invitation shape. A pending row past `expires_at` is expired
 * whether or not its status says so yet: readers compare with the clock, and
 * a new invitation for the same address marks the old one expired.
 */
export const invitation = pgTable(
  "invitation",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id")
      .notNull()
      .references(() => workspace.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: invitableRoles }).notNull(),
    status: text("status", { enum: invitationStatuses }).notNull().default("pending"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    inviterId: uuid("inviter_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // One open invitation per address and workspace.
    uniqueIndex("invitation_pending_email_unique")
      .on(table.organizationId, table.email)
      .where(sql`${table.status} = 'pending'`),
    index("invitation_organization_created_idx").on(
      table.organizationId,
      table.createdAt,
      table.id,
    ),
    check("invitation_email_lowercase", sql`${table.email} = lower(${table.email})`),
    check("invitation_role_valid", sql`${table.role} in ('admin', 'member', 'viewer')`),
    check(
      "invitation_status_valid",
      sql`${table.status} in ('pending', 'accepted', 'revoked', 'expired')`,
    ),
  ],
);
