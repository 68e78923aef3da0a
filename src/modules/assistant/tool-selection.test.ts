import { describe, expect, it } from "vitest";
import type { HistoryMessage } from "./agent.ts";
import { toolsForRequest } from "./tool-selection.ts";

const reads = ["list_tasks", "get_task", "search_tasks", "list_categories", "get_profile"];

const userSaid = (content: string): HistoryMessage => ({
  role: "user",
  content,
  toolCalls: [],
  approvalId: null,
  state: null,
});

describe("the tools offered for a message", () => {
  it.each([
    ["what's due this week?", []],
    ["summarise my tasks", []],
    ["add call mum tomorrow 6pm", ["add_task"]],
    ["move the dentist to friday 3pm", ["update_task"]],
    ["mark the report as done", ["complete_task"]],
    ["reopen the report", ["reopen_task"]],
    ["delete the old receipts", ["delete_task"]],
    ["get rid of everything tagged junk", ["delete_task"]],
  ])("%j offers the read tools plus %j", (message, changes) => {
    const offered = toolsForRequest(message, []);
    expect(offered.filter((name) => !reads.includes(name))).toEqual(changes);
    expect(offered).toEqual(expect.arrayContaining(reads));
  });

  it("gives a bare confirmation the tools of the user's previous message", () => {
    const history = [userSaid("delete the old receipts")];
    expect(toolsForRequest("yes, go ahead", history)).not.toContain("delete_task");
    expect(toolsForRequest("go ahead", history)).toContain("delete_task");
    expect(toolsForRequest("ok", [])).toEqual(reads);
  });
});
