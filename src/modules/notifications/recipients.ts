import type { NotificationReason } from "./schema.ts";

/** What the rules read of one event. */
export type NotifiableEvent = {
  type: string;
  actorType: string;
  actorId: string | null;
  entityId: string;
  changes: Record<string, unknown>;
};

/** What the rules know besides the event: the task's people now, the workspace's admins. */
export type Lookups = {
  task?: { assigneeId: string | null; createdBy: string | null } | undefined;
  administrators?: string[] | undefined;
};

const taskChanges = [
  "task.updated",
  "task.completed",
  "task.reopened",
  "task.deleted",
  "task.restored",
];

/** `{from, to}` of a changed field, or the initial value of a created entity. */
function change(changes: Record<string, unknown>, field: string) {
  const value = changes[field];
  if (value !== null && typeof value === "object" && "to" in value) {
    const { from, to } = value as { from?: unknown; to?: unknown };
    return { from: typeof from === "string" ? from : null, to: typeof to === "string" ? to : null };
  }
  return { from: null, to: typeof value === "string" ? value : null };
}

/**
 * Who hears of an event, and why. Never the one who caused it; one reason
 * per person, the first that applies:
 * - assigned: a task was created for them or given to them;
 * - task_activity: a task assigned to them, made by them, or just taken
 *   from them changed, completed, reopened, deleted or restored;
 * - membership: their role changed, or they were removed;
 * - webhook_disabled: the server turned off a webhook of a workspace they
 *   administer.
 */
export function recipientsOf(
  event: NotifiableEvent,
  lookups: Lookups,
): Array<{ userId: string; reason: NotificationReason }> {
  const told = new Map<string, NotificationReason>();
  const tell = (userId: string | null | undefined, reason: NotificationReason) => {
    if (!userId || userId === event.actorId || told.has(userId)) return;
    told.set(userId, reason);
  };
  if (event.type === "task.created") {
    tell(change(event.changes, "assigneeId").to, "assigned");
  } else if (taskChanges.includes(event.type)) {
    const assignee = change(event.changes, "assigneeId");
    if (event.type === "task.updated") tell(assignee.to, "assigned");
    tell(lookups.task?.assigneeId, "task_activity");
    tell(lookups.task?.createdBy, "task_activity");
    tell(assignee.from, "task_activity");
  } else if (event.type === "member.role_changed" || event.type === "member.removed") {
    tell(event.entityId, "membership");
  } else if (
    event.type === "webhook.updated" &&
    event.actorType === "system" &&
    (event.changes.active as { to?: unknown } | undefined)?.to === false
  ) {
    for (const userId of lookups.administrators ?? []) tell(userId, "webhook_disabled");
  }
  return [...told].map(([userId, reason]) => ({ userId, reason }));
}

/** Whether an event needs the task's people, or the workspace's administrators. */
export function needs(type: string, actorType: string): "task" | "administrators" | null {
  if (taskChanges.includes(type)) return "task";
  if (type === "webhook.updated" && actorType === "system") return "administrators";
  return null;
}
