import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { LocalLanguageModel } from "./local/model.ts";
import type { AiSettings, ModelRef, ProviderName } from "./settings.ts";

/**
 * Every provider behind the AI SDK's one language-model interface. The rest
 * of the module holds a `ModelRef` and asks this registry for the model;
 * nothing else imports a provider package.
 */
export type ModelRegistry = {
  model: (ref: ModelRef) => LanguageModelV4;
  /** Text sent to this provider leaves the process (PII is redacted first). */
  isExternal: (provider: ProviderName) => boolean;
};

export function createModelRegistry(settings: AiSettings): ModelRegistry {
  const openai = settings.openai
    ? createOpenAI({ apiKey: settings.openai.apiKey, baseURL: settings.openai.baseUrl })
    : undefined;
  const anthropic = settings.anthropic
    ? createAnthropic({ apiKey: settings.anthropic.apiKey, baseURL: settings.anthropic.baseUrl })
    : undefined;
  const compatible = settings.compatible
    ? createOpenAICompatible({
        name: "compatible",
        baseURL: settings.compatible.baseUrl,
        apiKey: settings.compatible.apiKey,
        includeUsage: true,
      })
    : undefined;
  const local = new LocalLanguageModel();
  const models = new Map<string, LanguageModelV4>();

  const build = (ref: ModelRef): LanguageModelV4 => {
    switch (ref.provider) {
      case "openai":
        if (openai) return openai(ref.model);
        break;
      case "anthropic":
        if (anthropic) return anthropic(ref.model);
        break;
      case "compatible":
        if (compatible) return compatible.chatModel(ref.model);
        break;
      case "local":
        return local;
    }
    throw new Error(`${ref.key} is not configured`);
  };

  return {
    model: (ref) => {
      let model = models.get(ref.key);
      if (!model) {
        model = build(ref);
        models.set(ref.key, model);
      }
      return model;
    },
    isExternal: (provider) => provider !== "local",
  };
}
