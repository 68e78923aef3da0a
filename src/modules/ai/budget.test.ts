import { and, eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser, useSecondInstance } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  expectValidationError,
  personalWorkspaceId,
} from "../../../test/tasks-helpers.ts";
import { member, workspace } from "../workspaces/schema.ts";
import { budgetPeriod } from "./budget.ts";
import { aiBudgetSpend, aiUsage } from "./schema.ts";

// summary may use only OpenAI (paid); digest falls back to the offline provider.
const t = useAiTestApp({
  now: "2026-11-27T10:00:00Z",
  settings: (fake) => ({
    ...testSettings(fake, {
      AI_ROUTES: JSON.stringify({ summary: ["openai"], digest: ["openai", "local"] }),
      AI_CACHE: false,
      AI_MAX_RETRIES: 0,
      AI_BREAKER_FAILURES: 1000,
    }),
    // Budgets stop the offline provider too, so the race shows in 429s.
    localWhenOverBudget: false,
  }),
});

// 100 + 100 tokens of gpt-4o-mini: 15 + 60 micro-dollars per call.
const usage = { inputTokens: 100, outputTokens: 100 };
let user: TestUser;

beforeEach(async () => {
  t.fake.reset();
  t.fake.setDefault("openai", { kind: "text", text: "A summary.", usage });
  user = await signUp(t.app);
});

const putBudget = (who: TestUser, body: Record<string, unknown>) =>
  t.app.inject({ method: "PUT", url: "/v1/ai/budget", headers: who.headers, payload: body });

const getBudget = (who: TestUser, query = "") =>
  t.app.inject({ url: `/v1/ai/budget${query}`, headers: who.headers });

describe("monthly budgets", () => {
  it("shows no limit by default and what was spent this month", async () => {
    const task = await createTask(t.app, user, { title: "Spend a little" });
    await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    const response = await getBudget(user);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      user: {
        scope: "user",
        scopeId: user.id,
        monthlyLimitUsd: null,
        spentUsd: 0.000075,
        remainingUsd: null,
        period: "2026-11",
        resetsAt: "2026-12-01T00:00:00.000Z",
      },
      workspace: { scope: "workspace", monthlyLimitUsd: null },
    });
  });

  it("refuses calls over budget with 429 budget_exceeded and the reset time", async () => {
    const task = await createTask(t.app, user, { title: "Too expensive" });
    expect((await putBudget(user, { scope: "user", monthlyLimitUsd: 0.0001 })).statusCode).toBe(
      200,
    );
    const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    const problem = expectProblem(response, 429, "budget_exceeded");
    expect(problem.detail).toContain("2026-12-01T00:00:00.000Z");
    expect(response.headers["ai-budget-reset"]).toBe("2026-12-01T00:00:00.000Z");
    expect(Number(response.headers["retry-after"])).toBe(3 * 24 * 3600 + 14 * 3600);
    expect(t.fake.requests).toHaveLength(0);
  });

  it("keeps 50 concurrent calls within the limit plus at most one call's maximum cost", async () => {
    const limitMicros = 1_500;
    await putBudget(user, { scope: "user", monthlyLimitUsd: limitMicros / 1e6 });
    const task = await createTask(t.app, user, { title: "Race the budget" });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => aiPost(t.app, user, `/v1/tasks/${task.id}/summary`)),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);

    const [spend] = await t.database.db
      .select()
      .from(aiBudgetSpend)
      .where(and(eq(aiBudgetSpend.scope, "user"), eq(aiBudgetSpend.scopeId, user.id)));
    await t.app.ai.ledger.flush();
    const ledger = await t.database.db
      .select({ cost: aiUsage.costMicros })
      .from(aiUsage)
      .where(eq(aiUsage.userId, user.id));
    const spent = ledger.reduce((sum, row) => sum + row.cost, 0);
    const maxCallCost = 400 * 0.6 + 2_000 * 0.15; // output cap + a generous prompt estimate
    expect(spent).toBeLessThanOrEqual(limitMicros + maxCallCost);
    expect(spend?.spentMicros).toBe(spent);
    expect(spend?.reservedMicros).toBe(0);
    expect(ledger).toHaveLength(statuses.filter((status) => status === 200).length);
  });

  it("lets the offline provider answer when the paid budget is used up, if so configured", async () => {
    // This app refuses; the default configuration (tested in offline.test.ts) lets local answer.
    await putBudget(user, { scope: "user", monthlyLimitUsd: 0 });
    const response = await aiPost(t.app, user, "/v1/ai/digest", {});
    expectProblem(response, 429, "budget_exceeded");
  });

  it("applies a workspace budget to every member's calls", async () => {
    const workspaceId = await personalWorkspaceId(t.app, user);
    expect(
      (await putBudget(user, { scope: "workspace", workspaceId, monthlyLimitUsd: 0 })).statusCode,
    ).toBe(200);
    const task = await createTask(t.app, user, { title: "Workspace capped" });
    expectProblem(
      await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`),
      429,
      "budget_exceeded",
    );
    const budget = (await getBudget(user)).json();
    expect(budget.workspace).toMatchObject({ monthlyLimitUsd: 0, remainingUsd: 0 });
  });

  it("removes a limit with null, and records the change in the activity trail", async () => {
    await putBudget(user, { scope: "user", monthlyLimitUsd: 5 });
    const response = await putBudget(user, { scope: "user", monthlyLimitUsd: null });
    expect(response.json().user.monthlyLimitUsd).toBeNull();
    const me = await t.app.inject({ url: "/v1/me/activity", headers: user.headers });
    const types = me.json<{ data: Array<{ type: string }> }>().data.map((event) => event.type);
    expect(types.filter((type) => type === "ai_budget.updated")).toHaveLength(2);
  });

  it("lets only owners and admins set a workspace budget", async () => {
    const admin = user;
    const plain = await signUp(t.app);
    const workspaceId = uuidv7();
    await t.database.db
      .insert(workspace)
      .values({ id: workspaceId, name: "Team", slug: `team-${workspaceId}` });
    await t.database.db.insert(member).values([
      { id: uuidv7(), organizationId: workspaceId, userId: admin.id, role: "admin" },
      { id: uuidv7(), organizationId: workspaceId, userId: plain.id, role: "member" },
    ]);
    const body = { scope: "workspace", workspaceId, monthlyLimitUsd: 10 };
    expectProblem(await putBudget(plain, body), 403, "forbidden");
    expect((await putBudget(admin, body)).json().workspace.monthlyLimitUsd).toBe(10);
    // Members can read it.
    expect((await getBudget(plain, `?workspaceId=${workspaceId}`)).json().workspace).toMatchObject({
      monthlyLimitUsd: 10,
    });
    // A stranger cannot see that the workspace exists.
    const stranger = await signUp(t.app);
    expectProblem(await getBudget(stranger, `?workspaceId=${workspaceId}`), 404, "not_found");
    // Not an id at all: a field error in the words every other id gets.
    const notAnId = expectValidationError(
      await getBudget(stranger, "?workspaceId=team"),
      "workspaceId",
    );
    expect(notAnId.errors?.[0]?.message).toBe("must be a UUID");
    expectProblem(
      await t.app.inject({
        url: `/v1/ai/usage?workspaceId=${workspaceId}`,
        headers: plain.headers,
      }),
      403,
      "forbidden",
    );
  });

  it("applies a budget set with PUT to the very next call on this instance", async () => {
    const task = await createTask(t.app, user, { title: "Budget arrives" });
    const summary = () => aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    // This instance now remembers that no budget applies to the user.
    expect((await summary()).statusCode).toBe(200);
    expect((await putBudget(user, { scope: "user", monthlyLimitUsd: 0 })).statusCode).toBe(200);
    expectProblem(await summary(), 429, "budget_exceeded");
  });

  it("applies a workspace budget set with PUT to the very next call on this instance", async () => {
    const workspaceId = await personalWorkspaceId(t.app, user);
    const task = await createTask(t.app, user, { title: "Workspace budget arrives" });
    const summary = () => aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    expect((await summary()).statusCode).toBe(200);
    const put = await putBudget(user, { scope: "workspace", workspaceId, monthlyLimitUsd: 0 });
    expect(put.statusCode, put.body).toBe(200);
    expectProblem(await summary(), 429, "budget_exceeded");
  });

  it("rejects a negative limit naming the field", async () => {
    expectValidationError(
      await putBudget(user, { scope: "user", monthlyLimitUsd: -1 }),
      "monthlyLimitUsd",
    );
  });
});

describe("a budget changed on another instance", () => {
  const other = useSecondInstance(t);
  const putBudgetThere = (who: TestUser, body: Record<string, unknown>) =>
    other.app.inject({ method: "PUT", url: "/v1/ai/budget", headers: who.headers, payload: body });

  it("applies a lowered limit at once, while this instance remembers which budgets apply", async () => {
    await putBudget(user, { scope: "user", monthlyLimitUsd: 1 });
    const task = await createTask(t.app, user, { title: "Limit lowered elsewhere" });
    const summary = () => aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    expect((await summary()).statusCode).toBe(200);
    const lowered = await putBudgetThere(user, { scope: "user", monthlyLimitUsd: 0.0001 });
    expect(lowered.statusCode, lowered.body).toBe(200);
    expectProblem(await summary(), 429, "budget_exceeded");
  });

  it("lifts a removed limit at once", async () => {
    await putBudget(user, { scope: "user", monthlyLimitUsd: 0 });
    const task = await createTask(t.app, user, { title: "Limit removed elsewhere" });
    const summary = () => aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    expectProblem(await summary(), 429, "budget_exceeded");
    const removed = await putBudgetThere(user, { scope: "user", monthlyLimitUsd: null });
    expect(removed.statusCode, removed.body).toBe(200);
    expect((await summary()).statusCode).toBe(200);
  });
});

describe("GET /v1/ai/usage", () => {
  it("groups the ledger by day, model and feature", async () => {
    const task = await createTask(t.app, user, { title: "Measure me" });
    await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    t.fake.script("openai", { kind: "status", status: 500 });
    await aiPost(t.app, user, "/v1/ai/digest", {});
    const report = async (groupBy: string) => {
      const response = await t.app.inject({
        url: `/v1/ai/usage?groupBy=${groupBy}`,
        headers: user.headers,
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
    };
    const byModel = await report("model");
    expect(byModel.data).toEqual([
      expect.objectContaining({ key: "local:taskpilot-local-1", calls: 1, costUsd: 0 }),
      expect.objectContaining({
        key: "openai:gpt-4o-mini",
        calls: 3,
        failures: 1,
        costUsd: 0.00015,
      }),
    ]);
    expect(byModel.total).toMatchObject({
      calls: 4,
      inputTokens: expect.any(Number),
      costUsd: 0.00015,
    });
    expect((await report("feature")).data.map((row: { key: string }) => row.key)).toEqual([
      "digest",
      "summary",
    ]);
    expect((await report("day")).data).toEqual([
      expect.objectContaining({ key: "2026-11-27", calls: 4 }),
    ]);
  });

  it("rejects a range that ends before it starts", async () => {
    const response = await t.app.inject({
      url: "/v1/ai/usage?from=2026-11-20T00:00:00Z&to=2026-11-10T00:00:00Z",
      headers: user.headers,
    });
    expectValidationError(response, "from");
  });

  it("computes the month of a budget in UTC", () => {
    expect(budgetPeriod(new Date("2026-12-31T23:59:59Z"))).toMatchObject({
      period: "2026-12-01",
      resetsAt: new Date("2027-01-01T00:00:00Z"),
    });
  });
});
