/**
 * TEST DOUBLE wire formats: OpenAI's Responses API and Chat Completions
 * (the latter is also what Ollama, vLLM and llama.cpp speak).
 */
import type { Usage, Wire } from "./types.ts";

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

export const responsesWire: Wire = {
  json: ({ model, text, usage }) => ({
    id: "resp_test_double",
    object: "response",
    created_at: created(),
    status: "completed",
    model,
    output: [message(text, "completed")],
    incomplete_details: null,
    usage: responsesUsage(usage),
  }),
  stream: ({ model, chunks, usage }) => {
    const response = { id: "resp_test_double", object: "response", created_at: created(), model };
    let sequence = 0;
    const event = (type: string, payload: Record<string, unknown>) =>
      sse(type, { type, sequence_number: sequence++, ...payload });
    return [
      { data: event("response.created", { response: { ...response, status: "in_progress" } }) },
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
          item: message(chunks.join(""), "completed"),
        }),
      },
      {
        data: event("response.completed", {
          response: {
            ...response,
            status: "completed",
            output: [message(chunks.join(""), "completed")],
            incomplete_details: null,
            usage: responsesUsage(usage),
          },
        }),
      },
    ];
  },
  errorBody: openAiError,
};

export const chatCompletionsWire: Wire = {
  json: ({ model, text, usage }) => ({
    id: "chatcmpl_test_double",
    object: "chat.completion",
    created: created(),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
  }),
  stream: ({ model, chunks, usage }) => {
    const base = {
      id: "chatcmpl_test_double",
      object: "chat.completion.chunk",
      created: created(),
      model,
    };
    return [
      ...chunks.map((content, index) => ({
        delta: true,
        data: sse(undefined, {
          ...base,
          choices: [
            {
              index: 0,
              delta: index === 0 ? { role: "assistant", content } : { content },
              finish_reason: null,
            },
          ],
        }),
      })),
      {
        data: sse(undefined, {
          ...base,
          choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
        }),
      },
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
