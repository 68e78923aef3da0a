import { DateTime } from "luxon";
import type { Task } from "../tasks/contracts.ts";
import { localToInstant, parseDue } from "../tasks/schedule/index.ts";
import type { TaskPriority } from "../tasks/schema.ts";
import type { AgentReply, PlannedCall } from "./agent.ts";
import type { TaskReference } from "./offline.ts";
import {
  type Action,
  type Lookup,
  type OfflineState,
  ref,
  reply,
  type TaskRef,
} from "./offline-lookup.ts";
import { describeFilter, formatDue, numbered, quoted } from "./offline-replies.ts";

const maxChoices = 10;
const timeOnly =
  /^(?:at\s+)?(?:(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?|(\d{1,2}):(\d{2})|(noon|midnight))$/i;

/**
 * Doing something to tasks named in a message: find them (by title, "it",
 * "the second one", "all ..."), ask which one when several match, and make
 * the calls together so the tool box can hold them for approval as a whole.
 */
export class TaskActions {
  readonly #lookup: Lookup;
  readonly #state: OfflineState;

  constructor(lookup: Lookup, state: OfflineState) {
    this.#lookup = lookup;
    this.#state = state;
  }

  async onTarget(action: Action, target: TaskReference): Promise<AgentReply> {
    const resolved = await this.#resolve(action, target);
    if (!Array.isArray(resolved)) return resolved;
    return this.act(action, resolved);
  }

  /** The answer to "which one?": a number, or "all". */
  async choose(choice: number | "all"): Promise<AgentReply> {
    const awaiting = this.#state.awaiting;
    if (awaiting?.kind !== "choice") return reply("I didn't ask you to choose anything.");
    if (choice === "all") return this.act(awaiting.action, awaiting.candidates);
    const picked = choice === 0 ? undefined : awaiting.candidates.at(choice > 0 ? choice - 1 : -1);
    if (!picked) {
      return reply(`Please pick a number from 1 to ${awaiting.candidates.length}.`, this.#state);
    }
    return this.act(awaiting.action, [picked]);
  }

  /** The answer to "when should it be due?". */
  async dueAt(when: string): Promise<AgentReply> {
    const awaiting = this.#state.awaiting;
    if (awaiting?.kind !== "date") return reply("I'm not sure what that date is for.");
    return this.act({ kind: "reschedule", when }, awaiting.tasks);
  }

  async act(action: Action, tasks: TaskRef[]): Promise<AgentReply> {
    const calls = await this.#plan(action, tasks);
    if (!Array.isArray(calls)) return calls;
    const outcomes = await this.#lookup.turn.tools.callAll(calls);
    const lines: string[] = [];
    let held = 0;
    outcomes.forEach((outcome, index) => {
      const title = quoted(tasks[index]?.title ?? "");
      if (outcome.status === "pending_approval") held += 1;
      else if (outcome.status === "failed") {
        lines.push(`I couldn't change ${title}: ${outcome.error.detail}`);
      } else lines.push(this.#done(action, outcome.result as { task?: Task }, title));
    });
    if (held > 0) {
      const what = action.kind === "delete" ? "Deleting" : "Changing";
      const count = held === 1 ? quoted(tasks[0]?.title ?? "") : `${held} tasks`;
      lines.push(`${what} ${count} needs your approval first; nothing has changed yet.`);
    }
    return reply(lines.join("\n"), { focus: tasks });
  }

  /** The tasks a reference means, or the question to ask back. */
  async #resolve(action: Action, target: TaskReference): Promise<TaskRef[] | AgentReply> {
    const status = action.kind === "reopen" ? "completed" : "open";
    switch (target.kind) {
      case "it": {
        const focus = this.#state.focus ?? [];
        if (focus.length === 1) return focus;
        if (focus.length > 1) return this.#askWhich(action, focus);
        return reply("Which task do you mean? Say its title.");
      }
      case "position": {
        const shown =
          this.#state.awaiting?.kind === "choice"
            ? this.#state.awaiting.candidates
            : (this.#state.focus ?? []);
        const picked =
          target.index === 0 ? undefined : shown.at(target.index > 0 ? target.index - 1 : -1);
        if (!picked)
          return reply(`I don't have a task number ${target.index} from my last answer.`);
        return [picked];
      }
      case "all": {
        const filter = { ...target.filter, status } as const;
        const tasks = await this.#lookup.matching(filter, 100);
        if (!Array.isArray(tasks)) return tasks;
        if (tasks.length === 0) return reply(`You have no ${describeFilter(filter)}.`);
        return tasks.map(ref);
      }
      case "title":
        return this.#byTitle(action, target.text, status);
    }
  }

  /** Full-text match first, then a part of a title; an exact title wins over the rest. */
  async #byTitle(action: Action, text: string, status: "open" | "completed") {
    const wanted = text.toLowerCase();
    const exactOrAll = (tasks: Task[]) => {
      const exact = tasks.filter((task) => task.title.toLowerCase() === wanted);
      return exact.length === 1 ? exact : tasks;
    };
    const found = await this.#lookup.read<{ tasks: Task[] }>("list_tasks", {
      q: text,
      status,
      limit: maxChoices,
      sort: "title",
    });
    if (!("tasks" in found)) return found;
    let candidates = exactOrAll(found.tasks);
    if (candidates.length === 0) {
      // Full text matches words; a part of a word ("dent") needs a look at the titles.
      const all = await this.#lookup.read<{ tasks: Task[] }>("list_tasks", {
        status,
        limit: 100,
        sort: "title",
      });
      if (!("tasks" in all)) return all;
      candidates = exactOrAll(
        all.tasks.filter((task) => task.title.toLowerCase().includes(wanted)),
      );
    }
    if (candidates.length === 0) {
      const which = status === "open" ? "an open" : "a completed";
      return reply(`I couldn't find ${which} task matching ${quoted(text)}.`);
    }
    if (candidates.length === 1) return candidates.map(ref);
    return this.#askWhich(action, candidates.slice(0, maxChoices).map(ref));
  }

  #askWhich(action: Action, candidates: TaskRef[]): AgentReply {
    const lines = numbered(candidates.map((task) => quoted(task.title)));
    return reply(
      `Several tasks match. Which one do you mean?\n${lines}\nSay a number, “all”, or “cancel”.`,
      { awaiting: { kind: "choice", action, candidates }, focus: candidates },
    );
  }

  /** The tool calls for an action on some tasks, or the reason it cannot be done. */
  async #plan(action: Action, tasks: TaskRef[]): Promise<PlannedCall[] | AgentReply> {
    const each = (name: string, extra: Record<string, unknown> = {}) =>
      tasks.map((task) => ({ name, input: { id: task.id, ...extra } }));
    switch (action.kind) {
      case "complete":
        return each("complete_task");
      case "reopen":
        return each("reopen_task");
      case "delete":
        return each("delete_task");
      case "prioritise":
        return each("update_task", { priority: action.priority as TaskPriority });
      case "reschedule":
        return this.#planReschedule(action.when, tasks);
    }
  }

  async #planReschedule(when: string | null, tasks: TaskRef[]) {
    if (when === null) {
      const names = tasks.map((task) => quoted(task.title)).join(", ");
      return reply(`When should ${names} be due?`, {
        awaiting: { kind: "date", tasks },
        focus: tasks,
      });
    }
    const time = timeOnly.exec(when.trim());
    if (time) {
      // "to 2 PM": each task keeps its own day and gets the new time.
      const calls: PlannedCall[] = [];
      for (const task of tasks) {
        const current = await this.#lookup.read<{ task: Task }>("get_task", { id: task.id });
        if (!("task" in current)) return current;
        const dueAt = this.#atTime(current.task, time);
        calls.push({ name: "update_task", input: { id: task.id, dueAt } });
      }
      return calls;
    }
    if (!parseDue(when, { now: this.#lookup.now(), timeZone: this.#lookup.zone })) {
      return reply(`I couldn't read ${quoted(when)} as a date, so nothing changed.`);
    }
    return tasks.map((task) => ({ name: "update_task", input: { id: task.id, due: when } }));
  }

  /** The task's own day (or today) at the time asked for, in the user's zone. */
  #atTime(task: Task, time: RegExpExecArray): string {
    const [, hour12, minute12, half, hour24, minute24, named] = time;
    let hour = Number(hour24 ?? hour12 ?? 0);
    const minute = Number(minute24 ?? minute12 ?? 0);
    if (half) hour = (hour % 12) + (half.toLowerCase() === "p" ? 12 : 0);
    if (named) hour = named.toLowerCase() === "noon" ? 12 : 0;
    const zone = this.#lookup.zone;
    const day = DateTime.fromJSDate(task.dueAt ? new Date(task.dueAt) : this.#lookup.now(), {
      zone,
    });
    const wall = { year: day.year, month: day.month, day: day.day, hour, minute };
    return localToInstant(wall, zone).toISOString();
  }

  #done(action: Action, result: { task?: Task }, title: string): string {
    const task = result.task;
    switch (action.kind) {
      case "complete":
        return task?.nextOccurrenceId
          ? `Completed ${title}; its next occurrence is on your list.`
          : `Completed ${title}.`;
      case "reopen":
        return `Reopened ${title}.`;
      case "delete":
        return `Deleted ${title}.`;
      case "prioritise":
        return `Set ${title} to ${task?.priority ?? action.priority} priority.`;
      case "reschedule": {
        const due = task ? formatDue(task, this.#lookup.zone) : null;
        return due ? `Moved ${title} to ${due}.` : `Moved ${title}.`;
      }
    }
  }
}
