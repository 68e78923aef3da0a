/** TEST DOUBLE wire format: Anthropic's Messages API. */
import type { Wire } from "./types.ts";

const sse = (type: string, payload: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;

export const anthropicWire: Wire = {
  json: ({ model, text, usage }) => ({
    id: "msg_test_double",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
  }),
  stream: ({ model, chunks, usage }) => [
    {
      data: sse("message_start", {
        message: {
          id: "msg_test_double",
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usage.inputTokens, output_tokens: 1 },
        },
      }),
    },
    { data: sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) },
    ...chunks.map((text) => ({
      delta: true,
      data: sse("content_block_delta", { index: 0, delta: { type: "text_delta", text } }),
    })),
    { data: sse("content_block_stop", { index: 0 }) },
    {
      data: sse("message_delta", {
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: usage.outputTokens },
      }),
    },
    { data: sse("message_stop", {}) },
  ],
  errorBody: (status) => ({
    type: "error",
    error: {
      type: status === 429 ? "rate_limit_error" : status === 529 ? "overloaded_error" : "api_error",
      message: `test double: scripted HTTP ${status}`,
    },
  }),
};
