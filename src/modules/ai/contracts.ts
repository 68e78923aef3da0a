import { z } from "zod";
import { isoDateTime, uuid } from "../../platform/http/fields.ts";
import { listTasksQuerySchema, taskSchema } from "../tasks/contracts.ts";

const usageSchema = z
  .object({
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    costUsd: z.number().meta({ description: "0 for cache hits and the offline provider" }),
  })
  .meta({ id: "AiUsage" });

/** What every AI answer says about how it was produced. */
const answerMeta = {
  provider: z.string().meta({ examples: ["openai", "anthropic", "compatible", "local"] }),
  model: z.string(),
  cached: z.boolean(),
  usage: usageSchema,
  template: z
    .string()
    .meta({ description: "Prompt template id and version", examples: ["summary.v1"] }),
  flags: z
    .array(z.string())
    .meta({ description: 'Safety flags raised on the input, e.g. "possible_prompt_injection"' }),
};

export const summarySchema = z
  .object({ taskId: z.uuid(), summary: z.string(), ...answerMeta })
  .meta({ id: "AiSummary" });

export const digestSchema = z
  .object({ digest: z.string(), taskCount: z.number().int(), ...answerMeta })
  .meta({ id: "AiDigest" });

export const subtaskSuggestionSchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  estimateMinutes: z.number().int().min(1).max(10_080).optional(),
});

/** What a model must answer for a breakdown (validated; repaired once, then 502). */
export const breakdownOutputSchema = z.strictObject({
  subtasks: z.array(subtaskSuggestionSchema).min(1).max(12),
});

/** What a model must answer for quick add (validated; repaired once, then the offline parser). */
export const quickAddOutputSchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  priority: z.enum(["urgent", "high", "medium", "low"]).nullable(),
  tags: z.array(z.string().trim().min(1).max(50)).max(20),
  category: z.string().trim().min(1).max(100).nullable(),
  due: z.string().trim().min(1).max(100).nullable(),
  recurrence: z.string().trim().min(1).max(100).nullable(),
});

export const breakdownSchema = z
  .object({
    taskId: z.uuid(),
    subtasks: z.array(subtaskSuggestionSchema),
    created: z
      .array(taskSchema)
      .meta({ description: "The sub-tasks created when apply was true, else empty" }),
    ...answerMeta,
  })
  .meta({ id: "AiBreakdown" });

export const digestFilterSchema = listTasksQuerySchema
  .omit({ status: true, sort: true, order: true, limit: true, cursor: true, deleted: true })
  .extend({
    status: z
      .enum(["open", "completed", "all"])
      .optional()
      .meta({ description: "Default: open tasks plus those completed in the last 7 days" }),
  })
  .meta({ description: "The filters of GET /v1/tasks, with the same values" });

export const digestBodySchema = z
  .strictObject({ filter: digestFilterSchema.optional() })
  .meta({ id: "AiDigestRequest" });

export const breakdownBodySchema = z
  .strictObject({
    taskId: uuid,
    apply: z
      .boolean()
      .optional()
      .meta({ description: "Create the suggestions as sub-tasks, in one transaction" }),
  })
  .meta({ id: "AiBreakdownRequest" });

export const usageQuerySchema = z.strictObject({
  from: isoDateTime.optional().meta({ description: "Default: start of this month (UTC)" }),
  to: isoDateTime.optional().meta({ description: "Default: now" }),
  groupBy: z.enum(["day", "model", "feature"]).default("day"),
  workspaceId: z
    .uuid()
    .optional()
    .meta({ description: "Usage of everyone in this workspace (admins and owners only)" }),
});

const usageTotalsShape = {
  calls: z.number().int(),
  cacheHits: z.number().int(),
  failures: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cachedTokens: z.number().int(),
  costUsd: z.number(),
};

export const usageReportSchema = z
  .object({
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    groupBy: z.enum(["day", "model", "feature"]),
    data: z.array(z.object({ key: z.string(), ...usageTotalsShape })),
    total: z.object(usageTotalsShape),
  })
  .meta({ id: "AiUsageReport" });

const budgetViewSchema = z.object({
  scope: z.enum(["user", "workspace"]),
  scopeId: z.uuid(),
  monthlyLimitUsd: z.number().nullable().meta({ description: "null: no limit" }),
  spentUsd: z.number(),
  reservedUsd: z.number().meta({ description: "Held by calls in flight" }),
  remainingUsd: z.number().nullable(),
  period: z.string().meta({ examples: ["2026-11"] }),
  resetsAt: z.iso.datetime(),
});

export const budgetSchema = z
  .object({ user: budgetViewSchema, workspace: budgetViewSchema })
  .meta({ id: "AiBudget" });

export const budgetQuerySchema = z.strictObject({
  workspaceId: uuid.optional().meta({ description: "Default: your personal workspace" }),
});

export const budgetBodySchema = z
  .strictObject({
    scope: z.enum(["user", "workspace"]),
    workspaceId: z
      .uuid()
      .optional()
      .meta({ description: "For scope workspace; default: your personal workspace" }),
    monthlyLimitUsd: z
      .number()
      .min(0, "must not be negative")
      .max(1_000_000, "must be at most 1000000")
      .nullable()
      .meta({ description: "null removes the limit" }),
  })
  .meta({ id: "AiBudgetUpdate" });

export type SummaryAnswer = z.infer<typeof summarySchema>;
export type DigestAnswer = z.infer<typeof digestSchema>;
export type BreakdownAnswer = z.infer<typeof breakdownSchema>;
export type DigestFilter = z.infer<typeof digestFilterSchema>;
export type UsageQuery = z.infer<typeof usageQuerySchema>;
export type BudgetUpdate = z.infer<typeof budgetBodySchema>;
