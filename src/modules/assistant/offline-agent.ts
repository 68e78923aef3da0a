import { DateTime } from "luxon";
import { z } from "zod";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Category } from "../categories/contracts.ts";
import type { Profile } from "../profile/contracts.ts";
import type { Task } from "../tasks/contracts.ts";
import { localToInstant, parseDue } from "../tasks/schedule/index.ts";
import type { TaskPriority } from "../tasks/schema.ts";
import type { AgentReply, AgentTurn, AssistantAgent, PlannedCall, ToolOutcome } from "./agent.ts";
import {
  type Intent,
  parseMessage,
  type TargetAction,
  type TaskFilter,
  type TaskReference,
  toQuickAddText,
} from "./offline.ts";
import {
  describeFilter,
  formatDue,
  helpText,
  numbered,
  quoted,
  taskLine,
  windowRange,
} from "./offline-replies.ts";

/** What the offline assistant remembers between turns, kept with its reply. */
const taskRef = z.object({ id: z.string(), title: z.string() });
const actionSchema = z.union([
  z.object({ kind: z.enum(["complete", "reopen", "delete"]) }),
  z.object({ kind: z.literal("reschedule"), when: z.string().nullable() }),
  z.object({ kind: z.literal("prioritise"), priority: z.string() }),
]);
const stateSchema = z.object({
  focus: z.array(taskRef).optional(),
  awaiting: z
    .union([
      z.object({ kind: z.literal("choice"), action: actionSchema, candidates: z.array(taskRef) }),
      z.object({ kind: z.literal("date"), tasks: z.array(taskRef) }),
    ])
    .optional(),
});

type TaskRef = z.infer<typeof taskRef>;
type Action = z.infer<typeof actionSchema>;
type OfflineState = z.infer<typeof stateSchema>;

const maxChoices = 10;
const listLimit = 20;
const timeOnly =
  /^(?:at\s+)?(?:(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?|(\d{1,2}):(\d{2})|(noon|midnight))$/i;

const ref = (task: Task): TaskRef => ({ id: task.id, title: task.title });
const reply = (text: string, state?: OfflineState): AgentReply => ({ text, state: state ?? null });

/** One turn of the offline assistant: reads the intent and carries it out through the tools. */
class OfflineTurn {
  readonly #turn: AgentTurn;
  readonly #state: OfflineState;
  readonly #zone: string;

  constructor(turn: AgentTurn) {
    this.#turn = turn;
    const last = turn.history.findLast((message) => message.role === "assistant");
    this.#state = stateSchema.safeParse(last?.state ?? {}).data ?? {};
    this.#zone = actingUser(turn.ctx.actor).timezone;
  }

  async respond(): Promise<AgentReply> {
    const awaiting = this.#state.awaiting?.kind ?? null;
    const intent = parseMessage(this.#turn.message, {
      now: this.#turn.ctx.now(),
      timeZone: this.#zone,
      awaiting,
    });
    if (intent.kind === "unknown" && this.#state.awaiting?.kind === "choice") {
      const wanted = this.#turn.message.trim().toLowerCase();
      const hits = this.#state.awaiting.candidates.filter((task) =>
        task.title.toLowerCase().includes(wanted),
      );
      if (hits.length === 1) return this.#act(this.#state.awaiting.action, hits);
    }
    return this.#handle(intent);
  }

  async #handle(intent: Intent): Promise<AgentReply> {
    switch (intent.kind) {
      case "greeting":
        return reply(`Hello! ${helpText}`);
      case "thanks":
        return reply("You're welcome.");
      case "help":
        return reply(helpText);
      case "add":
        return this.#add(intent.text);
      case "list":
        return this.#list(intent.filter, intent.unread);
      case "search":
        return this.#search(intent.query);
      case "summary":
        return this.#summary();
      case "complete":
      case "reopen":
      case "delete":
        return this.#onTarget({ kind: intent.kind }, intent.target);
      case "reschedule":
        return this.#onTarget({ kind: "reschedule", when: intent.when }, intent.target);
      case "prioritise":
        return this.#onTarget({ kind: "prioritise", priority: intent.priority }, intent.target);
      case "choose":
        return this.#choose(intent.choice);
      case "when": {
        const awaiting = this.#state.awaiting;
        if (awaiting?.kind !== "date") return reply("I'm not sure what that date is for.");
        return this.#act({ kind: "reschedule", when: intent.when }, awaiting.tasks);
      }
      case "cancel":
        return reply(
          this.#state.awaiting ? "OK, I've dropped that." : "There's nothing to cancel.",
        );
      case "confirm":
        return this.#confirm();
      case "missing":
        return reply(missingText[intent.action]);
      case "unknown":
        return reply(
          `Sorry, I didn't understand ${quoted(this.#turn.message.trim())}, so I did nothing. ${helpText}`,
        );
    }
  }

  async #call(name: string, input: Record<string, unknown>): Promise<ToolOutcome> {
    return this.#turn.tools.call({ name, input });
  }

  /** A read that must work; a failure becomes the answer. */
  async #read<T>(name: string, input: Record<string, unknown>): Promise<T | AgentReply> {
    const outcome = await this.#call(name, input);
    if (outcome.status === "succeeded") return outcome.result as T;
    if (outcome.status === "failed")
      return reply(`I couldn't look that up: ${outcome.error.detail}`);
    return reply("That lookup is waiting for approval.");
  }

  async #categories(): Promise<Category[]> {
    const outcome = await this.#call("list_categories", {});
    return outcome.status === "succeeded"
      ? (outcome.result as { categories: Category[] }).categories
      : [];
  }

  async #add(text: string): Promise<AgentReply> {
    const mentionsPlace = /\b(?:in|under|into|to|for)\b/i.test(text);
    const categories = mentionsPlace ? await this.#categories() : [];
    const quick = toQuickAddText(
      text,
      categories.map((category) => category.name),
    );
    const outcome = await this.#call("add_task", { text: quick });
    if (outcome.status !== "succeeded") return this.#failed("add that", outcome);
    const { task } = outcome.result as { task: Task };
    const category = categories.find((candidate) => candidate.id === task.categoryId);
    const details = [
      taskLine(task, this.#zone).replace(quoted(task.title), "").replace(/^ · /, ""),
      category ? `in ${category.name}` : "",
    ].filter((part) => part !== "");
    const suffix = details.length > 0 ? ` (${details.join(", ")})` : "";
    return reply(`Added ${quoted(task.title)}${suffix}.`, { focus: [ref(task)] });
  }

  /** list_tasks input for a filter, or the reason it cannot be asked. */
  async #query(filter: TaskFilter, limit: number): Promise<Record<string, unknown> | string> {
    const status = filter.status ?? "open";
    const input: Record<string, unknown> = {
      status,
      limit,
      sort: status === "completed" ? "updatedAt" : "dueAt",
      order: status === "completed" ? "desc" : "asc",
    };
    if (filter.priorities) input.priority = filter.priorities;
    if (filter.tag) input.tag = filter.tag;
    if (filter.words) input.q = filter.words;
    if (filter.category) {
      const wanted = filter.category.toLowerCase();
      const found = (await this.#categories()).find((c) => c.name.toLowerCase() === wanted);
      if (!found) return `You have no category named ${quoted(filter.category)}.`;
      input.categoryId = found.id;
    }
    if (filter.due === "overdue") input.overdue = true;
    else if (filter.due && status !== "completed") {
      const { from, to } = windowRange(filter.due, this.#turn.ctx.now(), this.#zone);
      input.dueAfter = from.toISOString();
      input.dueBefore = to.toISOString();
    }
    return input;
  }

  /** Tasks matching a filter; completed ones are filtered by when they were completed. */
  async #matching(filter: TaskFilter, limit: number): Promise<Task[] | AgentReply> {
    const input = await this.#query(filter, limit);
    if (typeof input === "string") return reply(input);
    const page = await this.#read<{ tasks: Task[] }>("list_tasks", input);
    if (!("tasks" in page)) return page;
    if (filter.status !== "completed" || !filter.due || filter.due === "overdue") return page.tasks;
    const { from, to } = windowRange(filter.due, this.#turn.ctx.now(), this.#zone);
    return page.tasks.filter((task) => {
      const at = task.completedAt ? new Date(task.completedAt) : null;
      return at !== null && at >= from && at <= to;
    });
  }

  async #list(filter: TaskFilter, unread: string): Promise<AgentReply> {
    let wanted = filter;
    if (unread !== "") {
      const category = (await this.#categories()).find(
        (candidate) => candidate.name.toLowerCase() === unread,
      );
      if (!category) {
        return reply(
          `I'm not sure what ${quoted(unread)} means here, so I listed nothing. Try “find ${unread}” to search your tasks.`,
        );
      }
      wanted = { ...filter, category: category.name };
    }
    const tasks = await this.#matching(wanted, listLimit);
    if (!Array.isArray(tasks)) return tasks;
    const what = describeFilter(wanted);
    if (tasks.length === 0) return reply(`You have no ${what}.`, { focus: [] });
    const lines = numbered(tasks.map((task) => taskLine(task, this.#zone)));
    const more = tasks.length === listLimit ? "\n(Showing the first 20.)" : "";
    return reply(`Your ${what}:\n${lines}${more}`, { focus: tasks.map(ref) });
  }

  async #search(query: string): Promise<AgentReply> {
    const found = await this.#read<{ tasks: Task[] }>("search_tasks", {
      q: query,
      limit: listLimit,
    });
    if (!("tasks" in found)) return found;
    if (found.tasks.length === 0) return reply(`No tasks match ${quoted(query)}.`, { focus: [] });
    const lines = numbered(found.tasks.map((task) => taskLine(task, this.#zone)));
    return reply(`Tasks matching ${quoted(query)}:\n${lines}`, { focus: found.tasks.map(ref) });
  }

  async #summary(): Promise<AgentReply> {
    const profile = await this.#read<Profile>("get_profile", {});
    if (!("stats" in profile)) return profile;
    const overdue = await this.#matching({ due: "overdue" }, 5);
    const upcoming = await this.#matching({ due: "upcoming" }, 5);
    if (!Array.isArray(overdue)) return overdue;
    if (!Array.isArray(upcoming)) return upcoming;
    const { open, overdue: late, dueToday, completedLast7Days } = profile.stats;
    const sections = [
      `You have ${open} open tasks: ${late} overdue and ${dueToday} due today. You completed ${completedLast7Days} in the last 7 days.`,
    ];
    if (overdue.length > 0) {
      sections.push(`Overdue:\n${numbered(overdue.map((task) => taskLine(task, this.#zone)))}`);
    }
    if (upcoming.length > 0) {
      sections.push(
        `Coming up this week:\n${numbered(upcoming.map((task) => taskLine(task, this.#zone)))}`,
      );
    }
    return reply(sections.join("\n\n"), { focus: [...overdue, ...upcoming].map(ref) });
  }

  #confirm(): AgentReply {
    const asked = this.#turn.history.findLast((message) => message.role === "assistant");
    if (!asked?.approvalId || !asked.toolCalls.some((call) => call.status === "pending_approval")) {
      return reply("There's nothing waiting for a yes.");
    }
    return reply(
      `To go ahead, approve it with the Approve button (POST /v1/chat/approvals/${asked.approvalId}). ` +
        "A yes typed in chat does not count, so nothing can approve on your behalf.",
    );
  }

  async #choose(choice: number | "all"): Promise<AgentReply> {
    const awaiting = this.#state.awaiting;
    if (awaiting?.kind !== "choice") return reply("I didn't ask you to choose anything.");
    if (choice === "all") return this.#act(awaiting.action, awaiting.candidates);
    const picked = awaiting.candidates.at(choice > 0 ? choice - 1 : choice);
    if (!picked || choice === 0) {
      return reply(`Please pick a number from 1 to ${awaiting.candidates.length}.`, this.#state);
    }
    return this.#act(awaiting.action, [picked]);
  }

  async #onTarget(action: Action, target: TaskReference): Promise<AgentReply> {
    const resolved = await this.#resolve(action, target);
    if (!Array.isArray(resolved)) return resolved;
    return this.#act(action, resolved);
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
        const picked = shown.at(target.index > 0 ? target.index - 1 : target.index);
        if (!picked || target.index === 0) {
          return reply(`I don't have a task number ${target.index} from my last answer.`);
        }
        return [picked];
      }
      case "all": {
        const tasks = await this.#matching({ ...target.filter, status }, 100);
        if (!Array.isArray(tasks)) return tasks;
        if (tasks.length === 0)
          return reply(`You have no ${describeFilter({ ...target.filter, status })}.`);
        return tasks.map(ref);
      }
      case "title":
        return this.#byTitle(action, target.text, status);
    }
  }

  async #byTitle(action: Action, text: string, status: "open" | "completed") {
    const exactOrAll = (tasks: Task[]) => {
      const exact = tasks.filter((task) => task.title.toLowerCase() === text.toLowerCase());
      return exact.length === 1 ? exact : tasks;
    };
    const found = await this.#read<{ tasks: Task[] }>("list_tasks", {
      q: text,
      status,
      limit: maxChoices,
      sort: "title",
    });
    if (!("tasks" in found)) return found;
    let candidates = exactOrAll(found.tasks);
    if (candidates.length === 0) {
      // Full text matches words; a part of a word ("dent") needs a look at the titles.
      const all = await this.#read<{ tasks: Task[] }>("list_tasks", {
        status,
        limit: 100,
        sort: "title",
      });
      if (!("tasks" in all)) return all;
      const wanted = text.toLowerCase();
      candidates = exactOrAll(
        all.tasks.filter((task) => task.title.toLowerCase().includes(wanted)),
      );
    }
    if (candidates.length === 0) {
      return reply(
        `I couldn't find ${status === "open" ? "an open" : "a completed"} task matching ${quoted(text)}.`,
      );
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
    switch (action.kind) {
      case "complete":
        return tasks.map((task) => ({ name: "complete_task", input: { id: task.id } }));
      case "reopen":
        return tasks.map((task) => ({ name: "reopen_task", input: { id: task.id } }));
      case "delete":
        return tasks.map((task) => ({ name: "delete_task", input: { id: task.id } }));
      case "prioritise":
        return tasks.map((task) => ({
          name: "update_task",
          input: { id: task.id, priority: action.priority as TaskPriority },
        }));
      case "reschedule":
        return this.#planReschedule(action.when, tasks);
    }
  }

  async #planReschedule(
    when: string | null,
    tasks: TaskRef[],
  ): Promise<PlannedCall[] | AgentReply> {
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
        const current = await this.#read<{ task: Task }>("get_task", { id: task.id });
        if (!("task" in current)) return current;
        calls.push({
          name: "update_task",
          input: { id: task.id, dueAt: this.#atTime(current.task, time) },
        });
      }
      return calls;
    }
    if (!parseDue(when, { now: this.#turn.ctx.now(), timeZone: this.#zone })) {
      return reply(`I couldn't read ${quoted(when)} as a date, so nothing changed.`);
    }
    return tasks.map((task) => ({ name: "update_task", input: { id: task.id, due: when } }));
  }

  async #act(action: Action, tasks: TaskRef[]): Promise<AgentReply> {
    const calls = await this.#plan(action, tasks);
    if (!Array.isArray(calls)) return calls;
    const outcomes = await this.#turn.tools.callAll(calls);
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

  /** The task's own day (or today) at the time asked for, in the user's zone. */
  #atTime(task: Task, time: RegExpExecArray): string {
    const [, hour12, minute12, half, hour24, minute24, named] = time;
    let hour = Number(hour24 ?? hour12 ?? 0);
    const minute = Number(minute24 ?? minute12 ?? 0);
    if (half) hour = (hour % 12) + (half.toLowerCase() === "p" ? 12 : 0);
    if (named) hour = named.toLowerCase() === "noon" ? 12 : 0;
    const day = DateTime.fromJSDate(task.dueAt ? new Date(task.dueAt) : this.#turn.ctx.now(), {
      zone: this.#zone,
    });
    const wall = { year: day.year, month: day.month, day: day.day, hour, minute };
    return localToInstant(wall, this.#zone).toISOString();
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
        const due = task ? formatDue(task, this.#zone) : null;
        return due ? `Moved ${title} to ${due}.` : `Moved ${title}.`;
      }
    }
  }

  #failed(what: string, outcome: ToolOutcome): AgentReply {
    if (outcome.status === "failed") return reply(`I couldn't ${what}: ${outcome.error.detail}`);
    return reply(`I couldn't ${what} yet: it is waiting for approval.`);
  }
}

const missingText: Record<TargetAction | "add" | "reschedule", string> = {
  add: "What should the task be called? For example: “add call mum tomorrow 6pm”.",
  complete: "Which task should I complete? Say its title.",
  reopen: "Which task should I reopen? Say its title.",
  delete: "Which task should I delete? Say its title.",
  reschedule: "Which task should I move, and to when? For example: “move dentist to friday 3pm”.",
};

/** The assistant that works with no model configured: deterministic, and honest when lost. */
export const offlineAgent: AssistantAgent = {
  name: "offline",
  respond: (turn) => new OfflineTurn(turn).respond(),
};
