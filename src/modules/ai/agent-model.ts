import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4GenerateResult,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Context } from "../../platform/context.ts";
import { DomainError } from "../../platform/http/errors.ts";
import { CallControl, forwardStream, readHead } from "./agent-stream.ts";
import { AttemptFailed, type CallUsage } from "./attempt.ts";
import type { Breakers } from "./breaker.ts";
import type { BudgetLookup, Reservation } from "./budget.ts";
import { ModelChain, noTextModel } from "./chain.ts";
import { costMicros, type LedgerWriter } from "./ledger.ts";
import { estimateTokens } from "./local/model.ts";
import type { TemplateId } from "./prompts.ts";
import type { ModelRegistry } from "./providers.ts";
import { ModelSkipped, outcomeOf, retryable, retryDelay, sleep } from "./retry.ts";
import { filterLinks, mapStrings } from "./safety.ts";
import type { UsageOutcome } from "./schema.ts";
import {
  type AiFeature,
  type AiSettings,
  type ChatLimits,
  type ModelRef,
  type Price,
  priceOf,
} from "./settings.ts";

/** What an agent run asks of the router: which chain, whose budgets, which bounds. */
export type AgentModelRequest = {
  feature: AiFeature;
  template: { id: TemplateId; version: number };
  workspaceId: string | null;
  limits: Pick<ChatLimits, "maxTokensPerTurn" | "maxOutputTokens">;
  /** Aborted when the client goes away. */
  signal?: AbortSignal | undefined;
};

export type RouterParts = {
  settings: AiSettings;
  registry: ModelRegistry;
  breakers: Breakers;
  ledger: LedgerWriter;
  budgets: BudgetLookup;
};

/**
 * The chain reached `local`: the offline provider cannot drive an agent, so
 * the caller answers without a model (the offline assistant).
 */
export class OfflineFallback extends Error {
  constructor(reason: string | undefined) {
    super(reason ?? "no model but the offline one is available");
    this.name = "OfflineFallback";
  }
}

/** The run used up its tokens; no further model call is made. */
export class TurnTokensExhausted extends Error {
  constructor(limit: number) {
    super(`This turn used its ${limit} tokens`);
    this.name = "TurnTokensExhausted";
  }
}

const injectionMarker = 'flagged="possible-prompt-injection"';

/** The ledger's flags: a tool result's data block was marked as possible prompt injection. */
function promptFlags(prompt: LanguageModelV4Prompt): string[] {
  let flagged = false;
  mapStrings(
    prompt.filter((message) => message.role === "tool"),
    (text) => {
      flagged ||= text.includes(injectionMarker);
      return text;
    },
  );
  return flagged ? ["possible_prompt_injection"] : [];
}

/** About what a call's prompt and tool definitions cost in input tokens. */
function inputEstimate(options: LanguageModelV4CallOptions): number {
  return estimateTokens(JSON.stringify([options.prompt, options.tools ?? []]));
}

function usageOf(usage: LanguageModelV4Usage | undefined, estimate: CallUsage): CallUsage {
  return {
    inputTokens: usage?.inputTokens.total ?? estimate.inputTokens,
    outputTokens: usage?.outputTokens.total ?? estimate.outputTokens,
    cachedTokens: usage?.inputTokens.cacheRead ?? 0,
  };
}

const noUsage: CallUsage = { inputTokens: 0, outputTokens: 0, cachedTokens: 0 };

/**
 * What one chain member has cost so far, settled against its reservation
 * once: when the call returns, or for a stream when the stream ends.
 */
type Spend = {
  micros: number;
  reservation: Reservation | null;
  settled: boolean;
  walk: ModelChain;
};

/**
 * A language model for one agent run (the assistant's turn), built by the
 * gateway from a feature's chain. The agent framework sees one model; each
 * of its calls goes through the router like any AI feature: budget
 * reservation, circuit breaker, timeout, retries with backoff, fallback to
 * the next model (for a stream, only before its first content part), output
 * link filtering, and one ledger row per vendor call. It also bounds the run:
 * input plus output tokens over all calls stay within `maxTokensPerTurn`.
 */
export class RoutedAgentModel implements LanguageModelV4 {
  readonly specificationVersion = "v4";
  readonly provider = "taskpilot";
  readonly modelId: string;
  readonly supportedUrls = {};
  /** Tokens used by this run's calls so far. */
  usedTokens = 0;
  readonly #ctx: Context;
  readonly #request: AgentModelRequest;
  readonly #parts: RouterParts;
  /** Where in the chain the next call starts: the run stays with the model that answered. */
  #first = 0;

  constructor(ctx: Context, request: AgentModelRequest, parts: RouterParts) {
    this.#ctx = ctx;
    this.#request = request;
    this.#parts = parts;
    this.modelId = request.feature;
  }

  doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    return this.#route(options, (ref, model, bounded, spend, flags) =>
      this.#generateOnce(ref, model, bounded, spend, flags),
    );
  }

  doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    return this.#route(options, (ref, model, bounded, spend, flags) =>
      this.#streamOnce(ref, model, bounded, spend, flags),
    );
  }

  get #settings() {
    return this.#parts.settings;
  }

  async #route<T>(
    options: LanguageModelV4CallOptions,
    attempt: (
      ref: ModelRef,
      model: LanguageModelV4,
      bounded: LanguageModelV4CallOptions,
      spend: Spend,
      flags: string[],
    ) => Promise<T>,
  ): Promise<T> {
    const { limits } = this.#request;
    const input = inputEstimate(options);
    const left = limits.maxTokensPerTurn - this.usedTokens - input;
    if (left <= 0) throw new TurnTokensExhausted(limits.maxTokensPerTurn);
    const maxOutputTokens = Math.min(
      options.maxOutputTokens ?? limits.maxOutputTokens,
      limits.maxOutputTokens,
      left,
    );
    const bounded = { ...options, maxOutputTokens };
    const flags = promptFlags(options.prompt);
    const { settings, ledger, budgets } = this.#parts;
    const walk = new ModelChain(this.#ctx, {
      settings,
      ledger,
      budgets,
      owner: { userId: actingUser(this.#ctx.actor).userId, workspaceId: this.#request.workspaceId },
    });
    const maxCost = (price: Price) =>
      costMicros(price, { inputTokens: Math.ceil(input * 1.25), outputTokens: maxOutputTokens });
    const chain = this.#settings.routes[this.#request.feature];
    for (const [index, ref] of chain.entries()) {
      if (index < this.#first) continue;
      if (ref.provider === "local") throw new OfflineFallback(walk.lastFailure?.message);
      const reservation = await walk.reserve(ref, maxCost);
      if (reservation === "refused") continue;
      const spend: Spend = { micros: 0, reservation, settled: false, walk };
      try {
        const result = await this.#withRetries(ref, (model) =>
          attempt(ref, model, bounded, spend, flags),
        );
        this.#first = index;
        return result;
      } catch (error) {
        await this.#settle(spend);
        walk.passed(error);
      }
    }
    throw walk.exhausted(noTextModel);
  }

  async #settle(spend: Spend) {
    if (spend.settled) return;
    spend.settled = true;
    await spend.walk.settle(spend.reservation, spend.micros);
  }

  async #withRetries<T>(ref: ModelRef, attempt: (model: LanguageModelV4) => Promise<T>) {
    const breaker = this.#parts.breakers.for(ref.provider);
    const model = this.#parts.registry.model(ref);
    for (let attemptNumber = 1; ; attemptNumber++) {
      if (!breaker.tryAcquire()) {
        throw new ModelSkipped({ kind: "server", message: `${ref.provider} circuit is open` });
      }
      try {
        const result = await attempt(model);
        breaker.recordSuccess();
        return result;
      } catch (error) {
        if (!(error instanceof AttemptFailed)) throw error;
        const failure = error.failure;
        if (failure.kind === "aborted") {
          breaker.release();
          throw new DomainError("upstream_error", "The client went away");
        }
        breaker.recordFailure();
        this.#ctx.log.warn(
          { provider: ref.provider, model: ref.model, attempt: attemptNumber, failure },
          "AI call failed",
        );
        const delay =
          retryable(failure) && attemptNumber <= this.#settings.maxRetries
            ? retryDelay(failure, attemptNumber, {
                baseMs: this.#settings.retryBaseMs,
                capMs: this.#settings.retryAfterCapMs,
              })
            : null;
        if (delay === null) throw new ModelSkipped(failure);
        await sleep(delay, this.#request.signal);
      }
    }
  }

  async #generateOnce(
    ref: ModelRef,
    model: LanguageModelV4,
    options: LanguageModelV4CallOptions,
    spend: Spend,
    flags: string[],
  ): Promise<LanguageModelV4GenerateResult> {
    const control = this.#control(options);
    const started = performance.now();
    let result: LanguageModelV4GenerateResult;
    try {
      result = await model.doGenerate({ ...options, abortSignal: control.controller.signal });
    } catch (error) {
      const failure = control.failure(error);
      this.#ledger(ref, noUsage, outcomeOf(failure), started, spend, flags);
      throw new AttemptFailed(failure, "", false);
    } finally {
      control.close();
    }
    const estimate = { ...noUsage, inputTokens: inputEstimate(options) };
    this.#ledger(ref, usageOf(result.usage, estimate), "ok", started, spend, flags);
    await this.#settle(spend);
    const allowlist = this.#settings.linkAllowlist;
    const content = await Promise.all(
      result.content.map(async (part) =>
        part.type === "text" ? { ...part, text: await filterLinks(part.text, allowlist) } : part,
      ),
    );
    return { ...result, content };
  }

  /**
   * Opens the stream and reads until its first content part: a failure up
   * to there is an ordinary failed attempt (retry, then the next model).
   * From there on the stream belongs to the caller; it ledgers and settles
   * the call when it ends.
   */
  async #streamOnce(
    ref: ModelRef,
    model: LanguageModelV4,
    options: LanguageModelV4CallOptions,
    spend: Spend,
    flags: string[],
  ): Promise<LanguageModelV4StreamResult> {
    const control = this.#control(options);
    const started = performance.now();
    let reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart> | undefined;
    try {
      const result = await model.doStream({ ...options, abortSignal: control.controller.signal });
      reader = result.stream.getReader();
      const head = await readHead(reader, control);
      const breaker = this.#parts.breakers.for(ref.provider);
      const stream = forwardStream(reader, head, {
        control,
        allowlist: this.#settings.linkAllowlist,
        onBroken: () => breaker.recordFailure(),
        onEnd: async (outcome, usage, written) => {
          const estimate = {
            inputTokens: inputEstimate(options),
            outputTokens: estimateTokens(written),
            cachedTokens: 0,
          };
          this.#ledger(ref, usageOf(usage, estimate), outcome, started, spend, flags);
          await this.#settle(spend);
        },
      });
      return { ...result, stream };
    } catch (error) {
      control.close();
      reader?.cancel().catch(() => {});
      const failure = control.failure(error);
      this.#ledger(ref, noUsage, outcomeOf(failure), started, spend, flags);
      throw new AttemptFailed(failure, "", false);
    }
  }

  #control(options: LanguageModelV4CallOptions): CallControl {
    return new CallControl([options.abortSignal, this.#request.signal], this.#settings.timeoutMs);
  }

  #ledger(
    ref: ModelRef,
    usage: CallUsage,
    outcome: UsageOutcome,
    started: number,
    spend: Spend,
    flags: string[],
  ) {
    const cost = costMicros(priceOf(this.#settings, ref), usage);
    spend.micros += cost;
    this.usedTokens += usage.inputTokens + usage.outputTokens;
    this.#parts.ledger.record({
      userId: actingUser(this.#ctx.actor).userId,
      workspaceId: this.#request.workspaceId,
      requestId: this.#ctx.requestId,
      feature: this.#request.feature,
      ref,
      template: this.#request.template,
      ...usage,
      costMicros: cost,
      latencyMs: performance.now() - started,
      outcome,
      flags,
      at: this.#ctx.now(),
    });
  }
}
