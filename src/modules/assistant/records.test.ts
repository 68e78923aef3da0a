import { describe, expect, it } from "vitest";
import { compactResult, keptRecord } from "./records.ts";

const task = {
  id: "0190f5a0-0000-7000-8000-000000000001",
  title: "Dentist",
  description: "long ".repeat(2_000),
  status: "open",
  dueAt: null,
  tags: ["health"],
};

describe("compactResult", () => {
  it("keeps a task, or each task of a list, as id, title, status and dueAt", () => {
    const ref = { id: task.id, title: "Dentist", status: "open", dueAt: null };
    expect(compactResult({ task })).toEqual({ task: ref });
    expect(compactResult({ tasks: [task, task], nextCursor: "abc", mode: "keyword" })).toEqual({
      tasks: [ref, ref],
      nextCursor: "abc",
      mode: "keyword",
    });
  });

  it("cuts any other text at 1,000 characters and leaves small results as they are", () => {
    const profile = { recentActivity: [{ changes: { description: { to: "y".repeat(5_000) } } }] };
    const kept = compactResult(profile) as typeof profile;
    const text = kept.recentActivity[0]?.changes.description.to ?? "";
    expect(text).toHaveLength(1_000);
    expect(text.endsWith("y…")).toBe(true);
    const small = { id: task.id, title: "Dentist", deleted: true };
    expect(compactResult(small)).toEqual(small);
    expect(compactResult(null)).toBeNull();
  });

  it("shortens a record's result and nothing else", () => {
    const record = { name: "get_task", input: { id: task.id }, status: "succeeded" as const };
    expect(keptRecord({ ...record, result: { task } })).toEqual({
      ...record,
      result: { task: { id: task.id, title: "Dentist", status: "open", dueAt: null } },
    });
    const failed = {
      ...record,
      status: "failed" as const,
      error: { code: "not_found", detail: "x" },
    };
    expect(keptRecord(failed)).toBe(failed);
  });
});
