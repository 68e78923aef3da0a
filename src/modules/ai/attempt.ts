import type { LanguageModelV4 } from "@ai-sdk/provider";
import { generateText, type LanguageModelUsage, streamText } from "ai";
import { estimateTokens } from "./local/model.ts";
import type { RenderedPrompt } from "./prompts.ts";
import { CallTimeoutError, classifyFailure, type Failure } from "./retry.ts";

export type CallUsage = { inputTokens: number; outputTokens: number; cachedTokens: number };
export type CallOutput = { text: string; usage: CallUsage };

/** A failed call, with what it had produced before failing. */
export class AttemptFailed extends Error {
  readonly failure: Failure;
  readonly partialText: string;
  readonly forwarded: boolean;

  constructor(failure: Failure, partialText: string, forwarded: boolean) {
    super(failure.message);
    this.name = "AttemptFailed";
    this.failure = failure;
    this.partialText = partialText;
    this.forwarded = forwarded;
  }
}

function usageOf(usage: LanguageModelUsage | undefined, prompt: RenderedPrompt, text: string) {
  return {
    inputTokens: usage?.inputTokens ?? estimateTokens(prompt.system + prompt.user),
    outputTokens: usage?.outputTokens ?? estimateTokens(text),
    cachedTokens: usage?.inputTokenDetails?.cacheReadTokens ?? 0,
  };
}

/**
 * One call to one model through the AI SDK, with no retries of its own (the
 * router retries). `timeoutMs` bounds the whole call, or for a stream the
 * wait for the first chunk and every gap between chunks. The client's signal
 * aborts the upstream request.
 */
export async function callModel(input: {
  model: LanguageModelV4;
  prompt: RenderedPrompt;
  maxOutputTokens: number;
  timeoutMs: number;
  stream: boolean;
  signal: AbortSignal | undefined;
  /** Awaited before the next chunk is read. */
  onDelta: ((delta: string) => void | Promise<void>) | undefined;
}): Promise<CallOutput> {
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(input.signal?.reason);
  input.signal?.addEventListener("abort", onClientAbort, { once: true });
  let timedOut = false;
  const arm = () =>
    setTimeout(() => {
      timedOut = true;
      controller.abort(new CallTimeoutError(input.timeoutMs));
    }, input.timeoutMs);
  let timer = arm();
  let text = "";
  let forwarded = false;
  const common = {
    model: input.model,
    system: input.prompt.system,
    prompt: input.prompt.user,
    maxOutputTokens: input.maxOutputTokens,
    maxRetries: 0,
    abortSignal: controller.signal,
  };
  try {
    if (input.signal?.aborted) throw input.signal.reason;
    if (!input.stream) {
      const result = await generateText(common);
      return { text: result.text, usage: usageOf(result.usage, input.prompt, result.text) };
    }
    const result = streamText({ ...common, onError: () => {} });
    let usage: LanguageModelUsage | undefined;
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") {
        clearTimeout(timer);
        timer = arm();
        text += part.text;
        if (input.onDelta && part.text) {
          forwarded = true;
          await input.onDelta(part.text);
        }
      } else if (part.type === "error") {
        throw part.error;
      } else if (part.type === "abort") {
        throw controller.signal.reason ?? new Error("aborted");
      } else if (part.type === "finish") {
        usage = part.totalUsage;
      }
    }
    return { text, usage: usageOf(usage, input.prompt, text) };
  } catch (error) {
    const failure: Failure = timedOut
      ? { kind: "timeout", message: `no answer within ${input.timeoutMs} ms` }
      : classifyFailure(error, input.signal);
    throw new AttemptFailed(failure, text, forwarded);
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener("abort", onClientAbort);
  }
}
