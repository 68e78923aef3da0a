import { z } from "zod";
import { assertGranted, type Scope } from "../../platform/auth/scopes.ts";
import type { Context } from "../../platform/context.ts";
import { validationFailed, zodInvalid } from "../../platform/http/errors.ts";
import { isoDateTime } from "../../platform/http/fields.ts";
import { unstorableTextError } from "../../platform/http/validation.ts";
import { categorySchema } from "../categories/contracts.ts";
import { listCategories, listCategoryNames } from "../categories/service.ts";
import { profileSchema } from "../profile/contracts.ts";
import { getProfile } from "../profile/service.ts";
import { searchModes } from "../search/contracts.ts";
import * as search from "../search/service.ts";
import { taskSchema, taskSorts } from "../tasks/contracts.ts";
import { taskPriorities } from "../tasks/schema.ts";
import * as tasks from "../tasks/service.ts";
import { personalWorkspaceId } from "../workspaces/service.ts";

/**
 * What running a tool may do. `read` tools change nothing; `destructive`
 * ones (delete) always wait for the user's approval in chat.
 */
export type ToolEffect = "read" | "write" | "destructive";

/**
 * One tool, defined once for every transport: the MCP server registers it
 * as it is, the chat agent calls it through the tool runner. `run` is a thin
 * adapter over a service verb and gets the caller's own context, so every
 * authorization rule of the verb applies.
 */
export type Tool<
  Input extends z.ZodObject = z.ZodObject,
  Output extends z.ZodObject = z.ZodObject,
> = {
  name: string;
  title: string;
  description: string;
  scope: Scope;
  effect: ToolEffect;
  input: Input;
  output: Output;
  // Method syntax: a list of tools holds each with its own input type.
  run(ctx: Context, input: z.output<Input>): Promise<z.input<Output>>;
};

function defineTool<Input extends z.ZodObject, Output extends z.ZodObject>(
  tool: Tool<Input, Output>,
): Tool<Input, Output> {
  return tool;
}

const id = z.uuid({ error: "must be a task id (UUID)" });
const title = z.string().trim().min(1, "must not be empty").max(200);
const tags = z.array(z.string().trim().min(1).max(50)).max(20);
const due = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .describe('When it is due, in words read in the user\'s time zone: "friday 3pm", "tomorrow"');
const recurrence = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .describe('How it repeats: words ("every monday 9am") or an RRULE');
const limit = z.number().int().min(1).max(100);

const taskResult = z.object({ task: taskSchema });
const taskListResult = z.object({
  tasks: z.array(taskSchema),
  nextCursor: z
    .string()
    .nullable()
    .describe("Pass as cursor to get the next page; null on the last page"),
});

/** A category given by name, looked up case-insensitively in the task's workspace. */
async function categoryIdByName(ctx: Context, workspaceId: string, name: string): Promise<string> {
  const wanted = name.trim().toLowerCase();
  const found = (await listCategoryNames(ctx, workspaceId)).find(
    (category) => category.name.toLowerCase() === wanted,
  );
  if (!found) throw validationFailed("category", `there is no category named "${name}"`);
  return found.id;
}

export const addTask = defineTool({
  name: "add_task",
  title: "Add a task",
  description:
    "Creates a task. Give either a title with separate fields, or one line of quick-add " +
    'text such as "Pay rent every 1st at 9am #Home @finance p1" (# category, @ tag, ' +
    "p1..p4 priority, dates and repeats in words).",
  scope: "tasks:write",
  effect: "write",
  input: z
    .strictObject({
      title: title.optional().describe("The task's title (give this or text)"),
      text: z
        .string()
        .trim()
        .min(1)
        .max(500)
        .optional()
        .describe("Quick-add text, parsed for dates, repeats, #category, @tags and p1..p4"),
      description: z.string().max(10_000).optional(),
      priority: z.enum(taskPriorities).optional(),
      tags: tags.optional(),
      category: z.string().trim().min(1).max(100).optional().describe("A category by name"),
      categoryId: z.uuid().optional(),
      due: due.optional(),
      dueAt: isoDateTime.optional(),
      recurrence: recurrence.optional(),
      workspaceId: z.uuid().optional().describe("Defaults to the user's personal workspace"),
    })
    .refine((input) => (input.title === undefined) !== (input.text === undefined), {
      path: ["title"],
      message: "give either title or text",
    })
    .refine(
      (input) =>
        input.text === undefined ||
        Object.keys(input).every((key) => key === "text" || key === "workspaceId"),
      {
        path: ["text"],
        message: "text carries everything itself; give only workspaceId beside it",
      },
    )
    .refine((input) => !(input.due !== undefined && input.dueAt !== undefined), {
      path: ["due"],
      message: "give either due or dueAt, not both",
    }),
  output: taskResult,
  async run(ctx, { text, category, title, ...fields }) {
    if (text !== undefined) {
      return { task: await tasks.quickAddTask(ctx, { text, workspaceId: fields.workspaceId }) };
    }
    const workspaceId = fields.workspaceId ?? (await personalWorkspaceId(ctx));
    const categoryId =
      category === undefined
        ? fields.categoryId
        : await categoryIdByName(ctx, workspaceId, category);
    return {
      task: await tasks.createTask(ctx, { ...fields, title: title ?? "", workspaceId, categoryId }),
    };
  },
});

export const listTasks = defineTool({
  name: "list_tasks",
  title: "List tasks",
  description:
    "Lists the user's tasks across their workspaces, filtered and sorted; filters combine with AND.",
  scope: "tasks:read",
  effect: "read",
  input: z.strictObject({
    status: z.enum(["open", "completed", "all"]).default("open"),
    priority: z.array(z.enum(taskPriorities)).min(1).optional().describe("Any of these priorities"),
    categoryId: z.uuid().optional(),
    tag: z.string().trim().min(1).max(50).optional(),
    q: z.string().trim().min(1).max(200).optional().describe("Words in the title or description"),
    dueBefore: isoDateTime.optional(),
    dueAfter: isoDateTime.optional(),
    overdue: z.boolean().optional().describe("true: only open tasks past their due date"),
    workspaceId: z.uuid().optional(),
    assigneeId: z.union([z.literal("me"), z.uuid()]).optional(),
    sort: z.enum(taskSorts).default("dueAt"),
    order: z.enum(["asc", "desc"]).default("asc"),
    limit: limit.default(20),
    cursor: z.string().min(1).max(1000).optional(),
  }),
  output: taskListResult,
  async run(ctx, query) {
    const page = await tasks.listTasks(ctx, query);
    return { tasks: page.data, nextCursor: page.nextCursor };
  },
});

export const getTask = defineTool({
  name: "get_task",
  title: "Get a task",
  description: "One task by its id, with every field.",
  scope: "tasks:read",
  effect: "read",
  input: z.strictObject({ id }),
  output: taskResult,
  async run(ctx, input) {
    return { task: await tasks.getTask(ctx, input.id) };
  },
});

export const searchTasks = defineTool({
  name: "search_tasks",
  title: "Search tasks",
  description:
    "Finds tasks whose title or description matches q: by words (full text, any word form, " +
    "typos in titles) and, where embeddings are available, by meaning, best first.",
  scope: "tasks:read",
  effect: "read",
  input: z.strictObject({
    q: z.string().trim().min(1).max(200).describe('Words to look for, e.g. "dentist"'),
    status: z.enum(["open", "completed", "all"]).default("all"),
    limit: limit.default(20),
  }),
  output: taskListResult.extend({
    mode: z
      .enum(searchModes)
      .describe(
        "How the search ran: hybrid (words and meaning) or keyword when embeddings are off",
      ),
  }),
  async run(ctx, { q, status, limit: pageSize }) {
    const found = await search.searchTasks(ctx, { q, status, limit: pageSize, mode: "hybrid" });
    // Best matches first, in one page: a ranking has no cursor.
    return { tasks: found.data.map((hit) => hit.task), nextCursor: null, mode: found.mode };
  },
});

export const updateTask = defineTool({
  name: "update_task",
  title: "Update or reschedule a task",
  description:
    'Changes fields of a task. To reschedule, give due ("friday 3pm") or dueAt; null clears ' +
    "a field. To complete or reopen, use complete_task or reopen_task.",
  scope: "tasks:write",
  effect: "write",
  input: z
    .strictObject({
      id,
      title: title.optional(),
      description: z.string().max(10_000).nullable().optional(),
      priority: z.enum(taskPriorities).optional(),
      categoryId: z.uuid().nullable().optional(),
      tags: tags.optional(),
      due: due.optional(),
      dueAt: isoDateTime.nullable().optional(),
      allDay: z.boolean().optional(),
      recurrence: recurrence.nullable().optional(),
      assigneeId: z.uuid().nullable().optional(),
    })
    .refine((input) => Object.keys(input).length > 1, {
      path: ["id"],
      message: "give at least one field to change",
    })
    .refine((input) => !(input.due !== undefined && input.dueAt !== undefined), {
      path: ["due"],
      message: "give either due or dueAt, not both",
    }),
  output: taskResult,
  async run(ctx, { id: taskId, ...fields }) {
    return { task: await tasks.updateTask(ctx, taskId, fields) };
  },
});

export const completeTask = defineTool({
  name: "complete_task",
  title: "Complete a task",
  description: "Marks a task done. A recurring task gets its next occurrence (nextOccurrenceId).",
  scope: "tasks:write",
  effect: "write",
  input: z.strictObject({ id }),
  output: taskResult,
  async run(ctx, input) {
    return { task: await tasks.completeTask(ctx, input.id) };
  },
});

export const reopenTask = defineTool({
  name: "reopen_task",
  title: "Reopen a task",
  description: "Marks a completed task open again.",
  scope: "tasks:write",
  effect: "write",
  input: z.strictObject({ id }),
  output: taskResult,
  async run(ctx, input) {
    return { task: await tasks.reopenTask(ctx, input.id) };
  },
});

export const deleteTask = defineTool({
  name: "delete_task",
  title: "Delete a task",
  description: "Moves a task and its sub-tasks to the trash (they can be restored).",
  scope: "tasks:write",
  effect: "destructive",
  input: z.strictObject({ id }),
  output: z.object({ id: z.uuid(), title: z.string(), deleted: z.literal(true) }),
  async run(ctx, input) {
    const task = await tasks.getTask(ctx, input.id);
    await tasks.deleteTask(ctx, input.id);
    return { id: task.id, title: task.title, deleted: true as const };
  },
});

export const listCategoriesTool = defineTool({
  name: "list_categories",
  title: "List categories",
  description: "Lists the categories of the user's workspaces, with their task counts.",
  scope: "tasks:read",
  effect: "read",
  input: z.strictObject({
    workspaceId: z.uuid().optional(),
    limit: limit.default(100),
    cursor: z.string().min(1).max(1000).optional(),
  }),
  output: z.object({ categories: z.array(categorySchema), nextCursor: z.string().nullable() }),
  async run(ctx, query) {
    const page = await listCategories(ctx, query);
    return { categories: page.data, nextCursor: page.nextCursor };
  },
});

export const getProfileTool = defineTool({
  name: "get_profile",
  title: "Get the user's profile",
  description:
    "The user's name, time zone, workspaces, task stats (open, overdue, due today, completed " +
    "in the last 7 days) and, on request, their recent activity.",
  scope: "tasks:read",
  effect: "read",
  input: z.strictObject({
    activityLimit: z.number().int().min(0).max(50).default(0).describe("Recent events to include"),
  }),
  // A copy without the "Profile" id: an MCP output schema must be an object at its root, not a $ref.
  output: profileSchema.extend({}),
  run: (ctx, input) => getProfile(ctx, input),
});

/** Every tool, in the order clients see them. */
export const allTools: readonly Tool[] = [
  addTask,
  listTasks,
  getTask,
  searchTasks,
  updateTask,
  completeTask,
  reopenTask,
  deleteTask,
  listCategoriesTool,
  getProfileTool,
];

export function findTool(name: string): Tool | undefined {
  return allTools.find((tool) => tool.name === name);
}

/**
 * Keys and array items one tool call's input may hold, counted before it is
 * validated. The largest real call (add_task with every field and 20 tags)
 * has about 35; 90,000 unknown keys took 267 ms to validate and came back
 * as a 1 MB error naming each.
 */
export const maxToolInputElements = 100;

/** Whether `value` holds more than `max` keys and array items, counted until it does. */
function holdsMoreThan(value: unknown, max: number): boolean {
  let count = 0;
  const stack = [value];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node === null || typeof node !== "object") continue;
    const children = Array.isArray(node) ? node : Object.values(node);
    count += children.length;
    if (count > max) return true;
    stack.push(...children);
  }
  return false;
}

/**
 * Runs one tool as the caller: checks the scope, validates the input (400
 * naming the field, never a crash), calls the verb and shapes the result
 * through the output schema. Every transport runs tools through here.
 */
export async function runTool(ctx: Context, tool: Tool, rawInput: unknown): Promise<unknown> {
  assertGranted(ctx.actor, tool.scope, tool.name);
  if (holdsMoreThan(rawInput, maxToolInputElements)) {
    throw validationFailed(
      "input",
      `holds more than ${maxToolInputElements} keys and array items in all`,
    );
  }
  const parsed = tool.input.safeParse(rawInput ?? {});
  if (!parsed.success) {
    throw zodInvalid(parsed.error, (path) => path.join(".") || "input");
  }
  // Text Postgres cannot store, from an MCP client or a model: a field error
  // like any other (HTTP bodies are checked before they get here).
  const unstorable = unstorableTextError(rawInput, "input");
  if (unstorable) throw unstorable;
  return tool.output.parse(await tool.run(ctx, parsed.data));
}
