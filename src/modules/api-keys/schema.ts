import { sql } from "drizzle-orm";
import { check, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";
import { scopes } from "../../platform/auth/scopes.ts";
import { workspace } from "../workspaces/schema.ts";

const knownScopes = sql.raw(`array[${scopes.map((scope) => `'${scope}'`).join(", ")}]::text[]`);

/**
 * API keys act for their owner with a subset of scopes, optionally inside one
 * workspace. Only the SHA-256 of the key is stored: the key is 32 random
 * bytes, so the hash cannot be reversed or guessed, and a database leak does
 * not leak working keys. `start` is the first characters, for recognising a
 * key in a list.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    workspaceId: uuid("workspace_id").references(() => workspace.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    start: text("start").notNull(),
    keyHash: text("key_hash").notNull().unique(),
    scopes: text("scopes").array().notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    index("api_keys_user_id_idx").on(table.userId, table.id),
    check("api_keys_name_length", sql`char_length(btrim(${table.name})) between 1 and 100`),
    check("api_keys_key_hash_sha256", sql`${table.keyHash} ~ '^[0-9a-f]{64}$'`),
    check(
      "api_keys_scopes_known",
      sql`cardinality(${table.scopes}) >= 1 and ${table.scopes} <@ ${knownScopes}`,
    ),
  ],
);
