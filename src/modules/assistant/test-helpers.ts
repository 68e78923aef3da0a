import { expect } from "vitest";
import type { TestUser } from "../../../test/harness.ts";
import type { App } from "../../app.ts";
import type { ChatResult } from "./contracts.ts";

/** POST /v1/chat, expecting 200. */
export async function say(
  app: App,
  user: TestUser,
  message: string,
  conversationId?: string,
): Promise<ChatResult> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/chat",
    headers: user.headers,
    payload: conversationId ? { message, conversationId } : { message },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<ChatResult>();
}

/** POST /v1/chat/approvals/{id}; the raw response. */
export function decide(app: App, user: TestUser, approvalId: string, approve: boolean) {
  return app.inject({
    method: "POST",
    url: `/v1/chat/approvals/${approvalId}`,
    headers: user.headers,
    payload: { approve },
  });
}

/** The names and statuses of a turn's tool calls, in order. */
export function callsOf(result: ChatResult): string[] {
  return result.toolCalls.map((call) => `${call.name}:${call.status}`);
}

/** The task a turn's tool call returned (add_task, update_task, ...). */
export function taskOf(result: ChatResult, index: number): { id: string } {
  const call = result.toolCalls[index];
  const task = (call?.result as { task?: { id: string } } | undefined)?.task;
  if (!task) throw new Error(`tool call ${index} returned no task: ${JSON.stringify(call)}`);
  return task;
}
