import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { forbidden } from "../../platform/http/errors.ts";
import { completeTask, reopenTask } from "../tasks/completion.ts";
import type { Task } from "../tasks/contracts.ts";
import { listTasks } from "../tasks/list.ts";
import * as tasks from "../tasks/service.ts";
import { personalWorkspaceId } from "../workspaces/service.ts";
import type { CompatTask } from "./contracts.ts";

/**
 * The hackathon surface: a thin adapter that maps the spec's shapes onto the
 * task verbs. Every rule of those verbs applies; the only rule of its own is
 * that the path's user must be the caller.
 */

/** Most a list answers: the spec has no pagination, and clients expect one array. */
export const compatListMax = 500;

export function assertSelf(ctx: Context, userId: string): void {
  // A UUID in capitals is the same UUID, as everywhere else in the API.
  if (actingUser(ctx.actor).userId !== userId.toLowerCase()) {
    throw forbidden("The user in the path must be the signed-in user");
  }
}

export function toCompat(task: Task, userId: string): CompatTask {
  return {
    id: task.id,
    user_id: task.createdBy ?? userId,
    title: task.title,
    description: task.description,
    completed: task.status === "completed",
    priority: task.priority,
    due_date: task.dueAt,
    tags: task.tags,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
  };
}

const sorts = {
  created: { sort: "createdAt", order: "desc" },
  title: { sort: "title", order: "asc" },
  due_date: { sort: "dueAt", order: "asc" },
} as const;

const statuses = { all: "all", pending: "open", completed: "completed" } as const;

/** The caller's personal tasks, walked page by page up to `compatListMax`. */
export async function listCompatTasks(
  ctx: Context,
  query: { status: keyof typeof statuses; sort: keyof typeof sorts },
): Promise<CompatTask[]> {
  const me = actingUser(ctx.actor);
  const workspaceId = await personalWorkspaceId(ctx);
  const found: Task[] = [];
  let cursor: string | undefined;
  do {
    const page = await listTasks(ctx, {
      status: statuses[query.status],
      workspaceId,
      ...sorts[query.sort],
      limit: Math.min(100, compatListMax - found.length),
      cursor,
    });
    found.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && found.length < compatListMax);
  return found.map((task) => toCompat(task, me.userId));
}

/** PATCH .../complete in the spec toggles. */
export async function toggleCompletion(ctx: Context, id: string): Promise<Task> {
  const current = await tasks.getTask(ctx, id);
  return current.status === "completed" ? reopenTask(ctx, id) : completeTask(ctx, id);
}
