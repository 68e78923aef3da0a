import { embedMany } from "ai";
import type { Context } from "../../platform/context.ts";
import { DomainError } from "../../platform/http/errors.ts";
import type { Breakers } from "./breaker.ts";
import type { BudgetLookup } from "./budget.ts";
import { ModelChain } from "./chain.ts";
import { costMicros, type LedgerWriter } from "./ledger.ts";
import { estimateTokens } from "./local/model.ts";
import type { ModelRegistry } from "./providers.ts";
import type { RedactionLookup } from "./redaction.ts";
import {
  type AttemptResult,
  attemptModel,
  CallTimeoutError,
  classifyFailure,
  type Failure,
} from "./retry.ts";
import { cleanText, redactPii } from "./safety.ts";
import type { UsageOutcome } from "./schema.ts";
import { type AiSettings, type ModelRef, type Price, priceOf } from "./settings.ts";

export type EmbedRequest = {
  values: string[];
  /** What the texts are (e.g. `task-text` v1), recorded in the ledger like a prompt template. */
  input: { id: string; version: number };
  /** Who pays: the user (null for system work) and the workspace. */
  userId: string | null;
  workspaceId: string | null;
  signal?: AbortSignal | undefined;
};

export type EmbedAnswer = {
  /** One vector per value, in order, all of `dimensions` numbers. */
  embeddings: number[][];
  /** The model that produced them: vectors of different models are never compared. */
  model: ModelRef;
  dimensions: number;
  usage: { inputTokens: number; costMicros: number };
};

/** About 2,000 tokens: a task's title and description, within every vendor's input limit. */
const maxTextLength = 8_000;

/** Like the gateway's (retry.ts), but vectors that fail their checks are `invalid_output`. */
const outcomeOf = (failure: Failure): UsageOutcome =>
  failure.kind === "timeout"
    ? "timeout"
    : failure.kind === "rate_limited"
      ? "rate_limited"
      : failure.kind === "aborted"
        ? "aborted"
        : failure.kind === "malformed"
          ? "invalid_output"
          : "error";

/** Vectors a caller can store: one per value, equally long, finite. */
function problemWith(embeddings: number[][], count: number): string | null {
  if (embeddings.length !== count) return `${embeddings.length} vectors for ${count} texts`;
  const dimensions = embeddings[0]?.length ?? 0;
  if (dimensions === 0) return "empty vectors";
  const valid = embeddings.every(
    (vector) => vector.length === dimensions && vector.every(Number.isFinite),
  );
  return valid ? null : "vectors of different lengths or with non-numbers";
}

/**
 * The `embed` feature chain: the same routing as the text features (budget
 * reservation, circuit breaker per provider, timeout, jittered retries,
 * fallback to the next model, a ledger row per call), through the AI SDK's
 * `embedMany`. Embeddings have no prompt and no answer cache.
 */
export class EmbeddingRouter {
  private readonly deps: {
    settings: AiSettings;
    registry: ModelRegistry;
    breakers: Breakers;
    ledger: LedgerWriter;
    budgets: BudgetLookup;
    redaction: RedactionLookup;
  };

  constructor(deps: EmbeddingRouter["deps"]) {
    this.deps = deps;
  }

  async run(ctx: Context, request: EmbedRequest): Promise<EmbedAnswer> {
    const { settings } = this.deps;
    const tokens = request.values.reduce((sum, value) => sum + estimateTokens(value), 0);
    const external = settings.routes.embed.some((ref) =>
      this.deps.registry.isExternal(ref.provider),
    );
    const redact = external
      ? await this.deps.redaction.redacts(ctx.db, request.workspaceId, settings.redactPii)
      : settings.redactPii;
    const walk = new ModelChain(ctx, {
      settings,
      ledger: this.deps.ledger,
      budgets: this.deps.budgets,
      owner: { userId: request.userId, workspaceId: request.workspaceId },
    });
    const maxCost = (price: Price) =>
      costMicros(price, { inputTokens: Math.ceil(tokens * 1.25), outputTokens: 0 });
    for (const ref of settings.routes.embed) {
      const answered = await walk.attempt(ref, maxCost, (spent) =>
        this.embedWith(ctx, request, ref, spent, redact),
      );
      if (answered) return answered.value;
    }
    throw walk.exhausted({
      timeout: "No embedding model answered in time",
      failed: "No embedding model could answer",
    });
  }

  private async embedWith(
    ctx: Context,
    request: EmbedRequest,
    ref: ModelRef,
    spent: { micros: number },
    redact: boolean,
  ): Promise<EmbedAnswer> {
    const { settings, breakers } = this.deps;
    const breaker = ref.provider === "local" ? undefined : breakers.for(ref.provider);
    const price = priceOf(settings, ref);
    return attemptModel({
      ref,
      breaker,
      settings,
      signal: request.signal,
      log: ctx.log,
      failureMessage: "embed failed",
      aborted: () => new DomainError("upstream_error", "The embedding request was cancelled"),
      attempt: async (): Promise<AttemptResult<EmbedAnswer>> => {
        const started = performance.now();
        const ledger = (outcome: UsageOutcome, inputTokens: number, cost: number) =>
          this.deps.ledger.record({
            userId: request.userId,
            workspaceId: request.workspaceId,
            requestId: ctx.requestId,
            feature: "embed",
            ref,
            template: request.input,
            inputTokens,
            outputTokens: 0,
            cachedTokens: 0,
            costMicros: cost,
            latencyMs: performance.now() - started,
            outcome,
            flags: [],
            at: ctx.now(),
          });
        let failure: Failure;
        try {
          const result = await this.call(ref, request, this.textsFor(ref, request.values, redact));
          const problem = problemWith(result.embeddings, request.values.length);
          if (problem) {
            failure = { kind: "malformed", message: `${ref.key} answered ${problem}` };
          } else {
            const inputTokens =
              result.usage.tokens ||
              request.values.reduce((sum, value) => sum + estimateTokens(value), 0);
            const cost = costMicros(price, { inputTokens, outputTokens: 0 });
            spent.micros += cost;
            ledger("ok", inputTokens, cost);
            return {
              value: {
                embeddings: result.embeddings,
                model: ref,
                dimensions: result.embeddings[0]?.length ?? 0,
                usage: { inputTokens, costMicros: cost },
              },
            };
          }
        } catch (error) {
          failure = classifyFailure(error, request.signal);
        }
        ledger(outcomeOf(failure), 0, 0);
        return { failure };
      },
    });
  }

  /** Cleaned, capped and, before leaving for a vendor, PII-redacted like prompt data. */
  private textsFor(ref: ModelRef, values: string[], redact: boolean): string[] {
    const external = this.deps.registry.isExternal(ref.provider) && redact;
    return values.map((value) => {
      const clean = cleanText(value, maxTextLength);
      return external ? redactPii(clean) : clean;
    });
  }

  /** One `embedMany` call with no SDK retries, bounded by the configured timeout. */
  private async call(ref: ModelRef, request: EmbedRequest, values: string[]) {
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener("abort", onAbort, { once: true });
    const timeoutMs = this.deps.settings.timeoutMs;
    const timer = setTimeout(() => controller.abort(new CallTimeoutError(timeoutMs)), timeoutMs);
    try {
      request.signal?.throwIfAborted();
      return await embedMany({
        model: this.deps.registry.embeddingModel(ref),
        values,
        maxRetries: 0,
        abortSignal: controller.signal,
      });
    } catch (error) {
      // The timeout's reason is what classifyFailure looks for in the cause chain.
      if (controller.signal.reason instanceof CallTimeoutError) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
    }
  }
}
