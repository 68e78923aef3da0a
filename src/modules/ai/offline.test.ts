import { describe, expect, it } from "vitest";
import { aiPost, parseSse, streamedText } from "../../../test/fake-llm/client.ts";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { createTask, patchTask, setTimezone, taskAction } from "../../../test/tasks-helpers.ts";
import { localBreakdown } from "./local/answers.ts";
import { offlineAiSettings } from "./settings.ts";

// No AI configuration at all: the app the zero-config `npm start` builds.
const t = useTestApp({ now: "2026-11-27T10:00:00Z" });

const task = (title: string) => ({
  title,
  description: null,
  status: "open" as const,
  priority: "none",
  dueAt: null,
  completedAt: null,
  tags: [],
});

describe("the offline provider, with no configuration at all", () => {
  it("is the whole chain of every feature", () => {
    const settings = offlineAiSettings();
    for (const [feature, chain] of Object.entries(settings.routes)) {
      const model = feature === "embed" ? "local:taskpilot-embed-1" : "local:taskpilot-local-1";
      expect(chain.map((ref) => ref.key)).toEqual([model]);
    }
  });

  it("summarises a task from its description, sub-tasks and activity", async () => {
    const user = await signUp(t.app);
    const parent = await createTask(t.app, user, {
      title: "Launch the newsletter",
      description:
        "We want a monthly newsletter for customers. It should start in January.\n- Pick a tool\n- Write the first issue",
      priority: "high",
      dueAt: "2026-12-15T17:00:00Z",
      tags: ["marketing"],
    });
    const done = await createTask(t.app, user, { title: "Collect addresses", parentId: parent.id });
    await taskAction(t.app, user, done.id, "complete");
    await createTask(t.app, user, { title: "Design the template", parentId: parent.id });
    const response = await aiPost(t.app, user, `/v1/tasks/${parent.id}/summary`);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      provider: "local",
      model: "taskpilot-local-1",
      usage: { costUsd: 0 },
    });
    expect(body.summary).toBe(
      [
        "**Launch the newsletter** is open, high priority, due Tue 15 Dec 2026, tagged @marketing.",
        "We want a monthly newsletter for customers. It should start in January. Steps listed: Pick a tool; Write the first issue.",
        "Sub-tasks: 1 of 2 done; still open: Design the template.",
        "Lately: created Fri 27 Nov 2026.",
      ].join("\n\n"),
    );
  });

  it("digests overdue, due today, high priority and recently completed tasks", async () => {
    const user = await signUp(t.app);
    await setTimezone(t.app, user, "Europe/Berlin");
    await createTask(t.app, user, { title: "Renew passport", dueAt: "2026-11-20T09:00:00Z" });
    await createTask(t.app, user, { title: "Call the bank", dueAt: "2026-11-27T15:00:00Z" });
    await createTask(t.app, user, { title: "Fix the roof", priority: "urgent" });
    await createTask(t.app, user, { title: "Someday: learn Welsh" });
    const finished = await createTask(t.app, user, { title: "File taxes" });
    await taskAction(t.app, user, finished.id, "complete");
    const response = await aiPost(t.app, user, "/v1/ai/digest", {});
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ provider: "local", taskCount: 5 });
    expect(response.json().digest).toBe(
      [
        "**Overdue**\n- Renew passport, Fri 20 Nov 2026",
        "**Due today**\n- Call the bank",
        "**High priority**\n- Fix the roof (urgent)",
        "**Recently completed**\n- File taxes, Fri 27 Nov 2026",
        "Also open: 1 more task.",
      ].join("\n\n"),
    );
  });

  it("digests only what the filter selects", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Tagged one", tags: ["work"], priority: "high" });
    await createTask(t.app, user, { title: "Untagged", priority: "high" });
    const response = await aiPost(t.app, user, "/v1/ai/digest", { filter: { tag: "work" } });
    expect(response.json()).toMatchObject({ taskCount: 1 });
    expect(response.json().digest).toBe("**High priority**\n- Tagged one (high)");
  });

  it("breaks a task down from its own bullets, with estimates, and streams it", async () => {
    const user = await signUp(t.app);
    const parent = await createTask(t.app, user, {
      title: "Paint the fence",
      description:
        "Before the weekend:\n- buy paint (30 min)\n* sand the boards ~2h\n1. paint two coats 1.5 hours\n- [x] borrow a ladder",
    });
    const response = await aiPost(
      t.app,
      user,
      "/v1/ai/breakdown",
      { taskId: parent.id },
      { stream: true },
    );
    const events = parseSse(response.body);
    expect(streamedText(events)).toBe(
      "- Buy paint (30 min)\n- Sand the boards (120 min)\n- Paint two coats (90 min)\n",
    );
    expect(events.at(-1)).toMatchObject({ event: "done", data: { provider: "local" } });
  });

  it("breaks down by lines, then by sentences, then into generic steps", () => {
    expect(
      localBreakdown({ task: { ...task("Trip"), description: "Pack bags\nWater plants" } })
        .subtasks,
    ).toEqual([{ title: "Pack bags" }, { title: "Water plants" }]);
    expect(
      localBreakdown({
        task: { ...task("Report"), description: "Gather the numbers, then write the draft." },
      }).subtasks,
    ).toEqual([{ title: "Gather the numbers" }, { title: "Write the draft" }]);
    expect(localBreakdown({ task: task("Call mum") }).subtasks.map((step) => step.title)).toEqual([
      'Decide what "done" means for: Call mum',
      "Do the work: Call mum",
      "Check the result of: Call mum",
    ]);
  });

  it("re-summarises an edited task instead of replaying the cached summary", async () => {
    const user = await signUp(t.app);
    const created = await createTask(t.app, user, { title: "Old title" });
    const first = await aiPost(t.app, user, `/v1/tasks/${created.id}/summary`);
    const again = await aiPost(t.app, user, `/v1/tasks/${created.id}/summary`);
    expect(again.json()).toMatchObject({ cached: true, summary: first.json().summary });
    await patchTask(t.app, user, created.id, { title: "New title" });
    const edited = await aiPost(t.app, user, `/v1/tasks/${created.id}/summary`);
    expect(edited.json()).toMatchObject({ cached: false });
    expect(edited.json().summary).toContain("**New title**");
  });
});
