import { DateTime } from "luxon";

/**
 * What the offline provider answers: extractive, deterministic, built only
 * from the data blocks of the prompt, so it works with no model at all.
 */

type TaskData = {
  title: string;
  description?: string | null;
  status: "open" | "completed";
  priority: string;
  dueAt: string | null;
  completedAt: string | null;
  tags: string[];
};
type SubtaskData = { title: string; status: "open" | "completed"; dueAt: string | null };
type ActivityData = { type: string; at: string; by: string | null };

const day = (iso: string, zone = "UTC") =>
  DateTime.fromISO(iso, { zone }).toFormat("ccc d LLL yyyy");

/** The first sentences of a text, up to about `limit` characters. */
function leadSentences(text: string, limit: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const sentences = flat.match(/[^.!?]+[.!?]+(?:\s|$)|[^.!?]+$/g) ?? [flat];
  let lead = "";
  for (const sentence of sentences) {
    if (lead && lead.length + sentence.length > limit) break;
    lead += sentence;
  }
  return lead.length > limit ? `${lead.slice(0, limit - 1).trimEnd()}…` : lead.trim();
}

/** The description's prose lead, and the steps it lists as bullets. */
function describeDescription(description: string): string {
  const lines = description.split("\n").filter((line) => line.trim() !== "");
  const steps = lines.filter((line) => bullet.test(line)).map((line) => line.replace(bullet, ""));
  const prose = lines.filter((line) => !bullet.test(line)).join(" ");
  const parts: string[] = [];
  if (prose) parts.push(leadSentences(prose, 280));
  if (steps.length > 0) {
    const named = steps.slice(0, 6).map((step) => step.trim().replace(/[.;]+$/, ""));
    const more = steps.length > 6 ? ` and ${steps.length - 6} more` : "";
    parts.push(`Steps listed: ${named.join("; ")}${more}.`);
  }
  return parts.join(" ");
}

function describeTask(task: TaskData): string {
  const parts = [task.status === "completed" ? "completed" : "open"];
  if (task.priority !== "none") parts.push(`${task.priority} priority`);
  if (task.status === "completed" && task.completedAt) parts.push(`done ${day(task.completedAt)}`);
  else if (task.dueAt) parts.push(`due ${day(task.dueAt)}`);
  if (task.tags.length > 0) parts.push(`tagged ${task.tags.map((tag) => `@${tag}`).join(" ")}`);
  return parts.join(", ");
}

export function localSummary(data: {
  task: TaskData;
  subtasks: SubtaskData[];
  activity: ActivityData[];
}): string {
  const { task, subtasks, activity } = data;
  const lines = [`**${task.title}** is ${describeTask(task)}.`];
  if (task.description) lines.push(describeDescription(task.description));
  if (subtasks.length > 0) {
    const open = subtasks.filter((subtask) => subtask.status === "open");
    const done = subtasks.length - open.length;
    let line = `Sub-tasks: ${done} of ${subtasks.length} done`;
    if (open.length > 0) {
      const named = open.slice(0, 5).map((subtask) => subtask.title);
      const more = open.length > 5 ? ` and ${open.length - 5} more` : "";
      line += `; still open: ${named.join("; ")}${more}`;
    }
    lines.push(`${line}.`);
  }
  if (activity.length > 0) {
    const recent = activity
      .slice(0, 3)
      .map((event) => `${event.type.replace(/^task\./, "")} ${day(event.at)}`);
    lines.push(`Lately: ${recent.join(", ")}.`);
  }
  return lines.join("\n\n");
}

const highPriorities = new Set(["high", "urgent"]);

export function localDigest(data: { today: string; timezone: string; tasks: TaskData[] }): string {
  const zone = data.timezone;
  const startOfToday = DateTime.fromISO(data.today, { zone }).startOf("day");
  const startOfTomorrow = startOfToday.plus({ days: 1 });
  const weekAgo = startOfToday.minus({ days: 7 });
  const at = (iso: string) => DateTime.fromISO(iso, { zone });
  const open = data.tasks.filter((task) => task.status === "open");
  const overdue = open.filter((task) => task.dueAt && at(task.dueAt) < startOfToday);
  const dueToday = open.filter(
    (task) => task.dueAt && at(task.dueAt) >= startOfToday && at(task.dueAt) < startOfTomorrow,
  );
  const listed = new Set([...overdue, ...dueToday]);
  const important = open.filter((task) => highPriorities.has(task.priority) && !listed.has(task));
  const completed = data.tasks.filter(
    (task) => task.status === "completed" && task.completedAt && at(task.completedAt) >= weekAgo,
  );
  const item = (task: TaskData, when?: string | null) =>
    `- ${task.title}${task.priority !== "none" ? ` (${task.priority})` : ""}${when ? `, ${day(when, zone)}` : ""}`;
  const sections: string[] = [];
  const add = (heading: string, tasks: TaskData[], when: (task: TaskData) => string | null) => {
    if (tasks.length > 0) {
      sections.push(`**${heading}**\n${tasks.map((task) => item(task, when(task))).join("\n")}`);
    }
  };
  add("Overdue", overdue, (task) => task.dueAt);
  add("Due today", dueToday, () => null);
  add("High priority", important, (task) => task.dueAt);
  add("Recently completed", completed, (task) => task.completedAt);
  const rest = open.length - overdue.length - dueToday.length - important.length;
  if (sections.length === 0) {
    return open.length === 0
      ? "Nothing is on your plate: no open tasks match."
      : `Nothing is overdue, due today or high priority. ${open.length} open task${open.length === 1 ? "" : "s"} match.`;
  }
  if (rest > 0) sections.push(`Also open: ${rest} more task${rest === 1 ? "" : "s"}.`);
  return sections.join("\n\n");
}

const bullet = /^\s*(?:[-*+•]|\d+[.)]|\[[ xX]?\])\s+/;
const checkedBox = /^\s*(?:[-*+]\s+)?\[[xX]\]\s+/;
const estimatePattern =
  /[([]?\s*(?:~|about\s+)?(\d+(?:\.\d+)?)\s*(h|hrs?|hours?|m|mins?|minutes?|d|days?)\b\s*[)\]]?/i;

/** "(2h)", "30 min", "~1.5 hours" -> minutes, and the title without it. */
function splitEstimate(line: string): { title: string; estimateMinutes?: number } {
  const match = estimatePattern.exec(line);
  if (!match?.[1] || !match[2]) return { title: line };
  const amount = Number(match[1]);
  const unit = match[2].toLowerCase();
  const factor = unit.startsWith("h") ? 60 : unit.startsWith("d") ? 480 : 1;
  const title = line
    .replace(match[0], " ")
    .replace(/\s+/g, " ")
    .replace(/[\s,;:-]+$/, "")
    .trim();
  const minutes = Math.round(amount * factor);
  return title && minutes > 0 && minutes <= 10_080
    ? { title, estimateMinutes: minutes }
    : { title };
}

function tidyTitle(text: string): string {
  const trimmed = text
    .replace(/\s+/g, " ")
    .replace(/[.;,]+$/, "")
    .trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return capital.length > 200 ? `${capital.slice(0, 199).trimEnd()}…` : capital;
}

/** Steps from the description's own bullets, else its lines, else its sentences. */
function stepsOf(description: string): string[] {
  const lines = description.split("\n").filter((line) => line.trim() !== "");
  const bullets = lines.filter((line) => bullet.test(line) && !checkedBox.test(line));
  if (bullets.length > 0) return bullets.map((line) => line.replace(bullet, ""));
  if (lines.length > 1) return lines;
  return description
    .split(/(?<=[.!?;])\s+|\s+(?:and then|then)\s+/i)
    .filter((part) => part.trim().length > 2);
}

export function localBreakdown(data: { task: TaskData }): {
  subtasks: Array<{ title: string; estimateMinutes?: number }>;
} {
  const steps = stepsOf(data.task.description ?? "");
  if (steps.length >= 2 || (steps.length === 1 && bullet.test(data.task.description ?? ""))) {
    return {
      subtasks: steps.slice(0, 12).map((step) => {
        const { title, estimateMinutes } = splitEstimate(step);
        return { title: tidyTitle(title), ...(estimateMinutes ? { estimateMinutes } : {}) };
      }),
    };
  }
  // Nothing to extract: the generic shape of getting any task done.
  const title = data.task.title;
  return {
    subtasks: [
      { title: tidyTitle(`Decide what "done" means for: ${title}`) },
      { title: tidyTitle(`Do the work: ${title}`) },
      { title: tidyTitle(`Check the result of: ${title}`) },
    ],
  };
}
