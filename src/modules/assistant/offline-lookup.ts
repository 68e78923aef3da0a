import { z } from "zod";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Category } from "../categories/contracts.ts";
import type { Task } from "../tasks/contracts.ts";
import type { AgentReply, AgentTurn, ToolOutcome } from "./agent.ts";
import type { TaskFilter } from "./offline.ts";
import { quoted, windowRange } from "./offline-replies.ts";

/** What the offline assistant remembers between turns, kept with its reply. */
const taskRef = z.object({ id: z.string(), title: z.string() });
const actionSchema = z.union([
  z.object({ kind: z.enum(["complete", "reopen", "delete"]) }),
  z.object({ kind: z.literal("reschedule"), when: z.string().nullable() }),
  z.object({ kind: z.literal("prioritise"), priority: z.string() }),
]);
export const offlineStateSchema = z.object({
  /** The tasks the last answer was about: "it", "the second one". */
  focus: z.array(taskRef).optional(),
  /** A question the last answer asked. */
  awaiting: z
    .union([
      z.object({ kind: z.literal("choice"), action: actionSchema, candidates: z.array(taskRef) }),
      z.object({ kind: z.literal("date"), tasks: z.array(taskRef) }),
    ])
    .optional(),
});

export type TaskRef = z.infer<typeof taskRef>;
/** What to do with the tasks a message names. */
export type Action = z.infer<typeof actionSchema>;
export type OfflineState = z.infer<typeof offlineStateSchema>;

export const ref = (task: Task): TaskRef => ({ id: task.id, title: task.title });

export const reply = (text: string, state?: OfflineState): AgentReply => ({
  text,
  state: state ?? null,
});

/** Reads through the turn's tool box, in the user's time zone. */
export class Lookup {
  readonly turn: AgentTurn;
  readonly zone: string;

  constructor(turn: AgentTurn) {
    this.turn = turn;
    this.zone = actingUser(turn.ctx.actor).timezone;
  }

  now(): Date {
    return this.turn.ctx.now();
  }

  call(name: string, input: Record<string, unknown>): Promise<ToolOutcome> {
    return this.turn.tools.call({ name, input });
  }

  /** A read that must work; a failure becomes the answer. */
  async read<T>(name: string, input: Record<string, unknown>): Promise<T | AgentReply> {
    const outcome = await this.call(name, input);
    if (outcome.status === "succeeded") return outcome.result as T;
    if (outcome.status === "failed") {
      return reply(`I couldn't look that up: ${outcome.error.detail}`);
    }
    return reply("That lookup is waiting for approval.");
  }

  async categories(): Promise<Category[]> {
    const outcome = await this.call("list_categories", {});
    return outcome.status === "succeeded"
      ? (outcome.result as { categories: Category[] }).categories
      : [];
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
      const found = (await this.categories()).find((c) => c.name.toLowerCase() === wanted);
      if (!found) return `You have no category named ${quoted(filter.category)}.`;
      input.categoryId = found.id;
    }
    if (filter.due === "overdue") input.overdue = true;
    else if (filter.due && status !== "completed") {
      const { from, to } = windowRange(filter.due, this.now(), this.zone);
      input.dueAfter = from.toISOString();
      input.dueBefore = to.toISOString();
    }
    return input;
  }

  /** Tasks matching a filter; completed ones are filtered by when they were completed. */
  async matching(filter: TaskFilter, limit: number): Promise<Task[] | AgentReply> {
    const input = await this.#query(filter, limit);
    if (typeof input === "string") return reply(input);
    const page = await this.read<{ tasks: Task[] }>("list_tasks", input);
    if (!("tasks" in page)) return page;
    if (filter.status !== "completed" || !filter.due || filter.due === "overdue") return page.tasks;
    const { from, to } = windowRange(filter.due, this.now(), this.zone);
    return page.tasks.filter((task) => {
      const at = task.completedAt ? new Date(task.completedAt) : null;
      return at !== null && at >= from && at <= to;
    });
  }
}
