import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { aiPost, dataBlocksIn } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import { createCategory, setTimezone, type Task } from "../../../test/tasks-helpers.ts";
import { aiUsage } from "./schema.ts";

const now = "2026-03-01T12:00:00Z"; // a Sunday
const t = useAiTestApp({
  now,
  settings: (fake) =>
    testSettings(fake, {
      AI_ROUTES: JSON.stringify({ quickadd: ["openai", "local"] }),
      AI_CACHE: false,
      AI_BREAKER_FAILURES: 1000,
    }),
});
// The same vendor is configured, but the quickadd chain has no model but `local`.
const offline = useAiTestApp({
  now,
  settings: (fake) =>
    testSettings(fake, { AI_ROUTES: JSON.stringify({ quickadd: ["local"] }), AI_CACHE: false }),
});

let user: TestUser;
beforeEach(async () => {
  t.fake.reset();
  t.clock.set(now);
  user ??= await signUp(t.app);
});

const split = (fields: Record<string, unknown>) => ({
  kind: "text" as const,
  text: JSON.stringify({
    title: "Untitled",
    priority: null,
    tags: [],
    category: null,
    due: null,
    recurrence: null,
    ...fields,
  }),
});

async function quickAdd(app = t.app, who = user, text = "") {
  const response = await aiPost(app, who, "/v1/tasks/quick", { text });
  expect(response.statusCode, response.body).toBe(201);
  return { task: response.json<Task>(), requestId: String(response.headers["x-request-id"]) };
}

async function ledgerOf(requestId: string) {
  await t.app.ai.ledger.flush();
  return t.database.db
    .select({ feature: aiUsage.feature, provider: aiUsage.provider, outcome: aiUsage.outcome })
    .from(aiUsage)
    .where(eq(aiUsage.requestId, requestId))
    .orderBy(aiUsage.id);
}

describe("POST /v1/tasks/quick with a quickadd model", () => {
  it("uses the model's split, matching the category case-insensitively", async () => {
    const home = await createCategory(t.app, user, "Home");
    t.fake.script(
      "openai",
      split({
        title: "Buy milk and eggs for the party",
        priority: "urgent",
        tags: ["Shopping"],
        category: "HOME",
        due: "tomorrow 5pm",
      }),
    );
    const text = "urgent!! buy milk and eggs for the party tomorrow 5pm, shopping, for home";
    const { task, requestId } = await quickAdd(t.app, user, text);
    expect(task).toMatchObject({
      title: "Buy milk and eggs for the party",
      priority: "urgent",
      tags: ["shopping"],
      categoryId: home.id,
      dueAt: "2026-03-02T17:00:00.000Z",
      allDay: false,
      recurrence: null,
    });
    // The user's text reached the model only inside a data block.
    const blocks = dataBlocksIn(t.fake.requests[0]?.body);
    expect(blocks.find((block) => block.name === "text")?.value).toBe(text);
    expect(blocks.find((block) => block.name === "categories")?.value).toEqual(["Home"]);
    expect(await ledgerOf(requestId)).toEqual([
      { feature: "quickadd", provider: "openai", outcome: "ok" },
    ]);
  });

  it("reads the model's due and recurrence phrases in the user's time zone", async () => {
    const other = await signUp(t.app);
    await setTimezone(t.app, other, "America/New_York");
    t.fake.script("openai", split({ title: "Dinner with Ana", due: "friday 7pm" }));
    const { task } = await quickAdd(t.app, other, "dinner w/ Ana friday 7pm");
    expect(task).toMatchObject({ title: "Dinner with Ana", dueAt: "2026-03-07T00:00:00.000Z" });

    t.fake.script("openai", split({ title: "Water the plants", recurrence: "every monday" }));
    const weekly = await quickAdd(t.app, user, "water the plants every monday");
    expect(weekly.task).toMatchObject({
      title: "Water the plants",
      recurrence: expect.stringContaining("FREQ=WEEKLY"),
      dueAt: expect.stringMatching(/^2026-03-02T/),
    });
  });

  it("never trusts a date the model computed: our parser decides", async () => {
    t.fake.script(
      "openai",
      split({ title: "Call the dentist", due: "2026-03-05T09:00:00Z", category: "Garden" }),
    );
    const { task } = await quickAdd(t.app, user, "Call the dentist tomorrow 5pm");
    expect(task).toMatchObject({
      title: "Call the dentist",
      dueAt: "2026-03-02T17:00:00.000Z", // "tomorrow 5pm", read by the offline parser
      categoryId: null, // no category of that name: none is invented
    });

    t.fake.script("openai", split({ title: "Renew passport", due: "next friday" }));
    const undated = await quickAdd(t.app, user, "Renew passport");
    expect(undated.task).toMatchObject({ title: "Renew passport", dueAt: null });
  });

  it("falls back to the offline parser when the answer stays invalid after one repair", async () => {
    t.fake.script(
      "openai",
      { kind: "text", text: "Sure! The title is Buy paint." },
      split({ title: "", priority: "whenever" }),
    );
    const { task, requestId } = await quickAdd(t.app, user, "Buy paint @diy p2 tomorrow");
    expect(task).toMatchObject({
      title: "Buy paint",
      tags: ["diy"],
      priority: "high",
      dueAt: "2026-03-02T23:59:59.999Z",
      allDay: true,
    });
    expect(t.fake.requests).toHaveLength(2);
    expect(t.fake.requests[1]?.rawBody).toContain("previous answer");
    expect(await ledgerOf(requestId)).toEqual([
      { feature: "quickadd", provider: "openai", outcome: "invalid_output" },
      { feature: "quickadd", provider: "openai", outcome: "invalid_output" },
    ]);
  });

  it("falls back to the offline parser when the vendor fails", async () => {
    const failure = { kind: "status" as const, status: 500 };
    t.fake.script("openai", failure, failure, failure);
    const { task, requestId } = await quickAdd(t.app, user, "Fix the fence p3");
    expect(task).toMatchObject({ title: "Fix the fence", priority: "medium" });
    const ledger = await ledgerOf(requestId);
    expect(ledger.filter((row) => row.outcome === "error")).toHaveLength(3);
    expect(ledger.at(-1)).toEqual({ feature: "quickadd", provider: "local", outcome: "ok" });
  });
});

describe("POST /v1/tasks/quick without a quickadd model", () => {
  it("parses offline exactly as before and calls no vendor", async () => {
    const someone = await signUp(offline.app);
    const home = await createCategory(offline.app, someone, "home");
    const { task, requestId } = await quickAdd(
      offline.app,
      someone,
      "Pay rent every 1st at 9am #Home @finance p1",
    );
    expect(task).toMatchObject({
      title: "Pay rent",
      categoryId: home.id,
      tags: ["finance"],
      priority: "urgent",
      recurrence: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
      dueAt: "2026-04-01T09:00:00.000Z",
    });
    expect(offline.fake.requests).toHaveLength(0);
    await offline.app.ai.ledger.flush();
    const ledger = await offline.database.db
      .select()
      .from(aiUsage)
      .where(eq(aiUsage.requestId, requestId));
    expect(ledger).toEqual([]);
  });
});
