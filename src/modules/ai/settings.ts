import { readFileSync } from "node:fs";
import { z } from "zod";

/** The features the router knows; each has its own ordered model chain. */
export const aiFeatures = ["summary", "digest", "breakdown", "chat", "quickadd", "embed"] as const;
export type AiFeature = (typeof aiFeatures)[number];

export const providerNames = ["openai", "anthropic", "compatible", "local"] as const;
export type ProviderName = (typeof providerNames)[number];

/** "provider:model", e.g. "openai:gpt-4o-mini", "compatible:llama3.2", "local". */
export type ModelRef = { provider: ProviderName; model: string; key: string };

/** USD per million tokens; a model call costs tokens x price micro-dollars. */
export type Price = { input: number; output: number; cachedInput?: number | undefined };

export type AiSettings = {
  openai?: { apiKey: string; baseUrl?: string | undefined } | undefined;
  anthropic?: { apiKey: string; baseUrl?: string | undefined } | undefined;
  compatible?:
    | {
        baseUrl: string;
        model: string;
        /** The server's embedding model (e.g. Ollama's nomic-embed-text); none: not in the embed chain. */
        embeddingModel?: string | undefined;
        apiKey?: string | undefined;
      }
    | undefined;
  routes: Record<AiFeature, ModelRef[]>;
  /** Keyed by "provider:model"; "provider:*" is that provider's fallback price. */
  prices: Record<string, Price>;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  /** A Retry-After longer than this is not waited for: the router moves on. */
  retryAfterCapMs: number;
  breaker: { failureThreshold: number; cooldownMs: number };
  cache: { enabled: boolean; ttlSeconds: number; maxEntries: number };
  /** The offline provider still answers when a paid budget is used up. */
  localWhenOverBudget: boolean;
  /** Default monthly budget per user in micro-dollars (null: none). */
  defaultUserBudgetMicros: number | null;
  /** The default of a workspace's `aiRedactPii`. */
  redactPii: boolean;
  /** OpenAI's moderation endpoint, screening text before it leaves (with OpenAI configured). */
  moderation?: { apiKey: string; baseUrl: string; model: string } | undefined;
  /** Hosts that links and images in model output may point at. */
  linkAllowlist: string[];
  /** Bounds of one assistant turn driven by a model. */
  chat: ChatLimits;
  /** The usage ledger's write-behind (ledger.ts LedgerWriter). */
  ledger: LedgerSettings;
  /** How long the budgets that apply to a user in a workspace are remembered (budget.ts). */
  budgetLookupTtlMs: number;
};

export type LedgerSettings = {
  /** Rows waiting that are written at once, without waiting for the delay. */
  batchRows: number;
  /** The longest a row waits for company before it is written. */
  flushDelayMs: number;
  /** Rows held while the database does not take them; beyond, the oldest are dropped. */
  maxBufferedRows: number;
  /** Waits before each retry of a failed write; when they are used up the rows are lost (logged). */
  retryDelaysMs: number[];
};

export type ChatLimits = {
  /** Model calls per turn (each may ask for tools; their results need the next call). */
  maxSteps: number;
  /** Input plus output tokens over all model calls of a turn. */
  maxTokensPerTurn: number;
  /** Output tokens one model call may write. */
  maxOutputTokens: number;
};

export const localModelId = "taskpilot-local-1";
/** The offline embedding model (lexical: hashed words, stems and trigrams; see local/embedding.ts). */
export const localEmbeddingModelId = "taskpilot-embed-1";

export const defaultModels = {
  openai: "gpt-4o-mini",
  anthropic: "claude-haiku-4-5",
} as const;

export const defaultEmbeddingModels = { openai: "text-embedding-3-small" } as const;

/** List prices (USD per million tokens) of the default models; override with AI_PRICES. */
const defaultPrices: Record<string, Price> = {
  "openai:gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "openai:gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "openai:text-embedding-3-small": { input: 0.02, output: 0 },
  "openai:text-embedding-3-large": { input: 0.13, output: 0 },
  "openai:text-embedding-ada-002": { input: 0.1, output: 0 },
  "openai:*": { input: 2.5, output: 10 },
  "anthropic:claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1 },
  "anthropic:*": { input: 3, output: 15 },
  "compatible:*": { input: 0, output: 0 },
  "local:*": { input: 0, output: 0 },
};

const refPattern = /^(openai|anthropic|compatible|local)(?::(.+))?$/;

/**
 * `text` as a model reference; a bare provider name means its default model
 * for the feature (for `embed`: an embedding model; Anthropic has none).
 */
export function parseModelRef(
  text: string,
  compatibleModel?: string,
  feature: AiFeature = "summary",
): ModelRef {
  const match = refPattern.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not provider:model (providers: ${providerNames})`);
  const provider = match[1] as ProviderName;
  if (feature === "embed" && provider === "anthropic") {
    throw new Error("anthropic has no embedding models");
  }
  const model = match[2] ?? defaultModelOf(provider, feature, compatibleModel);
  if (!model) throw new Error(`"${text}" needs a model name`);
  return { provider, model, key: `${provider}:${model}` };
}

function defaultModelOf(provider: ProviderName, feature: AiFeature, compatibleModel?: string) {
  if (provider === "compatible") return compatibleModel;
  if (feature === "embed") {
    return provider === "local" ? localEmbeddingModelId : defaultEmbeddingModels.openai;
  }
  return provider === "local" ? localModelId : defaultModels[provider];
}

const routesSchema = z.partialRecord(z.enum(aiFeatures), z.array(z.string()).min(1));
const pricesSchema = z.record(
  z.string(),
  z.strictObject({
    input: z.number().min(0),
    output: z.number().min(0),
    cachedInput: z.number().min(0).optional(),
  }),
);

/** Reads AI_ROUTES / AI_PRICES: inline JSON, or the path of a JSON file. */
function jsonSetting(value: string): unknown {
  const text = value.trim().startsWith("{") ? value : readFileSync(value, "utf8");
  return JSON.parse(text);
}

/**
 * Which providers are configured decides the default chain; `local` always
 * ends it. Embeddings come from OpenAI and from a compatible server that
 * names an embedding model.
 */
function defaultChain(
  settings: Pick<AiSettings, "openai" | "anthropic" | "compatible">,
  feature: AiFeature,
) {
  const chain: string[] = [];
  if (feature === "embed") {
    if (settings.openai) chain.push("openai");
    if (settings.compatible?.embeddingModel) {
      chain.push(`compatible:${settings.compatible.embeddingModel}`);
    }
  } else {
    if (settings.openai) chain.push("openai");
    if (settings.anthropic) chain.push("anthropic");
    if (settings.compatible) chain.push(`compatible:${settings.compatible.model}`);
  }
  chain.push("local");
  return chain;
}

export type AiEnv = {
  OPENAI_API_KEY?: string | undefined;
  OPENAI_BASE_URL?: string | undefined;
  ANTHROPIC_API_KEY?: string | undefined;
  ANTHROPIC_BASE_URL?: string | undefined;
  LOCAL_LLM_BASE_URL?: string | undefined;
  LOCAL_LLM_MODEL?: string | undefined;
  LOCAL_LLM_EMBEDDING_MODEL?: string | undefined;
  LOCAL_LLM_API_KEY?: string | undefined;
  AI_ROUTES?: string | undefined;
  AI_PRICES?: string | undefined;
  AI_TIMEOUT_MS?: number | undefined;
  AI_MAX_RETRIES?: number | undefined;
  AI_BREAKER_FAILURES?: number | undefined;
  AI_BREAKER_COOLDOWN_MS?: number | undefined;
  AI_CACHE?: boolean | undefined;
  AI_CACHE_TTL_SECONDS?: number | undefined;
  AI_LOCAL_WHEN_OVER_BUDGET?: boolean | undefined;
  AI_USER_MONTHLY_BUDGET_USD?: number | undefined;
  AI_REDACT_PII?: boolean | undefined;
  AI_MODERATION?: boolean | undefined;
  AI_LINK_ALLOWLIST?: string | undefined;
  AI_CHAT_MAX_STEPS?: number | undefined;
  AI_CHAT_MAX_TOKENS?: number | undefined;
};

/**
 * The AI settings from (already type-checked) environment values. Throws an
 * Error naming the variable when AI_ROUTES or AI_PRICES is malformed.
 */
export function aiSettingsFromEnv(env: AiEnv, publicUrl?: string): AiSettings {
  const providers = {
    openai: env.OPENAI_API_KEY
      ? { apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL }
      : undefined,
    anthropic: env.ANTHROPIC_API_KEY
      ? { apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL }
      : undefined,
    compatible: env.LOCAL_LLM_BASE_URL
      ? {
          baseUrl: env.LOCAL_LLM_BASE_URL,
          model: env.LOCAL_LLM_MODEL ?? "llama3.2",
          embeddingModel: env.LOCAL_LLM_EMBEDDING_MODEL,
          apiKey: env.LOCAL_LLM_API_KEY,
        }
      : undefined,
  };
  let routes: Partial<Record<AiFeature, string[]>> = {};
  let prices: Record<string, Price> = {};
  try {
    if (env.AI_ROUTES) routes = routesSchema.parse(jsonSetting(env.AI_ROUTES));
  } catch (error) {
    throw new Error(`AI_ROUTES ${describe(error)}`);
  }
  try {
    if (env.AI_PRICES) prices = pricesSchema.parse(jsonSetting(env.AI_PRICES));
  } catch (error) {
    throw new Error(`AI_PRICES ${describe(error)}`);
  }
  const chains = Object.fromEntries(
    aiFeatures.map((feature) => {
      try {
        const compatibleModel =
          feature === "embed" ? providers.compatible?.embeddingModel : providers.compatible?.model;
        const refs = (routes[feature] ?? defaultChain(providers, feature)).map((text) =>
          parseModelRef(text, compatibleModel, feature),
        );
        for (const ref of refs) assertConfigured(ref, providers);
        return [feature, refs];
      } catch (error) {
        throw new Error(`AI_ROUTES ${feature}: ${describe(error)}`);
      }
    }),
  ) as Record<AiFeature, ModelRef[]>;
  const allowlist = (env.AI_LINK_ALLOWLIST ?? "")
    .split(",")
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  if (publicUrl) allowlist.push(new URL(publicUrl).hostname);
  return {
    ...providers,
    routes: chains,
    prices: { ...defaultPrices, ...prices },
    timeoutMs: env.AI_TIMEOUT_MS ?? 30_000,
    maxRetries: env.AI_MAX_RETRIES ?? 2,
    retryBaseMs: 250,
    retryAfterCapMs: 5_000,
    breaker: {
      failureThreshold: env.AI_BREAKER_FAILURES ?? 5,
      cooldownMs: env.AI_BREAKER_COOLDOWN_MS ?? 30_000,
    },
    cache: {
      enabled: env.AI_CACHE ?? true,
      ttlSeconds: env.AI_CACHE_TTL_SECONDS ?? 7 * 24 * 3600,
      maxEntries: 5_000,
    },
    localWhenOverBudget: env.AI_LOCAL_WHEN_OVER_BUDGET ?? true,
    defaultUserBudgetMicros:
      env.AI_USER_MONTHLY_BUDGET_USD === undefined
        ? null
        : Math.round(env.AI_USER_MONTHLY_BUDGET_USD * 1_000_000),
    redactPii: env.AI_REDACT_PII ?? true,
    moderation:
      providers.openai && env.AI_MODERATION !== false
        ? {
            apiKey: providers.openai.apiKey,
            baseUrl: providers.openai.baseUrl ?? "https://api.openai.com/v1",
            model: "omni-moderation-latest",
          }
        : undefined,
    linkAllowlist: allowlist,
    chat: {
      maxSteps: env.AI_CHAT_MAX_STEPS ?? 8,
      maxTokensPerTurn: env.AI_CHAT_MAX_TOKENS ?? 60_000,
      maxOutputTokens: 1_000,
    },
    ledger: {
      batchRows: 100,
      flushDelayMs: 50,
      maxBufferedRows: 10_000,
      retryDelaysMs: [200, 1_000],
    },
    budgetLookupTtlMs: 10_000,
  };
}

function assertConfigured(
  ref: ModelRef,
  providers: Pick<AiSettings, "openai" | "anthropic" | "compatible">,
) {
  if (ref.provider === "local") return;
  if (!providers[ref.provider]) {
    const needs = {
      openai: "OPENAI_API_KEY",
      anthropic: "ANTHROPIC_API_KEY",
      compatible: "LOCAL_LLM_BASE_URL",
    }[ref.provider];
    throw new Error(`${ref.key} needs ${needs}`);
  }
}

function describe(error: unknown): string {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return `is invalid: ${issue?.path.join(".") || "value"} ${issue?.message ?? ""}`.trim();
  }
  return error instanceof Error ? error.message : String(error);
}

/** Settings with nothing configured: every feature answers from the offline provider. */
export function offlineAiSettings(): AiSettings {
  return aiSettingsFromEnv({});
}

/** True when a feature's chain has a model besides the offline one. */
export function hasExternalModel(settings: AiSettings, feature: AiFeature): boolean {
  return settings.routes[feature].some((ref) => ref.provider !== "local");
}

/** The price of a model: its own entry, else its provider's fallback. */
export function priceOf(settings: AiSettings, ref: ModelRef): Price {
  return (
    settings.prices[ref.key] ?? settings.prices[`${ref.provider}:*`] ?? { input: 0, output: 0 }
  );
}
