import type { AgentInputItem } from "@openai/agents";
import { dataBlock } from "../ai/prompts.ts";
import { cleanText, mapStrings } from "../ai/safety.ts";
import type { HistoryMessage, ToolOutcome } from "./agent.ts";
import type { ToolCallRecord } from "./contracts.ts";
import { compactResult } from "./records.ts";

/**
 * What a model reads of the assistant's tools and memory. Stored text (task
 * titles, descriptions, tags, category names) only ever reaches it inside a
 * data block: escaped JSON, PII-redacted for external providers, and marked
 * when it reads like instructions (the AI layer's `dataBlock`).
 */

export type FenceOptions = { external: boolean };

const maxStoredText = 4_000;

function fenced(name: string, value: unknown, options: FenceOptions): string {
  const cleaned = mapStrings(value, (text) => cleanText(text, maxStoredText));
  return dataBlock(name, cleaned, options).text;
}

/** A tool's outcome as the model reads it. */
export function toolOutcomeText(outcome: ToolOutcome, options: FenceOptions): string {
  switch (outcome.status) {
    case "succeeded":
      return fenced("result", outcome.result, options);
    case "failed":
      return `The call failed.\n${fenced("error", outcome.error, options)}`;
    case "pending_approval":
      return (
        "Not done yet: this change waits for the user's approval in the app " +
        `(approval ${outcome.approvalId}). Tell them it needs their approval.`
      );
  }
}

function recordText(record: ToolCallRecord, options: FenceOptions): string {
  switch (record.status) {
    case "succeeded":
      return fenced("result", compactResult(record.result), options);
    case "failed":
      return `The call failed.\n${fenced("error", record.error, options)}`;
    case "pending_approval":
      return "Held for the user's approval.";
    case "rejected":
      return "The user rejected this change; nothing was done.";
    case "expired":
      return "The approval lapsed; nothing was done.";
  }
}

/**
 * The stored conversation as model input, rebuilt from the database on
 * every turn (nothing is kept between requests): each assistant message
 * with the tool calls it made and their (shortened) results, then its text.
 * It starts at a user message, as some vendors require.
 */
export function historyItems(
  history: readonly HistoryMessage[],
  options: FenceOptions,
): AgentInputItem[] {
  const start = history.findIndex((message) => message.role === "user");
  if (start < 0) return [];
  const items: AgentInputItem[] = [];
  history.slice(start).forEach((message, index) => {
    if (message.role === "user") {
      items.push({ role: "user", content: message.content });
      return;
    }
    message.toolCalls.forEach((call, position) => {
      const callId = `history_${index}_${position}`;
      items.push({
        type: "function_call",
        callId,
        name: call.name,
        arguments: JSON.stringify(call.input),
        status: "completed",
      });
      items.push({
        type: "function_call_result",
        callId,
        name: call.name,
        status: "completed",
        output: recordText(call, options),
      });
    });
    if (message.content) {
      items.push({
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: message.content }],
      });
    }
  });
  return items;
}
