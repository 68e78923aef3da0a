import type { Context } from "../../platform/context.ts";
import type { ToolCallRecord } from "./contracts.ts";
import type { MessageRole } from "./schema.ts";
import type { Tool } from "./tools.ts";

/**
 * The seam between the chat endpoint and whatever decides what to do with a
 * message. The offline intent parser is one agent; a model-driven agent (the
 * Agents SDK on the AI layer's router) is another. Either acts only through
 * the ToolBox, which enforces scopes, step limits and approvals whatever the
 * agent decides, so swapping agents cannot loosen any rule.
 */
export interface AssistantAgent {
  readonly name: string;
  respond(turn: AgentTurn): Promise<AgentReply>;
  /**
   * Checks the user's message before anything of the turn happens (e.g. the
   * moderation endpoint when it goes to a vendor); throws to refuse it.
   */
  screen?(ctx: Context, message: string, signal?: AbortSignal): Promise<void>;
}

export type AgentTurn = {
  /** The caller's context: tools run with exactly their permissions. */
  ctx: Context;
  message: string;
  /** Earlier messages of the conversation, oldest first. */
  history: HistoryMessage[];
  tools: ToolBox;
  /** Set when the client streams: the reply's text as it is written. */
  onDelta?: ((text: string) => void) | undefined;
  /** Aborted when the client goes away; the agent stops as soon as it can. */
  signal?: AbortSignal | undefined;
};

export type AgentReply = {
  text: string;
  /** Remembered with the reply and handed back in the next turn's history. */
  state?: unknown;
};

export type HistoryMessage = {
  role: MessageRole;
  content: string;
  toolCalls: ToolCallRecord[];
  /** The approval this message asked for (or decided), if any. */
  approvalId: string | null;
  state: unknown;
};

export type PlannedCall = { name: string; input: Record<string, unknown> };

export type ToolOutcome =
  | { status: "succeeded"; result: unknown }
  | { status: "failed"; error: { code: string; detail: string } }
  | { status: "pending_approval"; approvalId: string };

export interface ToolBox {
  /** The tools this turn may use (a model gets their names, descriptions and schemas). */
  readonly tools: readonly Tool[];
  /** Every call of the turn so far with its outcome, in order. */
  readonly records: readonly ToolCallRecord[];
  /**
   * A view of this box offering only the named tools: a call to any other
   * fails (and is recorded) without running. Records, limits and approvals
   * are shared with the box.
   */
  only(names: readonly string[]): ToolBox;
  call(call: PlannedCall): Promise<ToolOutcome>;
  /**
   * Several calls meant together ("complete all of these"): if together they
   * need approval, they wait together in one approval.
   */
  callAll(calls: PlannedCall[]): Promise<ToolOutcome[]>;
}
