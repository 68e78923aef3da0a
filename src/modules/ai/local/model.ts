import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { readDataBlocks, readTemplateMarker } from "../prompts.ts";
import { localModelId } from "../settings.ts";
import { localBreakdown, localDigest, localSummary } from "./answers.ts";

/**
 * The built-in offline provider, implemented against the AI SDK's language
 * model specification (v4) like any vendor's model, so the router, streaming,
 * ledger and cache treat it the same way. It reads the template marker and
 * the data blocks of the prompt and answers deterministically.
 */
export class LocalLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = "v4";
  readonly provider = "local";
  readonly modelId = localModelId;
  readonly supportedUrls = {};

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    options.abortSignal?.throwIfAborted();
    const { text, usage } = answer(options);
    return {
      content: [{ type: "text", text }],
      finishReason: { unified: "stop", raw: "stop" },
      usage,
      warnings: [],
      response: { modelId: this.modelId, timestamp: new Date(0) },
    };
  }

  async doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    options.abortSignal?.throwIfAborted();
    const { text, usage } = answer(options);
    const deltas = text.match(/\S+\s*|\s+/g) ?? [];
    const parts: LanguageModelV4StreamPart[] = [
      { type: "stream-start", warnings: [] },
      { type: "response-metadata", modelId: this.modelId },
      { type: "text-start", id: "0" },
      ...deltas.map((delta): LanguageModelV4StreamPart => ({ type: "text-delta", id: "0", delta })),
      { type: "text-end", id: "0" },
      { type: "finish", usage, finishReason: { unified: "stop", raw: "stop" } },
    ];
    let index = 0;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      pull(controller) {
        if (options.abortSignal?.aborted) {
          controller.error(options.abortSignal.reason);
          return;
        }
        const part = parts[index++];
        if (part) controller.enqueue(part);
        else controller.close();
      },
    });
    return { stream };
  }
}

/** About four characters per token, as vendors' tokenizers average on English. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

function answer(options: LanguageModelV4CallOptions): {
  text: string;
  usage: LanguageModelV4Usage;
} {
  let system = "";
  let user = "";
  for (const message of options.prompt) {
    if (message.role === "system") system += message.content;
    if (message.role === "user") {
      for (const part of message.content) if (part.type === "text") user += part.text;
    }
  }
  const text = answerFor(readTemplateMarker(system)?.id, user);
  const input = estimateTokens(system + user);
  const output = estimateTokens(text);
  return {
    text,
    usage: {
      inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: output, text: output, reasoning: 0 },
    },
  };
}

// The data blocks were validated by the template's Zod schema when the prompt
// was rendered, so their shapes are known here.
type DataOf<F extends (data: never) => unknown> = Parameters<F>[0];

function answerFor(templateId: string | undefined, user: string): string {
  const data = readDataBlocks(user);
  switch (templateId) {
    case "summary":
      return localSummary(data as DataOf<typeof localSummary>);
    case "digest": {
      const context = /Today is (\d{4}-\d{2}-\d{2}) in the time zone ([^\s]+?)\./.exec(user);
      return localDigest({
        today: context?.[1] ?? new Date().toISOString().slice(0, 10),
        timezone: context?.[2] ?? "UTC",
        tasks: data.tasks as DataOf<typeof localDigest>["tasks"],
      });
    }
    case "breakdown":
    case "breakdown-repair":
      return JSON.stringify(localBreakdown(data as DataOf<typeof localBreakdown>));
    case "quickadd":
    case "quickadd-repair":
      // The offline parser does quick add itself (it knows the user's clock
      // and time zone); this answer only keeps the chain's contract.
      return JSON.stringify({
        title: String(data.text ?? "").slice(0, 200) || "Untitled",
        priority: null,
        tags: [],
        category: null,
        due: null,
        recurrence: null,
      });
    default:
      return "The offline assistant answers Taskpilot's own prompts only (summary, digest, breakdown).";
  }
}
