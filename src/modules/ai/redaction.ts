import { eq } from "drizzle-orm";
import type { Executor } from "../../platform/db/transaction.ts";
import { workspace } from "../workspaces/schema.ts";

/**
 * Whether PII is redacted before a workspace's text leaves for an external
 * provider: the workspace's `aiRedactPii` when its admins set it, else the
 * deployment's default (`AI_REDACT_PII`).
 */
export async function redactsPii(
  db: Executor,
  workspaceId: string | null,
  fallback: boolean,
): Promise<boolean> {
  if (workspaceId === null) return fallback;
  const [row] = await db
    .select({ aiRedactPii: workspace.aiRedactPii })
    .from(workspace)
    .where(eq(workspace.id, workspaceId));
  return row?.aiRedactPii ?? fallback;
}
