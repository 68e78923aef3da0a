import { asc, eq } from "drizzle-orm";
import { user } from "../../platform/auth/schema.ts";
import type { Context } from "../../platform/context.ts";
import { notFound } from "../../platform/http/errors.ts";
import { member, type WorkspaceRole, workspace } from "./schema.ts";

export type SupportWorkspace = {
  id: string;
  name: string;
  createdAt: Date;
  members: Array<{ userId: string; name: string; email: string; role: WorkspaceRole }>;
};

/**
 * A workspace and its members for a system admin's support access. No
 * membership check here; the caller (`openSupportAccess`) authorizes and
 * audits the read.
 */
export async function workspaceForSupport(ctx: Context, id: string): Promise<SupportWorkspace> {
  const [found] = await ctx.db
    .select({ id: workspace.id, name: workspace.name, createdAt: workspace.createdAt })
    .from(workspace)
    .where(eq(workspace.id, id));
  if (!found) throw notFound("Workspace");
  const members = await ctx.db
    .select({ userId: member.userId, name: user.name, email: user.email, role: member.role })
    .from(member)
    .innerJoin(user, eq(user.id, member.userId))
    .where(eq(member.organizationId, id))
    .orderBy(asc(member.createdAt), asc(member.id));
  return { ...found, members };
}
