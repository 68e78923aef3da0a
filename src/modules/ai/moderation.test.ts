import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { fakeVendorEnv, testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import { createTask, expectValidationError, listTitles } from "../../../test/tasks-helpers.ts";
import { conversations } from "../assistant/schema.ts";
import { aiUsage } from "./schema.ts";
import { aiSettingsFromEnv } from "./settings.ts";

const t = useAiTestApp({
  settings: (fake) =>
    testSettings(fake, {
      AI_MODERATION: true,
      AI_ROUTES: JSON.stringify({
        summary: ["openai", "local"],
        quickadd: ["openai", "local"],
        chat: ["openai"],
      }),
      AI_CACHE: false,
      AI_TIMEOUT_MS: 500,
      AI_BREAKER_FAILURES: 1000,
    }),
});

let user: TestUser;
beforeEach(async () => {
  t.fake.reset();
  user ??= await signUp(t.app);
});

const summarize = (taskId: string) => aiPost(t.app, user, `/v1/tasks/${taskId}/summary`);

describe("moderation settings", () => {
  it("is on with OpenAI unless AI_MODERATION=false, and off without OpenAI", () => {
    const env = fakeVendorEnv(t.fake, { AI_MODERATION: undefined });
    expect(aiSettingsFromEnv(env).moderation).toEqual({
      apiKey: "test-double-key",
      baseUrl: t.fake.baseUrl("openai"),
      model: "omni-moderation-latest",
    });
    expect(aiSettingsFromEnv({ ...env, AI_MODERATION: false }).moderation).toBeUndefined();
    expect(aiSettingsFromEnv({ ...env, OPENAI_API_KEY: undefined }).moderation).toBeUndefined();
  });
});

describe("moderation of typed input", () => {
  it("refuses flagged quick-add text with 400 naming the field, before the model sees it", async () => {
    t.fake.moderate({ kind: "verdict", flagged: true, categories: ["violence"] });
    const response = await aiPost(t.app, user, "/v1/tasks/quick", { text: "Something awful" });
    expectValidationError(response, "text");
    expect(t.fake.moderations).toEqual([
      {
        input: "Something awful",
        model: "omni-moderation-latest",
        authorization: "Bearer test-double-key",
      },
    ]);
    expect(t.fake.requests).toHaveLength(0);
    expect(await listTitles(t.app, user)).not.toContain("Something awful");
  });

  it("sends the moderation endpoint redacted text", async () => {
    t.fake.script("openai", {
      kind: "text",
      text: JSON.stringify({
        title: "Write to Ana",
        priority: null,
        tags: [],
        category: null,
        due: null,
        recurrence: null,
      }),
    });
    const response = await aiPost(t.app, user, "/v1/tasks/quick", {
      text: "Write to ana@example.com",
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(t.fake.moderations.map((call) => call.input)).toEqual(["Write to [email]"]);
  });

  it("refuses a flagged chat message with 400 naming the field and stores nothing", async () => {
    t.fake.moderate({ kind: "verdict", flagged: true });
    const before = await t.database.db.select().from(conversations);
    const response = await aiPost(t.app, user, "/v1/chat", { message: "Something awful" });
    expectValidationError(response, "message");
    expect(t.fake.requests).toHaveLength(0);
    expect(await t.database.db.select().from(conversations)).toHaveLength(before.length);
  });
});

describe("moderation of stored text", () => {
  it("flags a flagged task and answers with the offline model instead", async () => {
    const task = await createTask(t.app, user, { title: "Something awful", description: "more" });
    t.fake.moderate({ kind: "verdict", flagged: true });
    const response = await summarize(task.id);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      provider: "local",
      flags: expect.arrayContaining(["flagged_by_moderation"]),
    });
    expect(t.fake.requests).toHaveLength(0);
    expect(JSON.stringify(t.fake.moderations[0]?.input)).toContain("Something awful");
    await t.app.ai.ledger.flush();
    const ledger = await t.database.db
      .select({ provider: aiUsage.provider, flags: aiUsage.flags })
      .from(aiUsage)
      .where(eq(aiUsage.requestId, String(response.headers["x-request-id"])));
    expect(ledger).toEqual([{ provider: "local", flags: ["flagged_by_moderation"] }]);
  });

  it("goes to the vendor when the text is not flagged", async () => {
    const task = await createTask(t.app, user, { title: "Water the plants" });
    t.fake.script("openai", { kind: "text", text: "Plants need water." });
    const response = await summarize(task.id);
    expect(response.json()).toMatchObject({ provider: "openai", summary: "Plants need water." });
    expect(t.fake.moderations).toHaveLength(1);
  });

  it.each([
    ["a 500", { kind: "status", status: 500 } as const],
    ["a timeout", { kind: "hang" } as const],
  ])("never blocks the feature on %s from the moderation endpoint", async (_name, reply) => {
    const task = await createTask(t.app, user, { title: "Plan the trip" });
    t.fake.moderate(reply);
    t.fake.script("openai", { kind: "text", text: "A trip to plan." });
    const response = await summarize(task.id);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ provider: "openai", flags: [] });
    expect(t.fake.moderations).toHaveLength(1);
  });
});
