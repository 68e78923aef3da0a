import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { aiPost, parseSse, streamedText } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import { createTask, expectProblem } from "../../../test/tasks-helpers.ts";
import { aiUsage } from "./schema.ts";

const t = useAiTestApp({
  settings: (fake) =>
    testSettings(fake, {
      AI_ROUTES: JSON.stringify({
        summary: ["openai", "anthropic", "local"],
        digest: ["compatible", "local"],
        breakdown: ["openai", "local"],
      }),
      AI_TIMEOUT_MS: 500,
      AI_MAX_RETRIES: 0,
      AI_BREAKER_FAILURES: 1000,
    }),
});

let user: TestUser;

beforeEach(async () => {
  t.fake.reset();
  user ??= await signUp(t.app);
});

const newTask = (title = "Prepare the board meeting") => createTask(t.app, user, { title });

describe("streaming answers (Accept: text/event-stream)", () => {
  it("streams delta events, then one done with provider, model, usage and cached", async () => {
    const task = await newTask();
    t.fake.script("openai", {
      kind: "text",
      text: "The meeting is open and due soon.",
      chunks: ["The meeting ", "is open ", "and due soon."],
      usage: { inputTokens: 200, outputTokens: 9 },
    });
    const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`, undefined, {
      stream: true,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(response.headers["x-request-id"]).toBeDefined();
    const events = parseSse(response.body);
    expect(events.map((event) => event.event)).toEqual(["delta", "delta", "delta", "done"]);
    expect(streamedText(events)).toBe("The meeting is open and due soon.");
    expect(events.at(-1)?.data).toMatchObject({
      summary: "The meeting is open and due soon.",
      provider: "openai",
      model: "gpt-4o-mini",
      cached: false,
      usage: { inputTokens: 200, outputTokens: 9 },
    });
    expect(t.fake.requests[0]?.stream).toBe(true);
  });

  it("streams from Anthropic's wire format after falling back before the first byte", async () => {
    const task = await newTask();
    t.fake.script("openai", { kind: "status", status: 500 });
    t.fake.script("anthropic", { kind: "text", text: "Claude-shaped answer from the double." });
    const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`, undefined, {
      stream: true,
    });
    const events = parseSse(response.body);
    expect(streamedText(events)).toBe("Claude-shaped answer from the double.");
    expect(events.at(-1)).toMatchObject({ event: "done", data: { provider: "anthropic" } });
  });

  it("streams from an OpenAI-compatible server (Ollama's chat completions)", async () => {
    t.fake.script("compatible", { kind: "text", text: "Nothing is overdue today." });
    const response = await aiPost(t.app, user, "/v1/ai/digest", {}, { stream: true });
    const events = parseSse(response.body);
    expect(streamedText(events)).toBe("Nothing is overdue today.");
    expect(events.at(-1)).toMatchObject({ event: "done", data: { provider: "compatible" } });
  });

  it("ends with one error event when the provider stalls after the first bytes", async () => {
    const task = await newTask();
    t.fake.script("openai", {
      kind: "text",
      text: "one two three four five six seven eight nine",
      chunks: ["one ", "two ", "three ", "four "],
      stopAfterChunks: 2,
    });
    const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`, undefined, {
      stream: true,
    });
    const events = parseSse(response.body);
    expect(events.map((event) => event.event)).toEqual(["delta", "delta", "error"]);
    expect(events.at(-1)?.data).toMatchObject({ status: 502, code: "upstream_error" });
    // Once bytes went out, nothing else may be spliced in: no fallback to Anthropic.
    expect(t.fake.requests.map((request) => request.vendor)).toEqual(["openai"]);
  });

  it("answers problem+json when the request fails before the first event", async () => {
    const stranger = await signUp(t.app);
    const task = await createTask(t.app, stranger, { title: "Not yours" });
    const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`, undefined, {
      stream: true,
    });
    expectProblem(response, 404, "not_found");
    expect(t.fake.requests).toHaveLength(0);
  });

  it("streams a breakdown as one line per validated suggestion", async () => {
    const task = await newTask();
    t.fake.script("openai", {
      kind: "text",
      text: JSON.stringify({
        subtasks: [{ title: "Draft the agenda", estimateMinutes: 30 }, { title: "Book a room" }],
      }),
    });
    const response = await aiPost(
      t.app,
      user,
      "/v1/ai/breakdown",
      { taskId: task.id },
      {
        stream: true,
      },
    );
    const events = parseSse(response.body);
    expect(streamedText(events)).toBe("- Draft the agenda (30 min)\n- Book a room\n");
    expect(events.at(-1)).toMatchObject({
      event: "done",
      data: { subtasks: [{ title: "Draft the agenda" }, { title: "Book a room" }] },
    });
  });

  it("replays a cached answer as a stream, at no cost", async () => {
    const task = await newTask();
    t.fake.script("openai", { kind: "text", text: "Cached later, streamed now." });
    await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
    const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`, undefined, {
      stream: true,
    });
    const events = parseSse(response.body);
    expect(streamedText(events)).toBe("Cached later, streamed now.");
    expect(events.at(-1)?.data).toMatchObject({
      provider: "openai",
      cached: true,
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    });
    expect(t.fake.requests).toHaveLength(1);
  });
});

describe("a client that disconnects", () => {
  it("aborts the upstream request: the vendor sees the connection close and stops", async () => {
    const task = await newTask();
    const words = Array.from({ length: 200 }, (_, index) => `word${index}`).join(" ");
    t.fake.script("openai", { kind: "text", text: words, chunkDelayMs: 20 });
    const address = await t.app.listen({ port: 0, host: "127.0.0.1" });
    const controller = new AbortController();
    const response = await fetch(`${address}/v1/tasks/${task.id}/summary`, {
      method: "POST",
      headers: { ...user.headers, accept: "text/event-stream" },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain("event: delta");
    controller.abort();

    const [upstream] = await t.fake.waitForFinished("openai", 1);
    expect(upstream?.clientClosed).toBe(true);
    const total = words.split(" ").length / 3;
    expect(upstream?.chunksSent).toBeLessThan(total / 2);
    const sentWhenClosed = upstream?.chunksSent;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream?.chunksSent).toBe(sentWhenClosed);

    // The aborted call is in the ledger, charged for what was produced.
    await expect
      .poll(async () => {
        await t.app.ai.ledger.flush();
        return t.database.db
          .select({ outcome: aiUsage.outcome })
          .from(aiUsage)
          .where(eq(aiUsage.outcome, "aborted"));
      })
      .toHaveLength(1);
  });
});
