import { DateTime } from "luxon";
import type { Task } from "../tasks/contracts.ts";
import type { DueWindow, TaskFilter } from "./offline.ts";

/** How the offline assistant words things: dates in the user's zone, titles in quotes. */

export const helpText =
  "I can add, list, find, complete, reopen, delete and reschedule tasks, change their " +
  "priority, and summarise your list. For example: “add call mum tomorrow 6pm high " +
  "priority”, “what's due this week?”, “show high priority”, “find dentist”, “complete " +
  "dentist”, “move dentist to friday 3pm”, “delete the second one”, “summarise”.";

export const quoted = (title: string) => `“${title}”`;

export function formatDue(task: Pick<Task, "dueAt" | "allDay">, zone: string): string | null {
  if (!task.dueAt) return null;
  const local = DateTime.fromISO(task.dueAt, { zone });
  return local.toFormat(task.allDay ? "ccc d LLL" : "ccc d LLL, HH:mm");
}

/** One task on one line: title, due date, priority, tags, done or not. */
export function taskLine(task: Task, zone: string): string {
  const parts = [quoted(task.title)];
  const due = formatDue(task, zone);
  if (due) parts.push(`due ${due}`);
  if (task.priority !== "none") parts.push(`${task.priority} priority`);
  if (task.tags.length > 0) parts.push(task.tags.map((tag) => `@${tag}`).join(" "));
  if (task.recurrence) parts.push("repeats");
  if (task.status === "completed") parts.push("done");
  return parts.join(" · ");
}

export function numbered(lines: string[]): string {
  return lines.map((line, index) => `${index + 1}. ${line}`).join("\n");
}

const windowWords: Record<DueWindow, string> = {
  overdue: "overdue",
  today: "due today",
  tomorrow: "due tomorrow",
  this_week: "due this week",
  next_week: "due next week",
  this_month: "due this month",
  upcoming: "due in the next 7 days",
};

/** "open high priority tasks due this week tagged @home in Work", "overdue tasks". */
export function describeFilter(filter: TaskFilter): string {
  const completed = filter.status === "completed";
  const words: string[] = [];
  if (filter.due === "overdue") words.push("overdue");
  else if (completed) words.push("completed");
  else if (filter.status !== "all") words.push("open");
  if (filter.priorities) words.push(`${filter.priorities.join(" or ")} priority`);
  words.push("tasks");
  if (filter.due && filter.due !== "overdue") {
    const window = windowWords[filter.due];
    words.push(completed ? window.replace("due", "from") : window);
  }
  if (filter.tag) words.push(`tagged @${filter.tag}`);
  if (filter.category) words.push(`in ${filter.category}`);
  if (filter.words) words.push(`matching ${quoted(filter.words)}`);
  return words.join(" ");
}

/** The instants a window spans in the user's zone (weeks start on Monday). */
export function windowRange(window: DueWindow, now: Date, zone: string): { from: Date; to: Date } {
  const here = DateTime.fromJSDate(now, { zone });
  const span = (from: DateTime, to: DateTime) => ({ from: from.toJSDate(), to: to.toJSDate() });
  switch (window) {
    case "overdue":
      return span(DateTime.fromMillis(0, { zone }), here);
    case "today":
      return span(here.startOf("day"), here.endOf("day"));
    case "tomorrow":
      return span(here.plus({ days: 1 }).startOf("day"), here.plus({ days: 1 }).endOf("day"));
    case "this_week":
      return span(here.startOf("week"), here.endOf("week"));
    case "next_week":
      return span(here.plus({ weeks: 1 }).startOf("week"), here.plus({ weeks: 1 }).endOf("week"));
    case "this_month":
      return span(here.startOf("month"), here.endOf("month"));
    case "upcoming":
      return span(here, here.plus({ days: 7 }));
  }
}
