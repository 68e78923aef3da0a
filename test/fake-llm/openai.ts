/**
 * TEST DOUBLE wire formats: OpenAI's Responses API and Chat Completions
 * (the latter is also what Ollama, vLLM and llama.cpp speak).
 */
import type { Usage, Wire, WireCall } from "./types.ts";

const sse = (event: string | undefined, payload: unknown) =>
  `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(payload)}\n\n`;

const created = () => Math.floor(Date.now() / 1000);

const openAiError = (status: number) => ({
  error: {
    message: `test double: scripted HTTP ${status}`,
    type: status === 429 ? "rate_limit_error" : "server_error",
    param: null,
    code: status === 429 ? "rate_limit_exceeded" : "test_double",
  },
});

function responsesUsage(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

function message(text: string, status: "in_progress" | "completed") {
  return {
    type: "message",
    id: "msg_test_double",
    role: "assistant",
    status,
    content: status === "completed" ? [{ type: "output_text", text, annotations: [] }] : [],
  };
}

function functionCall(call: WireCall, status: "in_progress" | "completed") {
  return {
    type: "function_call",
    id: `fc_${call.id}`,
    call_id: call.id,
    name: call.name,
    arguments: status === "completed" ? JSON.stringify(call.input) : "",
    status,
  };
}

/** The output items of a Responses answer: the message (if any text), then the calls. */
function responseOutput(text: string, calls: WireCall[]) {
  return [
    ...(text || calls.length === 0 ? [message(text, "completed")] : []),
    ...calls.map((call) => functionCall(call, "completed")),
  ];
}

export const responsesWire: Wire = {
  json: ({ model, text, calls, usage }) => ({
    id: "resp_test_double",
    object: "response",
    created_at: created(),
    status: "completed",
    model,
    output: responseOutput(text, calls),
    incomplete_details: null,
    usage: responsesUsage(usage),
  }),
  stream: ({ model, chunks, calls, usage }) => {
    const response = { id: "resp_test_double", object: "response", created_at: created(), model };
    let sequence = 0;
    const event = (type: string, payload: Record<string, unknown>) =>
      sse(type, { type, sequence_number: sequence++, ...payload });
    const text = chunks.join("");
    const hasText = text !== "" || calls.length === 0;
    const first = hasText ? 1 : 0;
    return [
      { data: event("response.created", { response: { ...response, status: "in_progress" } }) },
      ...(hasText
        ? [
            {
              data: event("response.output_item.added", {
                output_index: 0,
                item: message("", "in_progress"),
              }),
            },
            ...chunks.map((delta) => ({
              delta: true,
              data: event("response.output_text.delta", {
                item_id: "msg_test_double",
                output_index: 0,
                content_index: 0,
                delta,
              }),
            })),
            {
              data: event("response.output_item.done", {
                output_index: 0,
                item: message(text, "completed"),
              }),
            },
          ]
        : []),
      ...calls.flatMap((call, position) => {
        const output_index = first + position;
        const item_id = `fc_${call.id}`;
        const args = JSON.stringify(call.input);
        return [
          {
            data: event("response.output_item.added", {
              output_index,
              item: functionCall(call, "in_progress"),
            }),
          },
          {
            data: event("response.function_call_arguments.delta", {
              item_id,
              output_index,
              delta: args,
            }),
          },
          {
            data: event("response.function_call_arguments.done", {
              item_id,
              output_index,
              arguments: args,
            }),
          },
          {
            data: event("response.output_item.done", {
              output_index,
              item: functionCall(call, "completed"),
            }),
          },
        ];
      }),
      {
        data: event("response.completed", {
          response: {
            ...response,
            status: "completed",
            output: responseOutput(text, calls),
            incomplete_details: null,
            usage: responsesUsage(usage),
          },
        }),
      },
    ];
  },
  errorBody: openAiError,
};

const toolCalls = (calls: WireCall[]) =>
  calls.map((call) => ({
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.input) },
  }));

export const chatCompletionsWire: Wire = {
  json: ({ model, text, calls, usage }) => ({
    id: "chatcmpl_test_double",
    object: "chat.completion",
    created: created(),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text || (calls.length > 0 ? null : text),
          ...(calls.length > 0 ? { tool_calls: toolCalls(calls) } : {}),
        },
        finish_reason: calls.length > 0 ? "tool_calls" : "stop",
      },
    ],
    usage: {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
  }),
  stream: ({ model, chunks, calls, usage }) => {
    const base = {
      id: "chatcmpl_test_double",
      object: "chat.completion.chunk",
      created: created(),
      model,
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      sse(undefined, { ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
    const texts = chunks.filter((content) => content !== "");
    return [
      ...texts.map((content, index) => ({
        delta: true,
        data: chunk(index === 0 ? { role: "assistant", content } : { content }),
      })),
      ...toolCalls(calls).map((call, index) => ({
        data: chunk({
          ...(index === 0 && texts.length === 0 ? { role: "assistant" } : {}),
          tool_calls: [{ index, ...call }],
        }),
      })),
      { data: chunk({}, calls.length > 0 ? "tool_calls" : "stop") },
      {
        data: sse(undefined, {
          ...base,
          choices: [],
          usage: {
            prompt_tokens: usage.inputTokens,
            completion_tokens: usage.outputTokens,
            total_tokens: usage.inputTokens + usage.outputTokens,
          },
        }),
      },
      { data: "data: [DONE]\n\n" },
    ];
  },
  errorBody: openAiError,
};
