import type { Profile } from "../profile/contracts.ts";
import type { Task } from "../tasks/contracts.ts";
import type { AgentReply, AgentTurn, AssistantAgent } from "./agent.ts";
import { type Intent, parseMessage, type TargetAction, type TaskFilter } from "./offline.ts";
import { TaskActions } from "./offline-actions.ts";
import { Lookup, type OfflineState, offlineStateSchema, ref, reply } from "./offline-lookup.ts";
import { toQuickAddText } from "./offline-quick-add.ts";
import { describeFilter, helpText, numbered, quoted, taskLine } from "./offline-replies.ts";

const listLimit = 20;

const missingText: Record<TargetAction | "add" | "reschedule", string> = {
  add: "What should the task be called? For example: “add call mum tomorrow 6pm”.",
  complete: "Which task should I complete? Say its title.",
  reopen: "Which task should I reopen? Say its title.",
  delete: "Which task should I delete? Say its title.",
  reschedule: "Which task should I move, and to when? For example: “move dentist to friday 3pm”.",
};

/** One turn of the offline assistant: reads the intent and carries it out through the tools. */
class OfflineTurn {
  readonly #lookup: Lookup;
  readonly #state: OfflineState;
  readonly #actions: TaskActions;

  constructor(turn: AgentTurn) {
    this.#lookup = new Lookup(turn);
    const last = turn.history.findLast((message) => message.role === "assistant");
    this.#state = offlineStateSchema.safeParse(last?.state ?? {}).data ?? {};
    this.#actions = new TaskActions(this.#lookup, this.#state);
  }

  get #turn(): AgentTurn {
    return this.#lookup.turn;
  }

  async respond(): Promise<AgentReply> {
    const awaiting = this.#state.awaiting;
    const intent = parseMessage(this.#turn.message, {
      now: this.#lookup.now(),
      timeZone: this.#lookup.zone,
      awaiting: awaiting?.kind ?? null,
    });
    if (intent.kind === "unknown" && awaiting?.kind === "choice") {
      // "Which one?" can also be answered with a piece of the title.
      const wanted = this.#turn.message.trim().toLowerCase();
      const hits = awaiting.candidates.filter((task) => task.title.toLowerCase().includes(wanted));
      if (hits.length === 1) return this.#actions.act(awaiting.action, hits);
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
        return this.#actions.onTarget({ kind: intent.kind }, intent.target);
      case "reschedule":
        return this.#actions.onTarget({ kind: "reschedule", when: intent.when }, intent.target);
      case "prioritise": {
        const action = { kind: "prioritise", priority: intent.priority } as const;
        return this.#actions.onTarget(action, intent.target);
      }
      case "choose":
        return this.#actions.choose(intent.choice);
      case "when":
        return this.#actions.dueAt(intent.when);
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

  async #add(text: string): Promise<AgentReply> {
    const mentionsPlace = /\b(?:in|under|into|to|for)\b/i.test(text);
    const categories = mentionsPlace ? await this.#lookup.categories() : [];
    const names = categories.map((category) => category.name);
    const outcome = await this.#lookup.call("add_task", { text: toQuickAddText(text, names) });
    if (outcome.status === "failed") return reply(`I couldn't add that: ${outcome.error.detail}`);
    if (outcome.status !== "succeeded") return reply("Adding that is waiting for approval.");
    const { task } = outcome.result as { task: Task };
    const category = categories.find((candidate) => candidate.id === task.categoryId);
    const details = [
      taskLine(task, this.#lookup.zone).replace(quoted(task.title), "").replace(/^ · /, ""),
      category ? `in ${category.name}` : "",
    ].filter((part) => part !== "");
    const suffix = details.length > 0 ? ` (${details.join(", ")})` : "";
    return reply(`Added ${quoted(task.title)}${suffix}.`, { focus: [ref(task)] });
  }

  /** Words the filter did not place may name a category; anything else is not guessed at. */
  async #list(filter: TaskFilter, unread: string): Promise<AgentReply> {
    let wanted = filter;
    if (unread !== "") {
      const categories = await this.#lookup.categories();
      const category = categories.find((candidate) => candidate.name.toLowerCase() === unread);
      if (!category) {
        return reply(
          `I'm not sure what ${quoted(unread)} means here, so I listed nothing. Try “find ${unread}” to search your tasks.`,
        );
      }
      wanted = { ...filter, category: category.name };
    }
    const tasks = await this.#lookup.matching(wanted, listLimit);
    if (!Array.isArray(tasks)) return tasks;
    const what = describeFilter(wanted);
    if (tasks.length === 0) return reply(`You have no ${what}.`, { focus: [] });
    const more = tasks.length === listLimit ? `\n(Showing the first ${listLimit}.)` : "";
    return reply(`Your ${what}:\n${this.#lines(tasks)}${more}`, { focus: tasks.map(ref) });
  }

  async #search(query: string): Promise<AgentReply> {
    const found = await this.#lookup.read<{ tasks: Task[] }>("search_tasks", {
      q: query,
      limit: listLimit,
    });
    if (!("tasks" in found)) return found;
    if (found.tasks.length === 0) return reply(`No tasks match ${quoted(query)}.`, { focus: [] });
    return reply(`Tasks matching ${quoted(query)}:\n${this.#lines(found.tasks)}`, {
      focus: found.tasks.map(ref),
    });
  }

  async #summary(): Promise<AgentReply> {
    const profile = await this.#lookup.read<Profile>("get_profile", {});
    if (!("stats" in profile)) return profile;
    const overdue = await this.#lookup.matching({ due: "overdue" }, 5);
    if (!Array.isArray(overdue)) return overdue;
    const upcoming = await this.#lookup.matching({ due: "upcoming" }, 5);
    if (!Array.isArray(upcoming)) return upcoming;
    const { open, overdue: late, dueToday, completedLast7Days } = profile.stats;
    const sections = [
      `You have ${open} open tasks: ${late} overdue and ${dueToday} due today. You completed ${completedLast7Days} in the last 7 days.`,
    ];
    if (overdue.length > 0) sections.push(`Overdue:\n${this.#lines(overdue)}`);
    if (upcoming.length > 0) sections.push(`Coming up this week:\n${this.#lines(upcoming)}`);
    return reply(sections.join("\n\n"), { focus: [...overdue, ...upcoming].map(ref) });
  }

  /** Approvals happen through their endpoint only: a "yes" in chat could be anyone's words. */
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

  #lines(tasks: Task[]): string {
    return numbered(tasks.map((task) => taskLine(task, this.#lookup.zone)));
  }
}

/** The assistant that works with no model configured: deterministic, and honest when lost. */
export const offlineAgent: AssistantAgent = {
  name: "offline",
  respond: (turn) => new OfflineTurn(turn).respond(),
};
