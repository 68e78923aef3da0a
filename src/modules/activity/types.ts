/**
 * Every kind of activity event, by where it happens. A verb can only record
 * a type named here (`ActivityInput.type`), so this list is what webhooks
 * offer to subscribe to and what their `events` are checked against.
 */
export const workspaceActivityTypes = [
  "task.created",
  "task.updated",
  "task.completed",
  "task.reopened",
  "task.deleted",
  "task.restored",
  "category.created",
  "category.updated",
  "category.deleted",
  "workspace.created",
  "workspace.renamed",
  "workspace.updated",
  "workspace.ownership_transferred",
  "workspace.deleted",
  "workspace.support_access",
  "member.invited",
  "member.joined",
  "member.role_changed",
  "member.left",
  "member.removed",
  "invitation.revoked",
  "ai_budget.updated",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
] as const;

/** Events about one user's own things, outside any workspace. */
export const personalActivityTypes = [
  "profile.updated",
  "user.role_changed",
  "api_key.created",
  "api_key.revoked",
  "conversation.created",
  "conversation.deleted",
] as const;

export type WorkspaceActivityType = (typeof workspaceActivityTypes)[number];
export type ActivityType = WorkspaceActivityType | (typeof personalActivityTypes)[number];
