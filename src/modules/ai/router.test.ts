import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { testDoubleHeader } from "../../../test/fake-llm/server.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import { createTask, expectProblem } from "../../../test/tasks-helpers.ts";
import { aiUsage } from "./schema.ts";

// summary: every vendor, then local; digest: OpenAI alone (to see the chain fail).
const t = useAiTestApp({
  settings: (fake) => ({
    ...testSettings(fake, {
      AI_ROUTES: JSON.stringify({
        summary: ["openai", "anthropic", "compatible", "local"],
        digest: ["openai"],
      }),
      AI_TIMEOUT_MS: 300,
      AI_BREAKER_FAILURES: 1000,
      AI_CACHE: false,
    }),
  }),
});

let user: TestUser;
let taskId: string;

beforeEach(async () => {
  t.fake.reset();
  user ??= await signUp(t.app);
  taskId ??= (await createTask(t.app, user, { title: "Write the quarterly report" })).id;
});

const summarise = () => aiPost(t.app, user, `/v1/tasks/${taskId}/summary`);
const vendorCalls = () => t.fake.requests.map((request) => request.vendor);

async function ledgerOf(requestId: string) {
  await t.app.ai.ledger.flush();
  return t.database.db
    .select({ provider: aiUsage.provider, outcome: aiUsage.outcome, cost: aiUsage.costMicros })
    .from(aiUsage)
    .where(eq(aiUsage.requestId, requestId))
    .orderBy(aiUsage.id);
}

describe("routing across providers", () => {
  it("answers from the first model of the chain, saying which provider and model", async () => {
    t.fake.script("openai", {
      kind: "text",
      text: "The report is open.",
      usage: { inputTokens: 1_000, outputTokens: 500 },
    });
    const response = await summarise();
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      summary: "The report is open.",
      provider: "openai",
      model: "gpt-4o-mini",
      cached: false,
      // gpt-4o-mini: $0.15 and $0.60 per million tokens -> 150 + 300 micro-dollars
      usage: { inputTokens: 1_000, outputTokens: 500, costUsd: 0.00045 },
      template: "summary.v1",
    });
    expect(vendorCalls()).toEqual(["openai"]);
    expect(t.fake.requests[0]?.path).toBe("/responses");
  });

  it("talks to a vendor that announces itself as a test double", async () => {
    const response = await fetch(`${t.fake.baseUrl("openai")}/responses`, {
      method: "POST",
      body: JSON.stringify({ model: "gpt-4o-mini", input: "hi" }),
    });
    expect(response.headers.get(testDoubleHeader)).toMatch(/not a real provider/);
    expect(((await response.json()) as { model: string }).model).toBe("test-double/gpt-4o-mini");
  });

  it("retries a 429 after its Retry-After and then answers from the same model", async () => {
    t.fake.script("openai", { kind: "status", status: 429, retryAfter: "1" });
    const started = Date.now();
    const response = await summarise();
    expect(response.json()).toMatchObject({ provider: "openai" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(vendorCalls()).toEqual(["openai", "openai"]);
    const ledger = await ledgerOf(String(response.headers["x-request-id"]));
    expect(ledger.map((row) => row.outcome)).toEqual(["rate_limited", "ok"]);
  });

  it("moves on at once when Retry-After asks for longer than the cap", async () => {
    t.fake.script("openai", { kind: "status", status: 429, retryAfter: "120" });
    const response = await summarise();
    expect(response.json()).toMatchObject({ provider: "anthropic", model: "claude-haiku-4-5" });
    expect(vendorCalls()).toEqual(["openai", "anthropic"]);
  });

  it("retries 500s with backoff, then falls back to the next model", async () => {
    const failure = { kind: "status", status: 500 } as const;
    t.fake.script("openai", failure, failure, failure);
    const response = await summarise();
    expect(response.json()).toMatchObject({ provider: "anthropic" });
    expect(vendorCalls()).toEqual(["openai", "openai", "openai", "anthropic"]);
    const ledger = await ledgerOf(String(response.headers["x-request-id"]));
    expect(ledger.map((row) => `${row.provider}:${row.outcome}`)).toEqual([
      "openai:error",
      "openai:error",
      "openai:error",
      "anthropic:ok",
    ]);
    expect(ledger.slice(0, 3).every((row) => row.cost === 0)).toBe(true);
  });

  it("times out a hanging provider, retries it, then falls back", async () => {
    t.fake.script("openai", { kind: "hang" }, { kind: "hang" }, { kind: "hang" });
    const response = await summarise();
    expect(response.json()).toMatchObject({ provider: "anthropic" });
    expect(vendorCalls()).toEqual(["openai", "openai", "openai", "anthropic"]);
    const ledger = await ledgerOf(String(response.headers["x-request-id"]));
    expect(ledger.slice(0, 3).map((row) => row.outcome)).toEqual(["timeout", "timeout", "timeout"]);
  });

  it("falls back without retrying when the answer is malformed JSON", async () => {
    t.fake.script("openai", { kind: "malformed" });
    const response = await summarise();
    expect(response.json()).toMatchObject({ provider: "anthropic" });
    expect(vendorCalls()).toEqual(["openai", "anthropic"]);
  });

  it("does not retry a rejected request (401), it falls back", async () => {
    t.fake.script("openai", { kind: "status", status: 401 });
    const response = await summarise();
    expect(response.json()).toMatchObject({ provider: "anthropic" });
    expect(vendorCalls()).toEqual(["openai", "anthropic"]);
  });

  it("walks the whole chain in order: OpenAI 500s, Anthropic rate-limited, Ollama answers", async () => {
    const failure = { kind: "status", status: 503 } as const;
    t.fake.script("openai", failure, failure, failure);
    t.fake.script("anthropic", { kind: "status", status: 429, retryAfter: "60" });
    t.fake.script("compatible", { kind: "text", text: "From the self-hosted model." });
    const response = await summarise();
    expect(response.json()).toMatchObject({
      provider: "compatible",
      model: "llama3.2",
      summary: "From the self-hosted model.",
      usage: { costUsd: 0 },
    });
    expect(vendorCalls()).toEqual(["openai", "openai", "openai", "anthropic", "compatible"]);
    expect(t.fake.requests.at(-1)?.path).toBe("/chat/completions");
  });

  it("ends at the offline provider when every vendor fails", async () => {
    t.fake.setDefault("openai", { kind: "status", status: 500 });
    t.fake.setDefault("anthropic", { kind: "status", status: 529 });
    t.fake.setDefault("compatible", { kind: "malformed" });
    const response = await summarise();
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ provider: "local", model: "taskpilot-local-1" });
    expect(response.json<{ summary: string }>().summary).toContain("Write the quarterly report");
  });

  it("answers 502 upstream_error only when the whole chain failed", async () => {
    t.fake.setDefault("openai", { kind: "status", status: 500 });
    const response = await aiPost(t.app, user, "/v1/ai/digest", {});
    expectProblem(response, 502, "upstream_error");
    expect(vendorCalls()).toEqual(["openai", "openai", "openai"]);
  });

  it("answers 504 upstream_timeout when the chain's last failure was a timeout", async () => {
    t.fake.setDefault("openai", { kind: "hang" });
    const response = await aiPost(t.app, user, "/v1/ai/digest", {});
    expectProblem(response, 504, "upstream_timeout");
  });
});
