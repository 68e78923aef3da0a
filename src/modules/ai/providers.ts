import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { EmbeddingModelV4, LanguageModelV4 } from "@ai-sdk/provider";
import { LocalEmbeddingModel } from "./local/embedding.ts";
import { LocalLanguageModel } from "./local/model.ts";
import type { AiSettings, ModelRef, ProviderName } from "./settings.ts";

/**
 * Every provider behind the AI SDK's one language-model interface. The rest
 * of the module holds a `ModelRef` and asks this registry for the model;
 * nothing else imports a provider package.
 */
export type ModelRegistry = {
  model: (ref: ModelRef) => LanguageModelV4;
  /** The embedding model a reference of the `embed` chain names. */
  embeddingModel: (ref: ModelRef) => EmbeddingModelV4;
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
  const localEmbedding = new LocalEmbeddingModel();
  const models = new Map<string, LanguageModelV4>();
  const embeddingModels = new Map<string, EmbeddingModelV4>();

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

  const buildEmbedding = (ref: ModelRef): EmbeddingModelV4 => {
    switch (ref.provider) {
      case "openai":
        if (openai) return openai.embedding(ref.model);
        break;
      case "compatible":
        if (compatible) return compatible.embeddingModel(ref.model);
        break;
      case "anthropic":
        break;
      case "local":
        return localEmbedding;
    }
    throw new Error(`${ref.key} is not a configured embedding model`);
  };

  return {
    embeddingModel: (ref) => {
      let model = embeddingModels.get(ref.key);
      if (!model) {
        model = buildEmbedding(ref);
        embeddingModels.set(ref.key, model);
      }
      return model;
    },
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
