import { and, asc, desc, eq, gt, lt, or } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser, agentFor } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { notFound } from "../../platform/http/errors.ts";
import { decodeCursor, instantKey, type Page, toPage } from "../../platform/http/pagination.ts";
import { recordActivity } from "../activity/service.ts";
import type { AgentReply, AssistantAgent, HistoryMessage } from "./agent.ts";
import { decideApproval, effectiveStatus, holdForApproval } from "./approvals.ts";
import type {
  ChatInput,
  ChatResult,
  Conversation,
  Message,
  PendingApproval,
  ToolCallRecord,
} from "./contracts.ts";
import { keptRecord } from "./records.ts";
import { chatApprovals, conversations, type MessageRole, messages } from "./schema.ts";
import { type ToolEvent, TurnToolBox } from "./tool-box.ts";

/** Earlier messages an agent sees; older ones stay stored but out of the prompt. */
const historyLimit = 40;
const maxContent = 20_000;

type ConversationRow = typeof conversations.$inferSelect;
type PageQuery = { limit: number; cursor?: string | undefined };

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The acting user's conversation; anyone else's answers 404 like a missing one. */
async function findConversation(ctx: Context, id: string): Promise<ConversationRow> {
  const me = actingUser(ctx.actor);
  const [row] = await ctx.db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, id), eq(conversations.userId, me.userId)));
  if (!row) throw notFound("Conversation");
  return row;
}

async function startConversation(ctx: Context, firstMessage: string): Promise<ConversationRow> {
  const me = actingUser(ctx.actor);
  const now = ctx.now();
  const title = firstMessage.length > 80 ? `${firstMessage.slice(0, 79).trimEnd()}…` : firstMessage;
  return withTransaction(ctx.db, async (tx) => {
    const [row] = await tx
      .insert(conversations)
      .values({ id: uuidv7(), userId: me.userId, title, createdAt: now, updatedAt: now })
      .returning();
    if (!row) throw new Error("insert returned no row");
    await recordActivity(inTransaction(ctx, tx), {
      type: "conversation.created",
      workspaceId: null,
      entity: { type: "conversation", id: row.id, title: row.title },
    });
    return row;
  });
}

async function history(ctx: Context, conversationId: string): Promise<HistoryMessage[]> {
  const rows = await ctx.db
    .select()
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(desc(messages.id))
    .limit(historyLimit);
  return rows.reverse().map((row) => ({
    role: row.role,
    content: row.content,
    toolCalls: row.toolCalls as ToolCallRecord[],
    approvalId: row.approvalId,
    state: row.state,
  }));
}

type NewMessage = {
  conversationId: string;
  role: MessageRole;
  content: string;
  toolCalls?: ToolCallRecord[];
  approvalId?: string | null;
  state?: unknown;
};

async function addMessage(ctx: Context, message: NewMessage): Promise<string> {
  const id = uuidv7();
  const now = ctx.now();
  const content =
    message.content.length > maxContent
      ? `${message.content.slice(0, maxContent - 1)}…`
      : message.content;
  await ctx.db.insert(messages).values({
    id,
    conversationId: message.conversationId,
    role: message.role,
    content,
    toolCalls: (message.toolCalls ?? []).map(keptRecord),
    approvalId: message.approvalId ?? null,
    state: message.state ?? null,
    createdAt: now,
  });
  await ctx.db
    .update(conversations)
    .set({ updatedAt: now })
    .where(eq(conversations.id, message.conversationId));
  return id;
}

/** What a streaming client is told during a turn, in order; `done` follows the turn. */
export type ChatEvent =
  | { type: "delta"; text: string }
  | ToolEvent
  | { type: "approval_required"; approval: PendingApproval };

export type ChatStream = {
  onEvent?: (event: ChatEvent) => void;
  /** Aborted when the client goes away: the agent stops, what it did is still stored. */
  signal?: AbortSignal;
};

/** The assistant's tool calls run as an agent acting for the caller, with the caller's rights. */
function assistantContext(ctx: Context): Context {
  return { ...ctx, actor: agentFor(ctx.actor, "assistant") };
}

/**
 * One chat turn. The user's message is stored first, then the agent acts
 * through a tool box bound to the caller; its reply, the tool calls it made
 * and any approval it needs are stored together. Nothing stays in memory, so
 * the next turn may run anywhere, after any restart.
 */
export async function chat(
  ctx: Context,
  agent: AssistantAgent,
  input: ChatInput,
  stream: ChatStream = {},
): Promise<ChatResult> {
  // A refused message is not stored, and no conversation is started for it.
  await agent.screen?.(ctx, input.message, stream.signal);
  const conversation = input.conversationId
    ? await findConversation(ctx, input.conversationId)
    : await startConversation(ctx, input.message);
  const earlier = await history(ctx, conversation.id);
  await addMessage(ctx, { conversationId: conversation.id, role: "user", content: input.message });
  const agentCtx = assistantContext(ctx);
  const emit = stream.onEvent;
  let streamed = false;
  const tools = new TurnToolBox(agentCtx, { ...(emit ? { onEvent: emit } : {}) });
  const answer = await agent.respond({
    ctx: agentCtx,
    message: input.message,
    history: earlier,
    tools,
    onDelta: emit
      ? (text) => {
          streamed = true;
          emit({ type: "delta", text });
        }
      : undefined,
    signal: stream.signal,
  });
  // An agent that does not stream (the offline one) sends its reply as one delta.
  if (emit && !streamed && answer.text) emit({ type: "delta", text: answer.text });
  const result = await storeReply(ctx, conversation.id, tools, answer);
  if (result.pendingApproval)
    emit?.({ type: "approval_required", approval: result.pendingApproval });
  return result;
}

/** The reply, its tool calls and any approval they need, in one transaction. */
function storeReply(
  ctx: Context,
  conversationId: string,
  tools: TurnToolBox,
  answer: AgentReply,
): Promise<ChatResult> {
  return withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const held = tools.held;
    const pendingApproval: PendingApproval | null = held
      ? await holdForApproval(txCtx, conversationId, held)
      : null;
    const messageId = await addMessage(txCtx, {
      conversationId: conversationId,
      role: "assistant",
      content: answer.text,
      toolCalls: tools.records,
      approvalId: held?.id ?? null,
      state: answer.state,
    });
    return {
      conversationId: conversationId,
      messageId,
      response: answer.text,
      toolCalls: tools.records,
      pendingApproval,
    };
  });
}

/** POST /v1/chat/approvals/{id}: the decision and its outcome join the conversation. */
export async function decide(ctx: Context, id: string, approve: boolean): Promise<ChatResult> {
  const settled = await decideApproval(assistantContext(ctx), id, approve);
  const messageId = await addMessage(ctx, {
    conversationId: settled.conversationId,
    role: "assistant",
    content: settled.text,
    toolCalls: settled.records,
    approvalId: id,
  });
  return {
    conversationId: settled.conversationId,
    messageId,
    response: settled.text,
    toolCalls: settled.records,
    pendingApproval: null,
  };
}

/** The acting user's conversations, most recently active first. */
export async function listConversations(
  ctx: Context,
  query: PageQuery,
): Promise<Page<Conversation>> {
  const me = actingUser(ctx.actor);
  const cursor = decodeCursor(query.cursor, "updatedAt:desc");
  const after = cursor ? { at: instantKey(cursor), id: cursor.id } : null;
  const rows = await ctx.db
    .select()
    .from(conversations)
    .where(
      and(
        eq(conversations.userId, me.userId),
        after
          ? or(
              lt(conversations.updatedAt, after.at),
              and(eq(conversations.updatedAt, after.at), lt(conversations.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(conversations.updatedAt), desc(conversations.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toConversation, (row) => ({
    sort: "updatedAt:desc",
    key: row.updatedAt.toISOString(),
    id: row.id,
  }));
}

/** A conversation's messages, oldest first, with the state of the approvals they mention. */
export async function listMessages(
  ctx: Context,
  conversationId: string,
  query: PageQuery,
): Promise<Page<Message>> {
  await findConversation(ctx, conversationId);
  const cursor = decodeCursor(query.cursor, "id");
  const rows = await ctx.db
    .select({ message: messages, approval: chatApprovals })
    .from(messages)
    .leftJoin(chatApprovals, eq(chatApprovals.id, messages.approvalId))
    .where(
      and(
        eq(messages.conversationId, conversationId),
        cursor ? gt(messages.id, cursor.id) : undefined,
      ),
    )
    .orderBy(asc(messages.id))
    .limit(query.limit + 1);
  const now = ctx.now();
  return toPage(
    rows,
    query.limit,
    ({ message, approval }): Message => ({
      id: message.id,
      conversationId: message.conversationId,
      role: message.role,
      content: message.content,
      toolCalls: message.toolCalls as ToolCallRecord[],
      approval: approval
        ? {
            id: approval.id,
            status: effectiveStatus(approval.status, approval.expiresAt, now),
            summary: approval.summary,
            expiresAt: approval.expiresAt.toISOString(),
          }
        : null,
      createdAt: message.createdAt.toISOString(),
    }),
    ({ message }) => ({ sort: "id", key: null, id: message.id }),
  );
}

/** Deletes a conversation with its messages and approvals (pending ones can no longer run). */
export async function deleteConversation(ctx: Context, id: string): Promise<void> {
  const conversation = await findConversation(ctx, id);
  await withTransaction(ctx.db, async (tx) => {
    await tx.delete(conversations).where(eq(conversations.id, id));
    await recordActivity(inTransaction(ctx, tx), {
      type: "conversation.deleted",
      workspaceId: null,
      entity: { type: "conversation", id, title: conversation.title },
    });
  });
}
