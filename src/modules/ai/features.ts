import { DateTime } from "luxon";
import { actingUser } from "../../platform/auth/actor.ts";
import { assertGranted } from "../../platform/auth/scopes.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import type { Task } from "../tasks/contracts.ts";
import * as tasks from "../tasks/service.ts";
import { personalWorkspaceId } from "../workspaces/service.ts";
import {
  type BreakdownAnswer,
  breakdownOutputSchema,
  type DigestAnswer,
  type DigestFilter,
  type SummaryAnswer,
} from "./contracts.ts";
import type { AiAnswer, AiGateway } from "./gateway.ts";
import { renderPrompt } from "./prompts.ts";
import { cleanText } from "./safety.ts";

/**
 * The AI features. Each reads what it needs through the tasks service (so the
 * caller's visibility rules apply), builds capped and cleaned template
 * variables, and asks the gateway for an answer.
 */

export type StreamOptions = {
  stream: boolean;
  onDelta?: (delta: string) => void;
  signal?: AbortSignal;
};

const maxSubtasks = 50;
const maxActivity = 20;
const maxDigestTasks = 100;

function taskData(task: Task, withDescription = true) {
  return {
    title: cleanText(task.title, 200),
    description:
      withDescription && task.description ? cleanText(task.description, 4_000) || null : null,
    status: task.status,
    priority: task.priority,
    dueAt: task.dueAt,
    completedAt: task.completedAt,
    tags: task.tags.map((tag) => cleanText(tag, 50)),
  };
}

function meta(answer: AiAnswer) {
  return {
    provider: answer.provider,
    model: answer.model,
    cached: answer.cached,
    usage: {
      inputTokens: answer.usage.inputTokens,
      outputTokens: answer.usage.outputTokens,
      costUsd: answer.usage.costMicros / 1_000_000,
    },
    template: `${answer.template.id}.v${answer.template.version}`,
    flags: answer.flags,
  };
}

const allOf = { sort: "position", order: "asc", status: "all" } as const;

export async function summarizeTask(
  ctx: Context,
  ai: AiGateway,
  taskId: string,
  options: StreamOptions,
): Promise<SummaryAnswer> {
  const task = await tasks.getTask(ctx, taskId);
  const [subtasks, activity] = await Promise.all([
    tasks.listTasks(ctx, { ...allOf, parentId: taskId, limit: maxSubtasks }),
    tasks.listTaskActivity(ctx, taskId, { limit: maxActivity }),
  ]);
  const variables = {
    task: taskData(task),
    subtasks: subtasks.data.map((subtask) => ({
      title: cleanText(subtask.title, 200),
      status: subtask.status,
      dueAt: subtask.dueAt,
    })),
    activity: activity.data.map((event) => ({
      type: event.type,
      at: event.createdAt,
      by: event.actor.name ? cleanText(event.actor.name, 100) : null,
    })),
  };
  const answer = await ai.run(ctx, {
    feature: "summary",
    template: "summary",
    render: (external) => renderPrompt("summary", variables, { external }),
    cacheInput: { taskId, version: task.version, variables },
    workspaceId: task.workspaceId,
    moderation: { kind: "stored", value: variables },
    maxOutputTokens: 400,
    sanitize: true,
    ...options,
  });
  return { taskId, summary: answer.text, ...meta(answer) };
}

/** Open tasks by due date, plus the ones completed in the last week unless a status was asked for. */
async function digestTasks(ctx: Context, filter: DigestFilter): Promise<Task[]> {
  const { status, ...rest } = filter;
  const query = { ...rest, sort: "dueAt", order: "asc", limit: maxDigestTasks } as const;
  if (status) return (await tasks.listTasks(ctx, { ...query, status })).data;
  const [open, completed] = await Promise.all([
    tasks.listTasks(ctx, { ...query, status: "open" }),
    tasks.listTasks(ctx, {
      ...query,
      status: "completed",
      sort: "updatedAt",
      order: "desc",
      limit: 20,
    }),
  ]);
  const weekAgo = ctx.now().getTime() - 7 * 24 * 3600 * 1000;
  const recent = completed.data.filter(
    (task) => task.completedAt && Date.parse(task.completedAt) >= weekAgo,
  );
  return [...open.data, ...recent];
}

export async function digest(
  ctx: Context,
  ai: AiGateway,
  filter: DigestFilter,
  options: StreamOptions,
): Promise<DigestAnswer> {
  const me = actingUser(ctx.actor);
  const workspaceId = filter.workspaceId ?? (await personalWorkspaceId(ctx));
  const found = await digestTasks(ctx, filter);
  const today = DateTime.fromJSDate(ctx.now(), { zone: me.timezone }).toISODate() ?? "";
  const variables = {
    today,
    timezone: me.timezone,
    tasks: found.map((task) => {
      const { description: _description, ...data } = taskData(task, false);
      return data;
    }),
  };
  const answer = await ai.run(ctx, {
    feature: "digest",
    template: "digest",
    render: (external) => renderPrompt("digest", variables, { external }),
    cacheInput: {
      filter,
      versions: found.map((task) => [task.id, task.version]),
      variables,
    },
    workspaceId,
    moderation: { kind: "stored", value: variables.tasks },
    maxOutputTokens: 800,
    sanitize: true,
    ...options,
  });
  return { digest: answer.text, taskCount: found.length, ...meta(answer) };
}

/**
 * JSON from a model answer, tolerating a Markdown code fence around it.
 * Not one regex: its whitespace runs on both sides of the body backtracked
 * cubically ("```" and 2,000 spaces: 3.7 s).
 */
export function parseJson(text: string): unknown {
  const trimmed = text.trim();
  const opening = /^```(?:json)?/.exec(trimmed);
  const fenced = opening && trimmed.length >= opening[0].length + 3 && trimmed.endsWith("```");
  return JSON.parse(fenced ? trimmed.slice(opening[0].length, -3) : trimmed);
}

function breakdownProblems(text: string): string[] {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch {
    return ["the answer is not valid JSON"];
  }
  const parsed = breakdownOutputSchema.safeParse(value);
  if (parsed.success) return [];
  return parsed.error.issues.map(
    (issue) => `${issue.path.join(".") || "answer"}: ${issue.message}`,
  );
}

export async function breakdown(
  ctx: Context,
  ai: AiGateway,
  input: { taskId: string; apply?: boolean | undefined },
  options: StreamOptions,
): Promise<BreakdownAnswer> {
  if (input.apply) assertGranted(ctx.actor, "tasks:write", "`apply: true` creates sub-tasks and");
  const task = await tasks.getTask(ctx, input.taskId);
  const variables = { task: taskData(task) };
  const answer = await ai.run(ctx, {
    feature: "breakdown",
    template: "breakdown",
    render: (external) => renderPrompt("breakdown", variables, { external }),
    repair: (previousOutput, problems) => (external) =>
      renderPrompt(
        "breakdown-repair",
        { ...variables, previousOutput: previousOutput.slice(0, 8_000), problems },
        { external },
      ),
    validate: breakdownProblems,
    cacheInput: { taskId: task.id, version: task.version, variables },
    workspaceId: task.workspaceId,
    moderation: { kind: "stored", value: variables },
    maxOutputTokens: 600,
    sanitize: false,
    stream: options.stream,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const { subtasks } = breakdownOutputSchema.parse(parseJson(answer.text));
  // Structured output is streamed once it is valid: one line per suggestion.
  for (const subtask of subtasks) {
    const estimate = subtask.estimateMinutes ? ` (${subtask.estimateMinutes} min)` : "";
    options.onDelta?.(`- ${subtask.title}${estimate}\n`);
  }
  const created = input.apply ? await createSubtasks(ctx, task, subtasks) : [];
  return { taskId: task.id, subtasks, created, ...meta(answer) };
}

/** All suggestions become sub-tasks in one transaction, each through the tasks service. */
function createSubtasks(
  ctx: Context,
  parent: Task,
  subtasks: Array<{ title: string; estimateMinutes?: number | undefined }>,
): Promise<Task[]> {
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const created: Task[] = [];
    for (const subtask of subtasks) {
      created.push(
        await tasks.createTask(txCtx, {
          title: subtask.title,
          description: subtask.estimateMinutes
            ? `Estimate: ${subtask.estimateMinutes} minutes`
            : null,
          parentId: parent.id,
          workspaceId: parent.workspaceId,
        }),
      );
    }
    return created;
  });
}
