import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  expectValidationError,
  listTitles,
  taskActivity,
} from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "../api-keys/test-helpers.ts";
import { aiUsage } from "./schema.ts";

const t = useAiTestApp({
  settings: (fake) =>
    testSettings(fake, {
      AI_ROUTES: JSON.stringify({ breakdown: ["openai", "local"] }),
      AI_CACHE: false,
      AI_BREAKER_FAILURES: 1000,
    }),
});

let user: TestUser;
beforeEach(async () => {
  t.fake.reset();
  user ??= await signUp(t.app);
});

const valid = JSON.stringify({
  subtasks: [{ title: "List the guests", estimateMinutes: 20 }, { title: "Book the restaurant" }],
});

const breakdown = (body: Record<string, unknown>) => aiPost(t.app, user, "/v1/ai/breakdown", body);

describe("POST /v1/ai/breakdown", () => {
  it("returns validated suggestions without changing anything by default", async () => {
    const task = await createTask(t.app, user, { title: "Plan the dinner" });
    t.fake.script("openai", { kind: "text", text: valid });
    const response = await breakdown({ taskId: task.id });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      taskId: task.id,
      subtasks: [
        { title: "List the guests", estimateMinutes: 20 },
        { title: "Book the restaurant" },
      ],
      created: [],
      provider: "openai",
      template: "breakdown.v1",
    });
    expect(await listTitles(t.app, user, { parentId: task.id })).toEqual([]);
  });

  it("with apply: true creates the sub-tasks, each with its activity event", async () => {
    const task = await createTask(t.app, user, { title: "Plan the party" });
    t.fake.script("openai", { kind: "text", text: `\`\`\`json\n${valid}\n\`\`\`` });
    const response = await breakdown({ taskId: task.id, apply: true });
    expect(response.statusCode, response.body).toBe(200);
    const created = response.json<{ created: Array<{ id: string; parentId: string }> }>().created;
    expect(created).toHaveLength(2);
    expect(created.every((subtask) => subtask.parentId === task.id)).toBe(true);
    expect(await listTitles(t.app, user, { parentId: task.id })).toEqual([
      "List the guests",
      "Book the restaurant",
    ]);
    const events = await taskActivity(t.app, user, created[0]?.id ?? "");
    expect(events.map((event) => event.type)).toEqual(["task.created"]);
  });

  it("repairs an invalid answer once, then succeeds", async () => {
    const task = await createTask(t.app, user, { title: "Move house" });
    t.fake.script(
      "openai",
      { kind: "text", text: '{"steps": ["pack"]}' },
      { kind: "text", text: valid },
    );
    const response = await breakdown({ taskId: task.id });
    expect(response.statusCode, response.body).toBe(200);
    expect(t.fake.requests).toHaveLength(2);
    expect(t.fake.requests[1]?.rawBody).toContain("previous answer");
    expect(t.fake.requests[1]?.rawBody).toContain("subtasks");
    await t.app.ai.ledger.flush();
    const ledger = await t.database.db
      .select({ outcome: aiUsage.outcome, template: aiUsage.templateId })
      .from(aiUsage)
      .where(eq(aiUsage.requestId, String(response.headers["x-request-id"])))
      .orderBy(aiUsage.id);
    expect(ledger).toEqual([
      { outcome: "invalid_output", template: "breakdown" },
      { outcome: "ok", template: "breakdown-repair" },
    ]);
  });

  it("answers 502 when the repaired answer is still invalid, creating nothing", async () => {
    const task = await createTask(t.app, user, { title: "Learn the piano" });
    t.fake.script(
      "openai",
      { kind: "text", text: "Sure! Here are some steps: practise." },
      { kind: "text", text: JSON.stringify({ subtasks: [{ title: "" }] }) },
    );
    const response = await breakdown({ taskId: task.id, apply: true });
    expectProblem(response, 502, "upstream_error");
    expect(t.fake.requests).toHaveLength(2);
    expect(await listTitles(t.app, user, { parentId: task.id })).toEqual([]);
  });

  it("answers 404 for another user's task", async () => {
    const stranger = await signUp(t.app);
    const task = await createTask(t.app, stranger, { title: "Private" });
    expectProblem(await breakdown({ taskId: task.id }), 404, "not_found");
    expect(t.fake.requests).toHaveLength(0);
  });

  it("needs tasks:read from an API key to read a task, and tasks:write to apply", async () => {
    const task = await createTask(t.app, user, { title: "Plan the dinner" });
    const asKey = async (scopes: string[], url: string, payload: Record<string, unknown>) => {
      const key = await createApiKey(t.app, user, { scopes });
      return t.app.inject({ method: "POST", url, headers: keyHeaders(key), payload });
    };
    const aiOnly = ["ai:use"];
    for (const [url, payload] of [
      ["/v1/ai/breakdown", { taskId: task.id }],
      [`/v1/tasks/${task.id}/summary`, {}],
      ["/v1/ai/digest", {}],
    ] as const) {
      const refused = await asKey(aiOnly, url, payload);
      expectProblem(refused, 403, "forbidden");
      expect(refused.json().detail).toBe('This API key lacks the "tasks:read" scope');
    }
    const applied = await asKey(["ai:use", "tasks:read"], "/v1/ai/breakdown", {
      taskId: task.id,
      apply: true,
    });
    expectProblem(applied, 403, "forbidden");
    expect(applied.json().detail).toBe(
      "`apply: true` creates sub-tasks and needs the tasks:write scope",
    );
    // Refused before the model is asked, and nothing was created.
    expect(t.fake.requests).toHaveLength(0);
    expect(await listTitles(t.app, user, { parentId: task.id })).toEqual([]);
    t.fake.script("openai", { kind: "text", text: valid });
    const writer = await asKey(["ai:use", "tasks:read", "tasks:write"], "/v1/ai/breakdown", {
      taskId: task.id,
      apply: true,
    });
    expect(writer.statusCode, writer.body).toBe(200);
    expect(await listTitles(t.app, user, { parentId: task.id })).toHaveLength(2);
  });

  it("rejects a malformed body naming the field", async () => {
    expectValidationError(await breakdown({ taskId: "nope" }), "taskId");
    expectValidationError(await breakdown({ taskId: crypto.randomUUID(), extra: 1 }), "extra");
  });
});
