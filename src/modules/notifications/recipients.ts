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
  /** The account of a member.invited event's address, when it has one. */
  invitee?: string | undefined;
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
 * - assigned: a task was created for them (not a recurring task's next
 *   occurrence) or given to them;
 * - task_activity: a task assigned to them, made by them, or just taken
 *   from them changed, completed, reopened, deleted or restored;
 * - membership: their role changed (an ownership transfer included), they
 *   were removed, or they were invited (when the address has an account);
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
    // A recurring task's next occurrence is no new assignment: its assignee
    // already heard of the completion that made it (task_activity).
    if (!("previousOccurrenceId" in event.changes)) {
      tell(change(event.changes, "assigneeId").to, "assigned");
    }
  } else if (taskChanges.includes(event.type)) {
    const assignee = change(event.changes, "assigneeId");
    if (event.type === "task.updated") tell(assignee.to, "assigned");
    tell(lookups.task?.assigneeId, "task_activity");
    tell(lookups.task?.createdBy, "task_activity");
    tell(assignee.from, "task_activity");
  } else if (event.type === "member.role_changed" || event.type === "member.removed") {
    tell(event.entityId, "membership");
  } else if (event.type === "member.invited") {
    // Not a member yet: told as of their own membership, which they may see.
    tell(lookups.invitee, "membership");
  } else if (event.type === "workspace.ownership_transferred") {
    // The new owner; the old one made the transfer (and is never told of it).
    const owner = change(event.changes, "owner");
    tell(owner.to, "membership");
    tell(owner.from, "membership");
  } else if (
    event.type === "webhook.updated" &&
    event.actorType === "system" &&
    (event.changes.active as { to?: unknown } | undefined)?.to === false
  ) {
    for (const userId of lookups.administrators ?? []) tell(userId, "webhook_disabled");
  }
  return [...told].map(([userId, reason]) => ({ userId, reason }));
}

/** Whether an event is about a task whose people (assignee, maker) it concerns. */
export function concernsTask(type: string): boolean {
  return type === "task.created" || taskChanges.includes(type);
}

type TaskPeople = { assigneeId: string | null; createdBy: string | null };

/**
 * Each task event's people as they were when it happened, not when the
 * notifier reads them: walking a task's events in the page from the last
 * back, the assignee before a reassignment is its `from`. (A description
 * edited and the task then given to someone else in the same second tells
 * the one who had it then.)
 */
export function peopleAtEachEvent(
  events: Array<{ id: string; type: string; entity_id: string; changes: Record<string, unknown> }>,
  now: Map<string, TaskPeople>,
): Map<string, TaskPeople> {
  const at = new Map<string, TaskPeople>();
  const current = new Map(now);
  for (let index = events.length - 1; index >= 0; index--) {
    const event = events[index];
    if (!event || !concernsTask(event.type)) continue;
    const people = current.get(event.entity_id);
    if (!people) continue;
    at.set(event.id, people);
    const assignee = event.changes.assigneeId;
    if (assignee !== null && typeof assignee === "object" && "from" in assignee) {
      const from = (assignee as { from?: unknown }).from;
      current.set(event.entity_id, {
        ...people,
        assigneeId: typeof from === "string" ? from : null,
      });
    }
  }
  return at;
}
