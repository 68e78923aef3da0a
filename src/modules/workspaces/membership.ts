import { and, eq, type SQL, sql } from "drizzle-orm";
import { type Actor, actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import { member } from "./schema.ts";

/**
 * The `member` rows an actor acts through: its user's memberships, narrowed
 * to one workspace for a workspace-bound API key. Every "which workspaces may
 * this actor see" lookup goes through here, so a bound key cannot see past
 * its workspace.
 */
export function membershipsOf(actor: Actor): SQL {
  const mine = eq(member.userId, actingUser(actor).userId);
  const only = workspaceRestriction(actor);
  return only ? (and(mine, eq(member.organizationId, only)) as SQL) : mine;
}

/** The ids of the workspaces the actor may see, as a subquery for `in (...)`. */
export function visibleWorkspaceIds(actor: Actor): SQL {
  return sql`(select ${member.organizationId} from ${member} where ${membershipsOf(actor)})`;
}
