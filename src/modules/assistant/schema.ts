import { sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";

/**
 * Chat history lives here and nowhere else: the server keeps nothing
 * between requests, so any instance (or the same one after a restart)
 * continues a conversation from these rows.
 */
export const conversations = pgTable(
  "conversations",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("conversations_user_updated_idx").on(
      table.userId,
      table.updatedAt.desc(),
      table.id.desc(),
    ),
    check("conversations_title_length", sql`char_length(${table.title}) between 1 and 200`),
  ],
);

export const approvalStatuses = ["pending", "approved", "rejected", "expired"] as const;
export type ApprovalStatus = (typeof approvalStatuses)[number];

/**
 * Tool calls the assistant may not make on its own (deletes, or more than a
 * few changes in one turn), waiting for the user's yes or no. The calls are
 * stored exactly as they will run; the summary is written by the server
 * from those calls, never by a model.
 */
export const chatApprovals = pgTable(
  "chat_approvals",
  {
    id: uuid("id").primaryKey(),
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    summary: text("summary").notNull(),
    toolCalls: jsonb("tool_calls").notNull(),
    status: text("status", { enum: approvalStatuses }).notNull().default("pending"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
  },
  (table) => [
    index("chat_approvals_conversation_idx").on(table.conversationId),
    check(
      "chat_approvals_status_valid",
      sql`${table.status} in ('pending', 'approved', 'rejected', 'expired')`,
    ),
    check(
      "chat_approvals_decided_unless_pending",
      sql`(${table.status} = 'pending') = (${table.decidedAt} is null)`,
    ),
    check("chat_approvals_expiry_after_creation", sql`${table.expiresAt} > ${table.createdAt}`),
  ],
);

export const messageRoles = ["user", "assistant"] as const;
export type MessageRole = (typeof messageRoles)[number];

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey(),
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    role: text("role", { enum: messageRoles }).notNull(),
    content: text("content").notNull(),
    /** The tool calls made while writing this (assistant) message, with their outcomes. */
    toolCalls: jsonb("tool_calls").notNull().default(sql`'[]'::jsonb`),
    /** The approval this message asked for, or decided. */
    approvalId: uuid("approval_id").references(() => chatApprovals.id, { onDelete: "set null" }),
    /**
     * What the assistant needs to remember for the next turn (the tasks it
     * just offered to choose from, say). Internal: never sent to clients.
     */
    state: jsonb("state"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("messages_conversation_idx").on(table.conversationId, table.id),
    check("messages_role_valid", sql`${table.role} in ('user', 'assistant')`),
    check("messages_content_length", sql`char_length(${table.content}) <= 20000`),
  ],
);
