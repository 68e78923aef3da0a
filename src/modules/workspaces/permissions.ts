import { DomainError } from "../../platform/http/errors.ts";
import type { WorkspaceRole } from "./schema.ts";

/** Higher outranks lower: owner > admin > member > viewer. */
export const roleRank: Record<WorkspaceRole, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export type Permission = {
  /** The lowest role allowed to do it; every higher role may too. */
  minimum: WorkspaceRole;
  /** What the action covers, as docs/security.md shows it. */
  covers: string;
  /** A rule on top of the role, checked by the verb named in it. */
  rule?: string;
};

/**
 * THE permission matrix: every workspace verb, the task rules in
 * tasks/access.ts and the category verbs ask it, and docs/security.md shows
 * it (a test keeps the two equal). Change a rule here, nowhere else.
 */
export const permissionMatrix = {
  "workspace.read": {
    minimum: "viewer",
    covers: "see the workspace, its members, tasks, categories and activity",
  },
  "task.create": { minimum: "member", covers: "create tasks" },
  "task.change_own": {
    minimum: "member",
    covers: "edit, complete, reopen, delete, restore a task",
    rule: "only tasks they created or are assigned to; a delete or restore only if the sub-tasks going with it are such tasks too; a sub-task only under such a task",
  },
  "task.change_any": {
    minimum: "admin",
    covers: "edit, complete, reopen, delete, restore any task",
  },
  "category.manage": { minimum: "admin", covers: "create, rename, recolour, delete categories" },
  "workspace.rename": { minimum: "admin", covers: "rename the workspace" },
  "webhook.manage": {
    minimum: "admin",
    covers: "create, list, change and delete webhooks and read their deliveries",
  },
  "invitation.manage": {
    minimum: "admin",
    covers: "invite by email, list and revoke pending invitations",
    rule: "only for roles below their own (owners: any role but owner)",
  },
  "member.remove": {
    minimum: "admin",
    covers: "remove a member",
    rule: "only members below their own role (owners: anyone); never the last owner",
  },
  "member.change_role": {
    minimum: "owner",
    covers: "change a member's role",
    rule: "never demote the last owner",
  },
  "ownership.transfer": {
    minimum: "owner",
    covers: "transfer ownership to a member (the caller becomes admin)",
  },
  "workspace.delete": {
    minimum: "owner",
    covers: "delete the workspace with its tasks and categories",
  },
} as const satisfies Record<string, Permission>;

export type Action = keyof typeof permissionMatrix;

export function allows(role: WorkspaceRole, action: Action): boolean {
  return roleRank[role] >= roleRank[permissionMatrix[action].minimum];
}

export function assertAllowed(role: WorkspaceRole, action: Action): void {
  if (allows(role, action)) return;
  const needed = permissionMatrix[action].minimum;
  throw new DomainError(
    "forbidden",
    `Only ${needed === "owner" ? "owners" : `${needed}s and above`} may ${permissionMatrix[action].covers}`,
  );
}

/**
 * The rule for acting on someone else's role (inviting with it, removing a
 * member who has it): strictly below one's own, except that owners may act
 * on every role.
 */
export function outranks(actor: WorkspaceRole, target: WorkspaceRole): boolean {
  return actor === "owner" || roleRank[actor] > roleRank[target];
}
