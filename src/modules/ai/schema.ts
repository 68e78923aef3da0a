import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "../../platform/auth/schema.ts";
import { workspace } from "../workspaces/schema.ts";

export const usageOutcomes = [
  "ok",
  "cache_hit",
  "error",
  "timeout",
  "rate_limited",
  "invalid_output",
  "aborted",
] as const;
export type UsageOutcome = (typeof usageOutcomes)[number];

const micros = (name: string) => bigint(name, { mode: "number" });

/**
 * The usage and cost ledger: one row per model call (retries and fallbacks
 * included) and per cache hit. Rows are never updated. Cost is in integer
 * micro-dollars so sums are exact.
 */
export const aiUsage = pgTable(
  "ai_usage",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id").references(() => user.id, { onDelete: "set null" }),
    workspaceId: uuid("workspace_id").references(() => workspace.id, { onDelete: "set null" }),
    requestId: text("request_id").notNull(),
    feature: text("feature").notNull(),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    templateId: text("template_id").notNull(),
    templateVersion: integer("template_version").notNull(),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    costMicros: micros("cost_micros").notNull().default(0),
    latencyMs: integer("latency_ms").notNull(),
    cacheHit: boolean("cache_hit").notNull().default(false),
    outcome: text("outcome", { enum: usageOutcomes }).notNull(),
    /** Safety flags raised on the input, e.g. possible prompt injection. */
    flags: text("flags").array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("ai_usage_user_idx").on(table.userId, table.createdAt),
    index("ai_usage_workspace_idx").on(table.workspaceId, table.createdAt),
    check("ai_usage_tokens_valid", sql`${table.inputTokens} >= 0 and ${table.outputTokens} >= 0`),
    check("ai_usage_cost_valid", sql`${table.costMicros} >= 0`),
    check(
      "ai_usage_outcome_valid",
      sql`${table.outcome} in ('ok', 'cache_hit', 'error', 'timeout', 'rate_limited', 'invalid_output', 'aborted')`,
    ),
  ],
);

/** Exact-match response cache (Postgres tier; Redis replaces it when configured). */
export const aiCache = pgTable(
  "ai_cache",
  {
    key: text("key").primaryKey(),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    answer: jsonb("answer").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [index("ai_cache_expires_idx").on(table.expiresAt)],
);

export const budgetScopes = ["user", "workspace"] as const;
export type BudgetScope = (typeof budgetScopes)[number];

/** A monthly spending limit for a user or a workspace. */
export const aiBudgets = pgTable(
  "ai_budgets",
  {
    id: uuid("id").primaryKey(),
    scope: text("scope", { enum: budgetScopes }).notNull(),
    scopeId: uuid("scope_id").notNull(),
    monthlyLimitMicros: micros("monthly_limit_micros").notNull(),
    updatedBy: uuid("updated_by").references(() => user.id, { onDelete: "set null" }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique("ai_budgets_scope_unique").on(table.scope, table.scopeId),
    check("ai_budgets_scope_valid", sql`${table.scope} in ('user', 'workspace')`),
    check("ai_budgets_limit_valid", sql`${table.monthlyLimitMicros} >= 0`),
  ],
);

/**
 * What a budget has spent and holds in reservations this month. Calls
 * reserve their maximum cost with one conditional UPDATE (the row lock makes
 * concurrent reservations queue), and settle the real cost afterwards.
 */
export const aiBudgetSpend = pgTable(
  "ai_budget_spend",
  {
    scope: text("scope", { enum: budgetScopes }).notNull(),
    scopeId: uuid("scope_id").notNull(),
    period: date("period", { mode: "string" }).notNull(),
    spentMicros: micros("spent_micros").notNull().default(0),
    reservedMicros: micros("reserved_micros").notNull().default(0),
  },
  (table) => [
    primaryKey({ columns: [table.scope, table.scopeId, table.period] }),
    check("ai_budget_spend_valid", sql`${table.spentMicros} >= 0 and ${table.reservedMicros} >= 0`),
  ],
);
