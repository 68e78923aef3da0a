import { mapStrings } from "../ai/safety.ts";
import type { ToolCallRecord } from "./contracts.ts";

type TaskLike = { id: string; title: string; status?: string; dueAt?: string | null };

/** Just enough of a task to refer to it in a later turn. */
function taskRef(task: TaskLike) {
  return { id: task.id, title: task.title, status: task.status, dueAt: task.dueAt ?? null };
}

/** Longest text a kept result holds; task titles and category names are far shorter. */
const maxKeptText = 1_000;

/**
 * A tool's result as kept after its turn: later turns and the transcript
 * need which tasks were touched (id, title, status, due), not every field
 * as it was then, and a task's current state is one GET away. Whole
 * results made an assistant message hold 1 MB (a 100-task listing with
 * long descriptions) and a 40-message history 25 MB, read on every turn.
 */
export function compactResult(result: unknown): unknown {
  if (!result || typeof result !== "object") return result;
  const value = result as { task?: TaskLike; tasks?: TaskLike[] };
  const shortened = value.task
    ? { ...value, task: taskRef(value.task) }
    : Array.isArray(value.tasks)
      ? { ...value, tasks: value.tasks.map(taskRef) }
      : result;
  return mapStrings(shortened, (text) =>
    text.length > maxKeptText ? `${text.slice(0, maxKeptText - 1)}…` : text,
  );
}

/** The record stored with its message: the call as made, its result shortened. */
export function keptRecord(record: ToolCallRecord): ToolCallRecord {
  return record.result === undefined ? record : { ...record, result: compactResult(record.result) };
}
