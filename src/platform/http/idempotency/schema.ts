import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * One row per Idempotency-Key a principal sent to one route. `status` is
 * null while the first request runs (the claim); afterwards the row holds
 * that request's answer, replayed for retries with the same body.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    id: uuid("id").primaryKey(),
    principal: text("principal").notNull(),
    method: text("method").notNull(),
    path: text("path").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    status: integer("status"),
    headers: jsonb("headers").$type<Record<string, string>>(),
    body: text("body"),
    /**
     * The body is sealed (platform/crypto/sealed.ts): the answer carried a
     * secret shown once (`Cache-Control: no-store`: a new API key, a
     * webhook's signing secret), which must not lie here in plain text.
     */
    sealed: boolean("sealed").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    /** When the current attempt claimed the key; an old claim was abandoned. */
    lockedAt: timestamp("locked_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex("idempotency_keys_scope_idx").on(
      table.principal,
      table.method,
      table.path,
      table.key,
    ),
    index("idempotency_keys_created_idx").on(table.createdAt),
    check("idempotency_keys_key_length", sql`char_length(${table.key}) between 1 and 255`),
    check(
      "idempotency_keys_status_range",
      sql`${table.status} is null or ${table.status} between 200 and 499`,
    ),
  ],
);
