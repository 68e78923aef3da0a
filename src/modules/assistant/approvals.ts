import { and, eq, sql } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { conflict, notFound } from "../../platform/http/errors.ts";
import { getTask } from "../tasks/service.ts";
import type { PlannedCall } from "./agent.ts";
import type { PendingApproval, ToolCallRecord } from "./contracts.ts";
import { type ApprovalStatus, chatApprovals, conversations } from "./schema.ts";
import { runRecorded } from "./tool-box.ts";
import { findTool } from "./tools.ts";

/** How long an approval waits before it lapses (read against ctx.now()). */
export const approvalTtlMs = 10 * 60_000;

const verbs: Record<string, string> = {
  add_task: "Add",
  update_task: "Change",
  complete_task: "Complete",
  reopen_task: "Reopen",
  delete_task: "Delete",
};

/**
 * One line per call, written here from the call itself (and the task's
 * current title), never taken from an agent: what the user approves is
 * exactly what will run.
 */
async function describeCall(ctx: Context, call: PlannedCall): Promise<string> {
  const { id, ...fields } = call.input;
  let what = "";
  if (typeof id === "string") {
    const title = await getTask(ctx, id).then(
      (task) => task.title,
      () => null,
    );
    what = title === null ? `task ${id}` : `“${title}”`;
  } else if (typeof fields.title === "string" || typeof fields.text === "string") {
    what = `“${String(fields.title ?? fields.text)}”`;
  }
  const changes = call.name === "update_task" ? Object.entries(fields) : [];
  const detail = changes.map(([field, value]) => `${field} → ${JSON.stringify(value)}`).join(", ");
  return [verbs[call.name] ?? call.name, what, detail ? `(${detail})` : ""]
    .filter((part) => part !== "")
    .join(" ");
}

export async function summarise(ctx: Context, calls: PlannedCall[]): Promise<string> {
  const lines: string[] = [];
  for (const call of calls) lines.push(await describeCall(ctx, call));
  return lines.length === 1
    ? (lines[0] ?? "")
    : `${lines.length} changes:\n- ${lines.join("\n- ")}`;
}

/** Stores calls held back in a turn; the caller's transaction makes it part of the reply. */
export async function holdForApproval(
  ctx: Context,
  conversationId: string,
  held: { id: string; calls: PlannedCall[] },
): Promise<PendingApproval> {
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + approvalTtlMs);
  const summary = await summarise(ctx, held.calls);
  await ctx.db.insert(chatApprovals).values({
    id: held.id,
    conversationId,
    summary,
    toolCalls: held.calls,
    createdAt: now,
    expiresAt,
  });
  return { id: held.id, summary, toolCalls: held.calls, expiresAt: expiresAt.toISOString() };
}

/** An approval still pending past its expiry reads as expired, whether or not anyone looked. */
export function effectiveStatus(
  status: ApprovalStatus,
  expiresAt: Date,
  now: Date,
): ApprovalStatus {
  return status === "pending" && expiresAt <= now ? "expired" : status;
}

type Settled = { conversationId: string; records: ToolCallRecord[]; text: string };

/**
 * The user's yes or no. A yes runs the held calls now, as the user, so every
 * rule is checked again at this moment; a no, or an expired approval, runs
 * nothing. Each approval is decided once.
 */
export async function decideApproval(ctx: Context, id: string, approve: boolean): Promise<Settled> {
  const me = actingUser(ctx.actor);
  const [row] = await ctx.db
    .select({ approval: chatApprovals })
    .from(chatApprovals)
    .innerJoin(conversations, eq(conversations.id, chatApprovals.conversationId))
    .where(and(eq(chatApprovals.id, id), eq(conversations.userId, me.userId)));
  if (!row) throw notFound("Approval");
  const { approval } = row;
  const now = ctx.now();
  const status = effectiveStatus(approval.status, approval.expiresAt, now);
  if (status === "expired" && approval.status === "pending") await settle(ctx, id, "expired", now);
  if (status !== "pending") {
    throw conflict(
      status === "expired"
        ? "This approval expired; nothing was changed. Ask again."
        : `This approval was already ${status}`,
    );
  }
  if (!(await settle(ctx, id, approve ? "approved" : "rejected", now))) {
    throw conflict("This approval was decided meanwhile");
  }
  const calls = approval.toolCalls as PlannedCall[];
  if (!approve) {
    const records = calls.map((call): ToolCallRecord => ({ ...call, status: "rejected" }));
    return {
      conversationId: approval.conversationId,
      records,
      text: "OK, I left everything as it was.",
    };
  }
  const records: ToolCallRecord[] = [];
  for (const call of calls) {
    const tool = findTool(call.name);
    if (!tool) {
      records.push({
        ...call,
        status: "failed",
        error: { code: "not_found", detail: "No such tool" },
      });
      continue;
    }
    records.push((await runRecorded(ctx, tool, call)).record);
  }
  const failed = records.filter((record) => record.status === "failed");
  const text =
    failed.length === 0
      ? `Done: ${approval.summary}`
      : `I did ${records.length - failed.length} of ${records.length}. ${failed
          .map((record) => record.error?.detail)
          .join(" ")}`;
  return { conversationId: approval.conversationId, records, text };
}

/** Moves a pending approval to its final status; false if it was no longer pending. */
async function settle(ctx: Context, id: string, status: ApprovalStatus, now: Date) {
  const rows = await ctx.db
    .update(chatApprovals)
    .set({ status, decidedAt: now })
    .where(and(eq(chatApprovals.id, id), sql`${chatApprovals.status} = 'pending'`))
    .returning({ id: chatApprovals.id });
  return rows.length > 0;
}
