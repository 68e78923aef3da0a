import { and, eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { DomainError, validationFailed } from "../../platform/http/errors.ts";
import { recordActivity } from "../activity/service.ts";
import { personalWorkspaceId, roleIn } from "../workspaces/service.ts";
import { budgetPeriod, spendOf } from "./budget.ts";
import type { BudgetUpdate, UsageQuery } from "./contracts.ts";
import type { AiGateway } from "./gateway.ts";
import { type UsageRow, usageReport } from "./ledger.ts";
import { aiBudgets, type BudgetScope } from "./schema.ts";

/** Usage reports and budgets: the verbs behind /v1/ai/usage and /v1/ai/budget. */

const usd = (micros: number) => micros / 1_000_000;

function assertAdmin(role: string): void {
  if (role !== "owner" && role !== "admin") {
    throw new DomainError("forbidden", "Only workspace owners and admins may do this");
  }
}

export async function getUsage(ctx: Context, ai: AiGateway, query: UsageQuery) {
  const me = actingUser(ctx.actor);
  const now = ctx.now();
  const from = query.from ? new Date(query.from) : budgetPeriod(now).start;
  const to = query.to ? new Date(query.to) : now;
  if (from >= to) throw validationFailed("from", "must be before to");
  if (query.workspaceId) assertAdmin(await roleIn(ctx, query.workspaceId));
  // This instance's own calls are in the report, even those of the last moment.
  await ai.ledger.flush();
  const rows = await usageReport(ctx.db, {
    ...(query.workspaceId ? { workspaceId: query.workspaceId } : { userId: me.userId }),
    from,
    to,
    groupBy: query.groupBy,
  });
  const view = ({ costMicros, ...row }: Omit<UsageRow, "key">) => ({
    ...row,
    costUsd: usd(costMicros),
  });
  const total = rows.reduce(
    (sum, row) => ({
      calls: sum.calls + row.calls,
      cacheHits: sum.cacheHits + row.cacheHits,
      failures: sum.failures + row.failures,
      inputTokens: sum.inputTokens + row.inputTokens,
      outputTokens: sum.outputTokens + row.outputTokens,
      cachedTokens: sum.cachedTokens + row.cachedTokens,
      costMicros: sum.costMicros + row.costMicros,
    }),
    {
      calls: 0,
      cacheHits: 0,
      failures: 0,
      inputTokens: 0,
      outputTokens: 0,
      cachedTokens: 0,
      costMicros: 0,
    },
  );
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    groupBy: query.groupBy,
    data: rows.map((row) => ({ key: row.key, ...view(row) })),
    total: view(total),
  };
}

async function limitOf(ctx: Context, scope: BudgetScope, scopeId: string) {
  const [row] = await ctx.db
    .select({ limit: aiBudgets.monthlyLimitMicros })
    .from(aiBudgets)
    .where(and(eq(aiBudgets.scope, scope), eq(aiBudgets.scopeId, scopeId)));
  return row?.limit ?? null;
}

async function budgetView(
  ctx: Context,
  ai: AiGateway,
  scope: BudgetScope,
  scopeId: string,
  defaultLimit: number | null,
) {
  const now = ctx.now();
  const limit = (await limitOf(ctx, scope, scopeId)) ?? defaultLimit;
  const { spentMicros, reservedMicros } = await spendOf(ctx.db, ai.ledger, { scope, scopeId }, now);
  const { period, resetsAt } = budgetPeriod(now);
  return {
    scope,
    scopeId,
    monthlyLimitUsd: limit === null ? null : usd(limit),
    spentUsd: usd(spentMicros),
    reservedUsd: usd(reservedMicros),
    remainingUsd: limit === null ? null : usd(Math.max(0, limit - spentMicros - reservedMicros)),
    period: period.slice(0, 7),
    resetsAt: resetsAt.toISOString(),
  };
}

export async function getBudget(ctx: Context, ai: AiGateway, query: { workspaceId?: string }) {
  const me = actingUser(ctx.actor);
  const workspaceId = query.workspaceId ?? (await personalWorkspaceId(ctx));
  await roleIn(ctx, workspaceId);
  return {
    user: await budgetView(ctx, ai, "user", me.userId, ai.settings.defaultUserBudgetMicros),
    workspace: await budgetView(ctx, ai, "workspace", workspaceId, null),
  };
}

/** Sets or (with null) removes a monthly limit. Workspace limits: owners and admins only. */
export async function setBudget(ctx: Context, ai: AiGateway, input: BudgetUpdate) {
  const me = actingUser(ctx.actor);
  const workspaceId = input.workspaceId ?? (await personalWorkspaceId(ctx));
  if (input.scope === "workspace") assertAdmin(await roleIn(ctx, workspaceId));
  else if (input.workspaceId) await roleIn(ctx, workspaceId);
  const scopeId = input.scope === "user" ? me.userId : workspaceId;
  const limit = input.monthlyLimitUsd === null ? null : Math.round(input.monthlyLimitUsd * 1e6);
  await withTransaction(ctx.db, async (tx) => {
    const where = and(eq(aiBudgets.scope, input.scope), eq(aiBudgets.scopeId, scopeId));
    let budgetId: string;
    if (limit === null) {
      const [removed] = await tx.delete(aiBudgets).where(where).returning({ id: aiBudgets.id });
      if (!removed) return;
      budgetId = removed.id;
    } else {
      const [saved] = await tx
        .insert(aiBudgets)
        .values({
          id: uuidv7(),
          scope: input.scope,
          scopeId,
          monthlyLimitMicros: limit,
          updatedBy: me.userId,
          updatedAt: ctx.now(),
        })
        .onConflictDoUpdate({
          target: [aiBudgets.scope, aiBudgets.scopeId],
          set: { monthlyLimitMicros: limit, updatedBy: me.userId, updatedAt: ctx.now() },
        })
        .returning({ id: aiBudgets.id });
      if (!saved) throw new Error("upsert returned no row");
      budgetId = saved.id;
    }
    await recordActivity(inTransaction(ctx, tx), {
      type: "ai_budget.updated",
      workspaceId: input.scope === "workspace" ? workspaceId : null,
      entity: { type: "ai_budget", id: budgetId, title: `Monthly AI budget (${input.scope})` },
      changes: { monthlyLimitUsd: input.monthlyLimitUsd },
    });
  });
  // Calls on this instance see the new budget at once (others within budgetLookupTtlMs).
  ai.budgets.forget(input.scope, scopeId);
  return getBudget(ctx, ai, { workspaceId });
}
