import type { TaskRow } from "./access.ts";
import type { Task } from "./contracts.ts";

/**
 * A task row whose timestamps arrive as ISO text: the list's fast path has
 * Postgres' text turned straight into the string a Date would write, as a
 * page of 50 tasks made 200 Dates only to write them out again (list.ts).
 */
export type TaskRowWithIsoTimes = Omit<
  TaskRow,
  "dueAt" | "completedAt" | "createdAt" | "updatedAt" | "deletedAt"
> & {
  dueAt: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
};

/** A timestamp as the API writes it. */
export function isoTime(value: Date | string): string {
  return typeof value === "string" ? value : value.toISOString();
}

export function toTask(row: TaskRow | TaskRowWithIsoTimes): Task {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    categoryId: row.categoryId,
    tags: row.tags,
    dueAt: row.dueAt === null ? null : isoTime(row.dueAt),
    allDay: row.allDay,
    recurrence: row.recurrence,
    parentId: row.parentId,
    assigneeId: row.assigneeId,
    position: row.position,
    completedAt: row.completedAt === null ? null : isoTime(row.completedAt),
    nextOccurrenceId: row.nextOccurrenceId,
    createdBy: row.createdBy,
    createdAt: isoTime(row.createdAt),
    updatedAt: isoTime(row.updatedAt),
    version: row.version,
  };
}

/** Trimmed, lower-cased, without duplicates, in the order given. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim().toLowerCase()))];
}

/** The fields an activity event shows for a task, in API terms. */
export function activityView(row: TaskRow) {
  const task = toTask(row);
  return {
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    categoryId: task.categoryId,
    tags: task.tags,
    dueAt: task.dueAt,
    allDay: task.allDay,
    recurrence: task.recurrence,
    parentId: task.parentId,
    assigneeId: task.assigneeId,
    position: task.position,
  };
}
