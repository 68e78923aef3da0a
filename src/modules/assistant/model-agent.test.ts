import { and, asc, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import {
  dataBlocksIn,
  offeredTools,
  parseSse,
  type SseEvent,
} from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import type { FakeReply, ScriptedCall } from "../../../test/fake-llm/server.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import {
  createCategory,
  createTask,
  expectProblem,
  getTask,
  type Task,
  taskAction,
  taskActivity,
} from "../../../test/tasks-helpers.ts";
import { aiUsage } from "../ai/schema.ts";
import type { ChatResult } from "./contracts.ts";
import { callsOf, decide, say, taskOf } from "./test-helpers.ts";

// Wednesday 11 March 2026, 09:00 UTC; new users live in UTC.
const t = useAiTestApp({
  now: "2026-03-11T09:00:00Z",
  settings: (fake) =>
    testSettings(fake, {
      // Searches embed offline: the fake vendor's script is for the chat model.
      AI_ROUTES: JSON.stringify({
        chat: ["openai", "anthropic", "compatible", "local"],
        embed: ["local"],
      }),
      AI_MAX_RETRIES: 0,
      AI_BREAKER_FAILURES: 1000,
      AI_CHAT_MAX_STEPS: 4,
    }),
});

let user: TestUser;

beforeEach(async () => {
  t.fake.reset();
  user = await signUp(t.app, "Ada Model");
});

const calling = (...calls: ScriptedCall[]): FakeReply => ({ kind: "tools", calls });
const saying = (text: string): FakeReply => ({ kind: "text", text });

/** The `done` event's answer, which must end the stream. */
function doneOf(events: SseEvent[]): ChatResult {
  const last = events.at(-1);
  expect(last?.event).toBe("done");
  return last?.data as ChatResult;
}

/** Sets the test user's monthly AI budget. */
async function setUserBudget(monthlyLimitUsd: number) {
  const response = await t.app.inject({
    method: "PUT",
    url: "/v1/ai/budget",
    headers: user.headers,
    payload: { scope: "user", monthlyLimitUsd },
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** The data blocks of the request the vendor got at `index` (tool results, oldest first). */
const blocksOf = (index: number) => dataBlocksIn(t.fake.requests[index]?.body);

type ToolCase = {
  tool: string;
  message: string;
  input: (task: Task) => Record<string, unknown>;
  status?: "succeeded" | "pending_approval";
  check: (task: Task, result: ChatResult) => Promise<void>;
};

const toolCases: ToolCase[] = [
  {
    tool: "add_task",
    message: "add buy milk tomorrow 5pm",
    input: () => ({ title: "Buy milk", due: "tomorrow 5pm", priority: "high" }),
    check: async (_task, result) => {
      expect(await getTask(t.app, user, taskOf(result, 0).id)).toMatchObject({
        title: "Buy milk",
        dueAt: "2026-03-12T17:00:00.000Z",
        priority: "high",
      });
    },
  },
  {
    tool: "list_tasks",
    message: "what's due this week?",
    input: () => ({ dueBefore: "2026-03-16T00:00:00Z" }),
    check: async () => {
      expect(blocksOf(1)[0]?.value).toMatchObject({ tasks: [{ title: "Dentist" }] });
    },
  },
  {
    tool: "get_task",
    message: "tell me about the dentist appointment",
    input: (task) => ({ id: task.id }),
    check: async (task) => {
      expect(blocksOf(1)[0]?.value).toMatchObject({ task: { id: task.id, title: "Dentist" } });
    },
  },
  {
    tool: "search_tasks",
    message: "find dentist",
    input: () => ({ q: "dentist" }),
    check: async (task) => {
      // Hybrid where pgvector exists (PGlite), keyword on a server without it.
      const mode = t.database.kind === "pglite" ? "hybrid" : "keyword";
      expect(blocksOf(1)[0]?.value).toMatchObject({ tasks: [{ id: task.id }], mode });
    },
  },
  {
    tool: "update_task",
    message: "move the dentist to friday 3pm",
    input: (task) => ({ id: task.id, due: "friday 3pm" }),
    check: async (task) => {
      expect((await getTask(t.app, user, task.id)).dueAt).toBe("2026-03-13T15:00:00.000Z");
    },
  },
  {
    tool: "complete_task",
    message: "complete the dentist task",
    input: (task) => ({ id: task.id }),
    check: async (task) => {
      expect((await getTask(t.app, user, task.id)).status).toBe("completed");
    },
  },
  {
    tool: "reopen_task",
    message: "reopen the dentist task, I'm not done",
    input: (task) => ({ id: task.id }),
    check: async (task) => {
      expect((await getTask(t.app, user, task.id)).status).toBe("open");
    },
  },
  {
    tool: "delete_task",
    message: "delete the dentist task",
    input: (task) => ({ id: task.id }),
    status: "pending_approval",
    check: async (task, result) => {
      expect(result.pendingApproval).toMatchObject({ summary: "Delete “Dentist”" });
      expect((await getTask(t.app, user, task.id)).title).toBe("Dentist");
      const approved = await decide(t.app, user, result.pendingApproval?.id ?? "", true);
      expect(approved.statusCode, approved.body).toBe(200);
      expectProblem(
        await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers }),
        404,
        "not_found",
      );
    },
  },
  {
    tool: "list_categories",
    message: "which categories do I have?",
    input: () => ({}),
    check: async () => {
      expect(blocksOf(1)[0]?.value).toMatchObject({ categories: [{ name: "Health" }] });
    },
  },
  {
    tool: "get_profile",
    message: "how many of my tasks are overdue?",
    input: () => ({}),
    check: async () => {
      expect(blocksOf(1)[0]?.value).toMatchObject({ name: "Ada Model", stats: { open: 1 } });
    },
  },
];

describe("the model-driven assistant", () => {
  it.each(toolCases)("runs $tool when the model calls it", async (example) => {
    const health = await createCategory(t.app, user, "Health");
    const task = await createTask(t.app, user, {
      title: "Dentist",
      dueAt: "2026-03-12T09:00:00Z",
      categoryId: health.id,
    });
    if (example.tool === "reopen_task") await taskAction(t.app, user, task.id, "complete");
    t.fake.script("openai", calling({ name: example.tool, input: example.input(task) }));
    t.fake.script("openai", saying("Done."));

    const result = await say(t.app, user, example.message);
    expect(callsOf(result)).toEqual([`${example.tool}:${example.status ?? "succeeded"}`]);
    expect(result.response).toBe("Done.");
    expect(offeredTools(t.fake.requests[0]?.body ?? {})).toContain(example.tool);
    await example.check(task, result);
  });

  it("drives the tools through Anthropic's and chat completions' wire formats after fallback", async () => {
    const task = await createTask(t.app, user, { title: "Water the plants" });
    t.fake.script("openai", { kind: "status", status: 500 });
    t.fake.script("anthropic", calling({ name: "complete_task", input: { id: task.id } }));
    t.fake.script("anthropic", saying("Marked as done."));
    const viaAnthropic = await say(t.app, user, "mark water the plants as done");
    expect(callsOf(viaAnthropic)).toEqual(["complete_task:succeeded"]);
    expect(viaAnthropic.response).toBe("Marked as done.");
    expect((await getTask(t.app, user, task.id)).status).toBe("completed");
    const toAnthropic = t.fake.requests.filter((request) => request.vendor === "anthropic");
    expect(dataBlocksIn(toAnthropic[1]?.body)[0]?.value).toMatchObject({
      task: { id: task.id, status: "completed" },
    });

    t.fake.reset();
    t.fake.script("openai", { kind: "status", status: 500 });
    t.fake.script("anthropic", { kind: "status", status: 529 });
    t.fake.script("compatible", calling({ name: "reopen_task", input: { id: task.id } }));
    t.fake.script("compatible", saying("Reopened."));
    const viaOllama = await say(
      t.app,
      user,
      "reopen water the plants",
      viaAnthropic.conversationId,
    );
    expect(callsOf(viaOllama)).toEqual(["reopen_task:succeeded"]);
    expect((await getTask(t.app, user, task.id)).status).toBe("open");
    expect(t.fake.requests.map((request) => `${request.vendor}${request.path}`)).toEqual([
      "openai/responses",
      "anthropic/messages",
      "compatible/chat/completions",
      "compatible/chat/completions",
    ]);
  });

  it("ledgers every model call of the turn under the chat feature", async () => {
    t.fake.script("openai", { kind: "status", status: 503 });
    t.fake.script(
      "anthropic",
      { kind: "tools", calls: [{ name: "list_tasks", input: {} }], usage: { inputTokens: 900 } },
      { kind: "text", text: "Nothing yet.", usage: { inputTokens: 1000, outputTokens: 4 } },
    );
    await say(t.app, user, "what do I have to do?");
    await t.app.ai.ledger.flush();
    const rows = await t.database.db
      .select()
      .from(aiUsage)
      .where(and(eq(aiUsage.userId, user.id), eq(aiUsage.feature, "chat")))
      .orderBy(asc(aiUsage.id));
    expect(
      rows.map((row) => [row.provider, row.outcome, row.templateId, row.templateVersion]),
    ).toEqual([
      ["openai", "error", "chat", 1],
      ["anthropic", "ok", "chat", 1],
      ["anthropic", "ok", "chat", 1],
    ]);
    expect(rows[2]).toMatchObject({ inputTokens: 1000, outputTokens: 4 });
    expect(rows[2]?.costMicros).toBeGreaterThan(0);
  });

  it("skips paid models once the user's monthly budget cannot cover a call", async () => {
    await setUserBudget(0.0001);
    t.fake.script("compatible", calling({ name: "list_tasks", input: {} }));
    t.fake.script("compatible", saying("You have nothing to do."));
    const result = await say(t.app, user, "what do I have to do?");
    expect(result.response).toBe("You have nothing to do.");
    expect(t.fake.requests.map((request) => request.vendor)).toEqual(["compatible", "compatible"]);
  });

  it("records its changes in the activity trail as the agent acting for the user", async () => {
    t.fake.script("openai", calling({ name: "add_task", input: { title: "Book flights" } }));
    t.fake.script("openai", saying("Added."));
    const result = await say(t.app, user, "add book flights");
    const [created] = await taskActivity(t.app, user, taskOf(result, 0).id);
    expect(created).toMatchObject({
      type: "task.created",
      actor: { type: "agent", id: user.id, name: "Ada Model" },
    });
  });

  it("hands the turn to the offline assistant when every vendor of the chain fails", async () => {
    t.fake.script("openai", { kind: "status", status: 500 });
    t.fake.script("anthropic", { kind: "status", status: 500 });
    t.fake.script("compatible", { kind: "status", status: 500 });
    const result = await say(t.app, user, "add call mum tomorrow 6pm");
    expect(callsOf(result)).toEqual(["add_task:succeeded"]);
    expect(result.response).toMatch(/^Added “call mum”/);
  });

  it("stops after the configured number of steps", async () => {
    await createTask(t.app, user, { title: "Loop" });
    t.fake.setDefault("openai", calling({ name: "list_tasks", input: {} }));
    const result = await say(t.app, user, "what's on my list?");
    expect(result.response).toBe(
      "I stopped after 4 steps, the most one message may take. The tool calls made so far are listed with this reply.",
    );
    expect(t.fake.requests).toHaveLength(4);
    expect(callsOf(result)).toEqual(Array(4).fill("list_tasks:succeeded"));
  });

  it("stops when the turn's tokens are used up", async () => {
    t.fake.script("openai", {
      kind: "tools",
      calls: [{ name: "list_tasks", input: {} }],
      usage: { inputTokens: 59_500, outputTokens: 20 },
    });
    const result = await say(t.app, user, "what's on my list?");
    expect(result.response).toBe(
      "I stopped: this message used up its token allowance. The tool calls made so far are listed with this reply.",
    );
    expect(t.fake.requests).toHaveLength(1);
  });

  it("filters links to unknown hosts out of the reply", async () => {
    t.fake.script("openai", saying("See [the docs](https://evil.example/x) for more."));
    const result = await say(t.app, user, "help");
    expect(result.response).toBe("See the docs for more.");
  });
});

describe("POST /v1/chat with Accept: text/event-stream", () => {
  const stream = (message: string) =>
    t.app.inject({
      method: "POST",
      url: "/v1/chat",
      headers: { ...user.headers, accept: "text/event-stream" },
      payload: { message },
    });

  it("streams deltas, the tool call and its result, then done, in order", async () => {
    t.fake.script("openai", {
      kind: "tools",
      text: "Let me add that.",
      calls: [{ name: "add_task", input: { title: "Buy bread" } }],
    });
    t.fake.script("openai", saying("Added Buy bread to your list."));
    const response = await stream("add buy bread");
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
    const events = parseSse(response.body);
    const kinds = events.map((event) => event.event).filter((kind, i, all) => kind !== all[i - 1]);
    expect(kinds).toEqual(["delta", "tool_call", "tool_result", "delta", "done"]);
    expect(events.find((event) => event.event === "tool_call")?.data).toEqual({
      name: "add_task",
      input: { title: "Buy bread" },
    });
    expect(events.find((event) => event.event === "tool_result")?.data).toMatchObject({
      name: "add_task",
      status: "succeeded",
      result: { task: { title: "Buy bread" } },
    });
    const text = events
      .filter((event) => event.event === "delta")
      .map((event) => (event.data as { text: string }).text)
      .join("");
    expect(text).toBe("Let me add that.\n\nAdded Buy bread to your list.");
    expect(doneOf(events).response).toBe(text);
    expect(t.fake.requests.every((request) => request.stream)).toBe(true);
  });

  it("announces a held action with approval_required before done", async () => {
    const task = await createTask(t.app, user, { title: "Old receipts" });
    t.fake.script("openai", calling({ name: "delete_task", input: { id: task.id } }));
    t.fake.script("openai", saying("That needs your approval."));
    const events = parseSse((await stream("delete old receipts")).body);
    const kinds = events.map((event) => event.event).filter((kind, i, all) => kind !== all[i - 1]);
    expect(kinds).toEqual(["tool_call", "tool_result", "delta", "approval_required", "done"]);
    const approval = events.find((event) => event.event === "approval_required")?.data;
    expect(approval).toMatchObject({ summary: "Delete “Old receipts”" });
    expect(doneOf(events).pendingApproval).toEqual(approval);
  });

  it("ends with one error event when the vendor stalls after its first words", async () => {
    t.fake.script("openai", {
      kind: "text",
      text: "Here is what I found so far and then nothing more",
      stopAfterChunks: 1,
    });
    const events = parseSse((await stream("what's on my list?")).body);
    expect(events.map((event) => event.event)).toEqual(["delta", "error"]);
    expect(events[1]?.data).toMatchObject({ status: 502, code: "upstream_error" });
    // Nothing fell back to another vendor once words had gone out.
    expect(t.fake.requests.map((request) => request.vendor)).toEqual(["openai"]);
  });

  it("settles each streamed call's reservation to what the ledger charged, also a broken one", async () => {
    await setUserBudget(5);
    t.fake.script(
      "openai",
      { kind: "tools", calls: [{ name: "list_tasks", input: {} }], usage: { inputTokens: 1200 } },
      { kind: "text", text: "Nothing yet.", usage: { inputTokens: 1300, outputTokens: 5 } },
      { kind: "text", text: "Here is what I found and then nothing", stopAfterChunks: 1 },
    );
    expect(doneOf(parseSse((await stream("what do I have to do?")).body)).response).toBe(
      "Nothing yet.",
    );
    const broken = parseSse((await stream("and tomorrow?")).body);
    expect(broken.map((event) => event.event)).toEqual(["delta", "error"]);

    await t.app.ai.ledger.flush();
    const rows = await t.database.db
      .select()
      .from(aiUsage)
      .where(and(eq(aiUsage.userId, user.id), eq(aiUsage.feature, "chat")));
    expect(rows.map((row) => row.outcome).sort()).toEqual(["ok", "ok", "timeout"]);
    const charged = rows.reduce((sum, row) => sum + row.costMicros, 0);
    expect(charged).toBeGreaterThan(0);
    // A stream settles when it ends, after the walk that reserved for it.
    await expect
      .poll(async () => {
        const budget = await t.app.inject({
          method: "GET",
          url: "/v1/ai/budget",
          headers: user.headers,
        });
        const { spentUsd, reservedUsd } = budget.json().user;
        return { spentMicros: Math.round(spentUsd * 1e6), reservedUsd };
      })
      .toEqual({ spentMicros: charged, reservedUsd: 0 });
  });

  it("answers problem+json when nothing was streamed yet", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/chat",
      headers: { ...user.headers, accept: "text/event-stream" },
      payload: { message: "hi", conversationId: crypto.randomUUID() },
    });
    expectProblem(response, 404, "not_found");
  });

  it("stops the turn and the vendor's stream when the client disconnects", async () => {
    const words = Array.from({ length: 300 }, (_, index) => `word${index}`).join(" ");
    t.fake.script("openai", { kind: "text", text: words, chunkDelayMs: 20 });
    const address = await t.app.listen({ port: 0, host: "127.0.0.1" });
    const controller = new AbortController();
    const response = await fetch(`${address}/v1/chat`, {
      method: "POST",
      headers: { ...user.headers, accept: "text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ message: "tell me a long story" }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain("event: delta");
    controller.abort();

    const [upstream] = await t.fake.waitForFinished("openai", 1);
    expect(upstream?.clientClosed).toBe(true);
    expect(upstream?.chunksSent).toBeLessThan(50);
    await expect
      .poll(async () => {
        await t.app.ai.ledger.flush();
        return t.database.db
          .select({ outcome: aiUsage.outcome })
          .from(aiUsage)
          .where(and(eq(aiUsage.userId, user.id), eq(aiUsage.outcome, "aborted")));
      })
      .toHaveLength(1);
    // What the turn did is kept: the conversation has the reply saying it stopped.
    await expect
      .poll(async () => {
        const list = await t.app.inject({ url: "/v1/conversations", headers: user.headers });
        const [conversation] = list.json<{ data: Array<{ id: string }> }>().data;
        if (!conversation) return [];
        const messages = await t.app.inject({
          url: `/v1/conversations/${conversation.id}/messages`,
          headers: user.headers,
        });
        return messages.json<{ data: Array<{ content: string }> }>().data.map((m) => m.content);
      })
      .toEqual(["tell me a long story", "Stopped: the client went away."]);
  });
});
