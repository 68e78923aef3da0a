import type { TaskRow } from "./access.ts";
import type { Task } from "./contracts.ts";

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    categoryId: row.categoryId,
    tags: row.tags,
    dueAt: row.dueAt?.toISOString() ?? null,
    allDay: row.allDay,
    recurrence: row.recurrence,
    parentId: row.parentId,
    assigneeId: row.assigneeId,
    position: row.position,
    completedAt: row.completedAt?.toISOString() ?? null,
    nextOccurrenceId: row.nextOccurrenceId,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
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
