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
import type { Executor } from "../../platform/db/transaction.ts";
import { DomainError } from "../../platform/http/errors.ts";
import { AttemptFailed, type CallUsage } from "./attempt.ts";
import type { Breakers } from "./breaker.ts";
import {
  applicableBudgets,
  type BudgetTarget,
  budgetExceeded,
  budgetPeriod,
  type Reservation,
  reserve,
  settle,
} from "./budget.ts";
import { costMicros, recordUsage } from "./ledger.ts";
import { estimateTokens } from "./local/model.ts";
import type { TemplateId } from "./prompts.ts";
import type { ModelRegistry } from "./providers.ts";
import {
  CallTimeoutError,
  classifyFailure,
  type Failure,
  ModelSkipped,
  outcomeOf,
  retryable,
  retryDelay,
  sleep,
} from "./retry.ts";
import { mapStrings, StreamingSanitizer, sanitizeOutput } from "./safety.ts";
import {
  type AiFeature,
  type AiSettings,
  type ChatLimits,
  type ModelRef,
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
  db: Executor;
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

// Parts that say what the model is answering; before one arrives, a failing
// stream can still fall back to the next model without the client noticing.
const preamble = new Set(["stream-start", "response-metadata", "text-start", "reasoning-start"]);
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
 * One call's abort controller: it follows the client's signals and fires on
 * its own when the model is silent for longer than the timeout (for a
 * stream: before the first part and between parts).
 */
class CallControl {
  readonly controller = new AbortController();
  readonly client: AbortSignal | undefined;
  #timedOut = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #timeoutMs: number;
  readonly #onClientAbort = () => this.controller.abort(this.client?.reason);

  constructor(signals: Array<AbortSignal | undefined>, timeoutMs: number) {
    const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
    this.client = present.length > 0 ? AbortSignal.any(present) : undefined;
    this.client?.addEventListener("abort", this.#onClientAbort, { once: true });
    this.#timeoutMs = timeoutMs;
    this.arm();
  }

  arm() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.controller.abort(new CallTimeoutError(this.#timeoutMs));
    }, this.#timeoutMs);
  }

  failure(error: unknown): Failure {
    if (this.#timedOut)
      return { kind: "timeout", message: `no answer within ${this.#timeoutMs} ms` };
    return classifyFailure(error, this.client);
  }

  close() {
    clearTimeout(this.#timer);
    this.client?.removeEventListener("abort", this.#onClientAbort);
  }
}

/** What one chain member has cost so far, settled against its reservation once. */
type Spend = { micros: number; reservation: Reservation | null; settled: boolean };

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
  #budgets: BudgetTarget[] | undefined;
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
    let lastFailure: Failure | undefined;
    let budgetResetsAt: Date | undefined;
    const chain = this.#settings.routes[this.#request.feature];
    for (const [index, ref] of chain.entries()) {
      if (index < this.#first) continue;
      if (ref.provider === "local") throw new OfflineFallback(lastFailure?.message);
      const reservation = await this.#reserve(ref, input, maxOutputTokens);
      if (reservation === "refused") {
        budgetResetsAt = budgetPeriod(this.#ctx.now()).resetsAt;
        if (!this.#settings.localWhenOverBudget) {
          throw budgetExceeded(budgetResetsAt, this.#ctx.now());
        }
        continue;
      }
      const spend: Spend = { micros: 0, reservation, settled: false };
      try {
        const result = await this.#withRetries(ref, (model) =>
          attempt(ref, model, bounded, spend, flags),
        );
        this.#first = index;
        return result;
      } catch (error) {
        await this.#settle(spend);
        if (!(error instanceof ModelSkipped)) throw error;
        lastFailure = error.failure;
      }
    }
    if (budgetResetsAt) throw budgetExceeded(budgetResetsAt, this.#ctx.now());
    if (lastFailure?.kind === "timeout") {
      throw new DomainError("upstream_timeout", "No AI provider answered in time; retry later");
    }
    throw new DomainError("upstream_error", "No AI provider could answer; retry later");
  }

  /** The call's maximum cost, held against every budget that applies (free models skip it). */
  async #reserve(
    ref: ModelRef,
    inputTokens: number,
    maxOutputTokens: number,
  ): Promise<Reservation | null | "refused"> {
    const price = priceOf(this.#settings, ref);
    if (price.input === 0 && price.output === 0 && this.#settings.localWhenOverBudget) return null;
    this.#budgets ??= await applicableBudgets(this.#ctx.db, {
      userId: actingUser(this.#ctx.actor).userId,
      workspaceId: this.#request.workspaceId,
      defaultUserLimitMicros: this.#settings.defaultUserBudgetMicros,
    });
    const maxCost = costMicros(price, {
      inputTokens: Math.ceil(inputTokens * 1.25),
      outputTokens: maxOutputTokens,
    });
    return (await reserve(this.#ctx.db, this.#budgets, maxCost, this.#ctx.now())) ?? "refused";
  }

  async #settle(spend: Spend) {
    if (spend.settled) return;
    spend.settled = true;
    if (spend.reservation) await settle(this.#ctx.db, spend.reservation, spend.micros);
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
      await this.#ledger(ref, noUsage, outcomeOf(failure), started, spend, flags);
      throw new AttemptFailed(failure, "", false);
    } finally {
      control.close();
    }
    const estimate = { ...noUsage, inputTokens: inputEstimate(options) };
    await this.#ledger(ref, usageOf(result.usage, estimate), "ok", started, spend, flags);
    await this.#settle(spend);
    const allowlist = this.#settings.linkAllowlist;
    return {
      ...result,
      content: result.content.map((part) =>
        part.type === "text" ? { ...part, text: sanitizeOutput(part.text, allowlist) } : part,
      ),
    };
  }

  /**
   * Opens the stream and reads until its first content part: a failure up
   * to there is an ordinary failed attempt (retry, then the next model).
   * From there on the stream belongs to the caller.
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
    const head: LanguageModelV4StreamPart[] = [];
    try {
      const result = await model.doStream({ ...options, abortSignal: control.controller.signal });
      reader = result.stream.getReader();
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        control.arm();
        if (next.value.type === "error") throw next.value.error;
        head.push(next.value);
        if (!preamble.has(next.value.type)) break;
      }
      const call = { ref, options, spend, flags, started, control };
      return { ...result, stream: this.#forward(reader, head, call) };
    } catch (error) {
      control.close();
      reader?.cancel().catch(() => {});
      const failure = control.failure(error);
      await this.#ledger(ref, noUsage, outcomeOf(failure), started, spend, flags);
      throw new AttemptFailed(failure, "", false);
    }
  }

  /**
   * The rest of a committed stream: text is link-filtered as it passes,
   * usage is taken from the finish part, and the call is ledgered and its
   * reservation settled once, however the stream ends (finished, failed, or
   * cancelled by the client). A failure now is an error part: falling back
   * after content went out would show the client two answers.
   */
  #forward(
    reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart>,
    head: LanguageModelV4StreamPart[],
    call: {
      ref: ModelRef;
      options: LanguageModelV4CallOptions;
      spend: Spend;
      flags: string[];
      started: number;
      control: CallControl;
    },
  ): ReadableStream<LanguageModelV4StreamPart> {
    const sanitizers = new Map<string, StreamingSanitizer>();
    const sanitizerFor = (id: string) => {
      let sanitizer = sanitizers.get(id);
      if (!sanitizer) {
        sanitizer = new StreamingSanitizer(this.#settings.linkAllowlist);
        sanitizers.set(id, sanitizer);
      }
      return sanitizer;
    };
    let usage: LanguageModelV4Usage | undefined;
    let written = "";
    let ended = false;
    const end = async (outcome: Parameters<typeof recordUsage>[1]["outcome"]) => {
      if (ended) return;
      ended = true;
      call.control.close();
      const estimate = {
        inputTokens: inputEstimate(call.options),
        outputTokens: estimateTokens(written),
        cachedTokens: 0,
      };
      await this.#ledger(
        call.ref,
        usageOf(usage, estimate),
        outcome,
        call.started,
        call.spend,
        call.flags,
      );
      await this.#settle(call.spend);
    };
    const pass = (part: LanguageModelV4StreamPart): LanguageModelV4StreamPart[] => {
      switch (part.type) {
        case "text-delta": {
          written += part.delta;
          const safe = sanitizerFor(part.id).push(part.delta);
          return safe ? [{ ...part, delta: safe }] : [];
        }
        case "text-end": {
          const rest = sanitizerFor(part.id).flush();
          return rest ? [{ type: "text-delta", id: part.id, delta: rest }, part] : [part];
        }
        case "finish":
          usage = part.usage;
          return [part];
        default:
          return [part];
      }
    };
    const breaker = this.#parts.breakers.for(call.ref.provider);
    return new ReadableStream<LanguageModelV4StreamPart>({
      start: (controller) => {
        for (const part of head) for (const out of pass(part)) controller.enqueue(out);
      },
      pull: async (controller) => {
        try {
          const next = await reader.read();
          if (next.done) {
            await end("ok");
            controller.close();
            return;
          }
          call.control.arm();
          if (next.value.type === "error") throw next.value.error;
          for (const out of pass(next.value)) controller.enqueue(out);
        } catch (error) {
          const failure = call.control.failure(error);
          if (failure.kind !== "aborted") breaker.recordFailure();
          await end(outcomeOf(failure));
          reader.cancel().catch(() => {});
          controller.error(
            failure.kind === "aborted"
              ? error
              : new DomainError("upstream_error", "The AI provider failed while streaming"),
          );
        }
      },
      cancel: async (reason) => {
        call.control.controller.abort(reason);
        await reader.cancel(reason).catch(() => {});
        await end("aborted");
      },
    });
  }

  #control(options: LanguageModelV4CallOptions): CallControl {
    return new CallControl([options.abortSignal, this.#request.signal], this.#settings.timeoutMs);
  }

  async #ledger(
    ref: ModelRef,
    usage: CallUsage,
    outcome: Parameters<typeof recordUsage>[1]["outcome"],
    started: number,
    spend: Spend,
    flags: string[],
  ) {
    const cost = costMicros(priceOf(this.#settings, ref), usage);
    spend.micros += cost;
    this.usedTokens += usage.inputTokens + usage.outputTokens;
    await recordUsage(this.#parts.db, {
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
