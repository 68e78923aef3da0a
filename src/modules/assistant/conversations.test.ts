import { describe, expect, it } from "vitest";
import { openTestDatabase, signUp, TestClock, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  expectValidationError,
  getTask,
  type Page,
} from "../../../test/tasks-helpers.ts";
import { buildApp } from "../../app.ts";
import type { Conversation, Message } from "./contracts.ts";
import { say } from "./test-helpers.ts";

const t = useTestApp({ now: "2026-03-11T09:00:00Z" });

describe("conversations", () => {
  it("lists my conversations, most recently active first, page by page", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await say(t.app, other, "hello");
    const first = await say(t.app, user, "hello");
    t.clock.advance(1_000);
    const second = await say(t.app, user, "what's due today?");
    t.clock.advance(1_000);
    await say(t.app, user, "thanks", first.conversationId);
    const page = await t.app.inject({ url: "/v1/conversations?limit=1", headers: user.headers });
    expect(page.statusCode).toBe(200);
    const body = page.json<Page<Conversation>>();
    expect(body.data).toEqual([
      expect.objectContaining({ id: first.conversationId, title: "hello" }),
    ]);
    const next = await t.app.inject({
      url: `/v1/conversations?limit=1&cursor=${body.nextCursor}`,
      headers: user.headers,
    });
    expect(next.json<Page<Conversation>>()).toEqual({
      data: [expect.objectContaining({ id: second.conversationId, title: "what's due today?" })],
      nextCursor: null,
    });
    expectValidationError(
      await t.app.inject({ url: "/v1/conversations?limit=0", headers: user.headers }),
      "limit",
    );
  });

  it("keeps every message with its tool calls, oldest first, and nothing internal", async () => {
    const user = await signUp(t.app);
    const started = await say(t.app, user, "add buy milk");
    await say(t.app, user, "complete it", started.conversationId);
    const response = await t.app.inject({
      url: `/v1/conversations/${started.conversationId}/messages`,
      headers: user.headers,
    });
    expect(response.statusCode).toBe(200);
    const { data } = response.json<Page<Message>>();
    expect(data.map((message) => [message.role, message.content])).toEqual([
      ["user", "add buy milk"],
      ["assistant", "Added “buy milk”."],
      ["user", "complete it"],
      ["assistant", "Completed “buy milk”."],
    ]);
    expect(data[1]?.toolCalls).toEqual([
      expect.objectContaining({
        name: "add_task",
        input: { text: "buy milk" },
        status: "succeeded",
      }),
    ]);
    expect(Object.keys(data[1] ?? {})).not.toContain("state");
  });

  it("keeps each tool result shortened: tasks by reference", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, {
      title: "Dentist",
      description: "notes ".repeat(1_500),
      dueAt: "2026-03-13T15:00:00Z",
    });
    const answer = await say(t.app, user, "what's due this week?");
    // The chat answer carries the result as the tool returned it.
    expect(answer.toolCalls[0]?.result).toMatchObject({
      tasks: [expect.objectContaining({ id: task.id, description: task.description })],
    });
    const response = await t.app.inject({
      url: `/v1/conversations/${answer.conversationId}/messages`,
      headers: user.headers,
    });
    const stored = response.json<Page<Message>>().data[1]?.toolCalls[0];
    expect(stored).toMatchObject({ name: "list_tasks", status: "succeeded" });
    expect(stored?.result).toEqual({
      tasks: [{ id: task.id, title: "Dentist", status: "open", dueAt: task.dueAt }],
      nextCursor: null,
    });
  });

  it("deletes a conversation with its messages; others' answer 404", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const started = await say(t.app, user, "hello");
    const url = `/v1/conversations/${started.conversationId}`;
    expectProblem(
      await t.app.inject({ method: "DELETE", url, headers: other.headers }),
      404,
      "not_found",
    );
    expectProblem(
      await t.app.inject({ url: `${url}/messages`, headers: other.headers }),
      404,
      "not_found",
    );
    const deleted = await t.app.inject({ method: "DELETE", url, headers: user.headers });
    expect(deleted.statusCode).toBe(204);
    expectProblem(
      await t.app.inject({ url: `${url}/messages`, headers: user.headers }),
      404,
      "not_found",
    );
    const list = await t.app.inject({ url: "/v1/conversations", headers: user.headers });
    expect(list.json<Page<Conversation>>().data).toEqual([]);
    const activity = await t.app.inject({ url: "/v1/me/activity", headers: user.headers });
    expect(activity.json<Page<{ type: string }>>().data.map((event) => event.type)).toEqual([
      "conversation.deleted",
      "conversation.created",
    ]);
  });
});

describe("a conversation across an app restart", { timeout: 120_000 }, () => {
  it("resumes from the database alone, pending question included", async () => {
    const database = await openTestDatabase();
    const clock = new TestClock("2026-03-11T09:00:00Z");
    const start = async () => {
      const app = await buildApp({
        database,
        authSecret: "test-secret-test-secret-test-secret-0123",
        publicUrl: "http://localhost:3000",
        logLevel: "silent",
        // A loaded machine must not turn answers into load-shedding 503s.
        overload: false,
        authRateLimit: false,
        now: clock.now,
      });
      await app.ready();
      return app;
    };
    try {
      const before = await start();
      const user = await signUp(before);
      const ann = await createTask(before, user, { title: "Call Ann" });
      await createTask(before, user, { title: "Call Bob" });
      const asked = await say(before, user, "complete call");
      expect(asked.response).toMatch(/^Several tasks match/);
      await before.close();

      const after = await start();
      try {
        const answered = await say(after, user, "1", asked.conversationId);
        expect(answered.response).toBe("Completed “Call Ann”.");
        expect((await getTask(after, user, ann.id)).status).toBe("completed");
        const messages = await after.inject({
          url: `/v1/conversations/${asked.conversationId}/messages`,
          headers: user.headers,
        });
        expect(messages.json<Page<Message>>().data).toHaveLength(4);
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });
});
