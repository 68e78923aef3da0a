/** TEST DOUBLE wire format: Anthropic's Messages API. */
import type { Wire } from "./types.ts";

const sse = (type: string, payload: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;

export const anthropicWire: Wire = {
  json: ({ model, text, calls, usage }) => ({
    id: "msg_test_double",
    type: "message",
    role: "assistant",
    model,
    content: [
      ...(text || calls.length === 0 ? [{ type: "text", text }] : []),
      ...calls.map((call) => ({
        type: "tool_use",
        id: call.id,
        name: call.name,
        input: call.input,
      })),
    ],
    stop_reason: calls.length > 0 ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
  }),
  stream: ({ model, chunks, calls, usage }) => {
    const hasText = chunks.some((chunk) => chunk !== "") || calls.length === 0;
    const first = hasText ? 1 : 0;
    return [
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
      ...(hasText
        ? [
            {
              data: sse("content_block_start", {
                index: 0,
                content_block: { type: "text", text: "" },
              }),
            },
            ...chunks.map((text) => ({
              delta: true,
              data: sse("content_block_delta", { index: 0, delta: { type: "text_delta", text } }),
            })),
            { data: sse("content_block_stop", { index: 0 }) },
          ]
        : []),
      ...calls.flatMap((call, position) => [
        {
          data: sse("content_block_start", {
            index: first + position,
            content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
          }),
        },
        {
          data: sse("content_block_delta", {
            index: first + position,
            delta: { type: "input_json_delta", partial_json: JSON.stringify(call.input) },
          }),
        },
        { data: sse("content_block_stop", { index: first + position }) },
      ]),
      {
        data: sse("message_delta", {
          delta: { stop_reason: calls.length > 0 ? "tool_use" : "end_turn", stop_sequence: null },
          usage: { output_tokens: usage.outputTokens },
        }),
      },
      { data: sse("message_stop", {}) },
    ];
  },
  errorBody: (status) => ({
    type: "error",
    error: {
      type: status === 429 ? "rate_limit_error" : status === 529 ? "overloaded_error" : "api_error",
      message: `test double: scripted HTTP ${status}`,
    },
  }),
};
