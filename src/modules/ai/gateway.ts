import type { FastifyBaseLogger } from "fastify";
import type { Registry } from "prom-client";
import { actingUser } from "../../platform/auth/actor.ts";
import type { Redis } from "../../platform/cache/redis.ts";
import type { Context } from "../../platform/context.ts";
import type { ChangeFeed } from "../../platform/db/change-feed.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { DomainError, validationFailed } from "../../platform/http/errors.ts";
import { type AgentModelRequest, RoutedAgentModel } from "./agent-model.ts";
import { AttemptFailed, type CallOutput, callModel } from "./attempt.ts";
import { Breakers, type CircuitBreaker } from "./breaker.ts";
import { BudgetLookup } from "./budget.ts";
import { type AnswerCache, cacheKey, createAnswerCache } from "./cache.ts";
import { ModelChain, noTextModel } from "./chain.ts";
import { type EmbedAnswer, EmbeddingRouter, type EmbedRequest } from "./embedding.ts";
import { costMicros, LedgerWriter, type UsageEntry } from "./ledger.ts";
import { estimateTokens } from "./local/model.ts";
import { usageMeter } from "./metrics.ts";
import { moderate } from "./moderation.ts";
import { type RenderedPrompt, type TemplateId, templates } from "./prompts.ts";
import { createModelRegistry, type ModelRegistry } from "./providers.ts";
import { RedactionLookup } from "./redaction.ts";
import { attemptModel, outcomeOf } from "./retry.ts";
import { filterLinks, linkSanitizer, redactPii, textsOf } from "./safety.ts";
import { type AiFeature, type AiSettings, type ModelRef, type Price, priceOf } from "./settings.ts";

export type AiUsage = { inputTokens: number; outputTokens: number; costMicros: number };

export type AiAnswer = {
  text: string;
  provider: string;
  model: string;
  cached: boolean;
  usage: AiUsage;
  flags: string[];
  template: { id: TemplateId; version: number };
};

export type AiRequest = {
  feature: AiFeature;
  template: TemplateId;
  /** Renders the prompt; `external` asks for PII to be redacted. */
  render: (external: boolean) => RenderedPrompt;
  /** Identifies the answer for the cache (includes the task's version). */
  cacheInput: unknown;
  workspaceId: string | null;
  maxOutputTokens: number;
  /** Structured output: problems with the text, empty when valid. One repair call is made. */
  validate?: (text: string) => string[];
  repair?: (previousOutput: string, problems: string[]) => (external: boolean) => RenderedPrompt;
  /** Remove links and images to hosts outside the allowlist (free-text answers). */
  sanitize: boolean;
  /** Stream from the provider; deltas go to `onDelta` when given. */
  stream: boolean;
  onDelta?: (delta: string) => void;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /**
   * Text to screen with the moderation endpoint before it leaves for an
   * external model: what the user just typed (flagged: 400 naming `field`),
   * or stored text (flagged: only `local` answers, the answer is flagged).
   */
  moderation?: { kind: "typed"; field: string; text: string } | { kind: "stored"; value: unknown };
};

export type GatewayDeps = {
  settings: AiSettings;
  /** Announced changes; without it each call reads its workspace's redaction setting. */
  changes?: ChangeFeed;
  db: Executor;
  redis: Redis | undefined;
  now: () => Date;
  log: FastifyBaseLogger;
  /** The instance's metrics, where calls, tokens and cost are counted (metrics.ts). */
  metrics?: Registry;
};

/** A model's answer with what it cost and how long it took. */
type PricedOutput = CallOutput & { costMicros: number; latencyMs: number };

/**
 * The router: for a feature's chain of models, in order, it answers from the
 * cache, or checks the circuit breaker and the budget and calls the model
 * with a timeout and jittered retries, falling back to the next model. Every
 * call and cache hit is written to the ledger. The request fails only when
 * the whole chain failed: 504 if the last failure was a timeout, else 502.
 */
export class AiGateway {
  readonly settings: AiSettings;
  /** Usage rows go here; `flush()` before reading the ledger, and on close. */
  readonly ledger: LedgerWriter;
  /** Which budgets apply to whom; forget a scope when its budget is set. */
  readonly budgets: BudgetLookup;
  private readonly registry: ModelRegistry;
  private readonly breakers: Breakers;
  private readonly cache: AnswerCache | undefined;
  private readonly embeddings: EmbeddingRouter;
  private readonly redaction: RedactionLookup;

  constructor(deps: GatewayDeps) {
    this.redaction = new RedactionLookup(deps.changes);
    this.settings = deps.settings;
    this.registry = createModelRegistry(deps.settings);
    this.breakers = new Breakers(deps.settings.breaker, () => deps.now().getTime());
    this.cache = createAnswerCache({ ...deps.settings.cache, ...deps });
    this.ledger = new LedgerWriter({
      db: deps.db,
      log: deps.log,
      settings: deps.settings.ledger,
      meter: deps.metrics && usageMeter(deps.metrics),
    });
    this.budgets = new BudgetLookup({
      ttlMs: deps.settings.budgetLookupTtlMs,
      defaultUserLimitMicros: deps.settings.defaultUserBudgetMicros,
    });
    this.embeddings = new EmbeddingRouter({
      settings: deps.settings,
      registry: this.registry,
      breakers: this.breakers,
      ledger: this.ledger,
      budgets: this.budgets,
      redaction: this.redaction,
    });
  }

  /** Drops what this instance remembers of a workspace (its settings changed here). */
  forgetWorkspace(workspaceId: string): void {
    this.redaction.forget(workspaceId);
  }

  /** Writes the usage rows still waiting; the app calls it on close, before the pool closes. */
  close(): Promise<void> {
    return this.ledger.flush();
  }

  /** Vectors for texts from the `embed` chain (same budgets, breakers, retries and ledger). */
  embed(ctx: Context, request: EmbedRequest): Promise<EmbedAnswer> {
    return this.embeddings.run(ctx, request);
  }

  /**
   * A model for one agent run (the assistant's turn): every call the agent
   * makes through it is routed, budgeted, filtered and ledgered like `run`.
   */
  agentModel(ctx: Context, request: AgentModelRequest): RoutedAgentModel {
    return new RoutedAgentModel(ctx, request, {
      settings: this.settings,
      registry: this.registry,
      breakers: this.breakers,
      ledger: this.ledger,
      budgets: this.budgets,
    });
  }

  /**
   * Screens a message the user just typed before a feature that does not go
   * through `run` (the assistant's agent) sends it out: 400 naming `field`
   * when the moderation endpoint flags it; nothing when the chain is offline.
   */
  async screenTyped(
    ctx: Context,
    input: {
      feature: AiFeature;
      field: string;
      text: string;
      workspaceId: string | null;
      signal?: AbortSignal | undefined;
    },
  ): Promise<void> {
    const chain = this.settings.routes[input.feature];
    if (!this.settings.moderation || !chain.some(screenedBefore)) return;
    const redact = await this.redaction.redacts(ctx.db, input.workspaceId, this.settings.redactPii);
    await this.screen(
      ctx,
      {
        feature: input.feature,
        moderation: { kind: "typed", field: input.field, text: input.text },
        ...(input.signal ? { signal: input.signal } : {}),
      },
      redact,
      [],
    );
  }

  async run(ctx: Context, request: AiRequest): Promise<AiAnswer> {
    const me = actingUser(ctx.actor);
    const chain = this.settings.routes[request.feature];
    // Only text that leaves the process is redacted; an offline chain needs no lookup.
    const redact = chain.some((ref) => this.registry.isExternal(ref.provider))
      ? await this.redaction.redacts(ctx.db, request.workspaceId, this.settings.redactPii)
      : this.settings.redactPii;
    const renders = new Map<boolean, RenderedPrompt>();
    // Stored text the moderation endpoint flagged: the answer and its ledger rows say so.
    const moderationFlags: string[] = [];
    const promptFor = (ref: ModelRef) => {
      const external = this.registry.isExternal(ref.provider) && redact;
      let prompt = renders.get(external);
      if (!prompt) {
        prompt = request.render(external);
        renders.set(external, prompt);
      }
      return moderationFlags.length > 0
        ? { ...prompt, flags: [...new Set([...prompt.flags, ...moderationFlags])] }
        : prompt;
    };
    let screened: Promise<boolean> | undefined;
    const walk = new ModelChain(ctx, {
      settings: this.settings,
      ledger: this.ledger,
      budgets: this.budgets,
      owner: { userId: me.userId, workspaceId: request.workspaceId },
    });
    const template = { id: request.template, version: templates[request.template].version };
    for (const ref of chain) {
      const prompt = promptFor(ref);
      // Hashed once per model: looked up now, written after the call.
      const key = this.cache ? cacheKey(ref, template, request.cacheInput) : undefined;
      const cached = key ? await this.fromCache(ctx, request, ref, prompt, key) : undefined;
      if (cached) return cached;
      if (screenedBefore(ref)) {
        screened ??= this.screen(ctx, request, redact, moderationFlags);
        if (!(await screened)) continue;
      }
      const maxCost = (price: Price) =>
        (request.validate ? 2 : 1) *
        costMicros(price, {
          inputTokens: Math.ceil(estimateTokens(prompt.system + prompt.user) * 1.25),
          outputTokens: request.maxOutputTokens,
        });
      const answered = await walk.attempt(ref, maxCost, (spent) =>
        this.answerWith(ctx, request, ref, prompt, { spent, redact, key }),
      );
      if (answered) return answered.value;
    }
    throw walk.exhausted(noTextModel);
  }

  /**
   * Screens the request's user text with the moderation endpoint (when
   * configured) before it leaves for an external model. False: external
   * models must not see it (stored text flagged). Typed text that is flagged
   * is refused. A moderation failure never blocks: the text goes out.
   */
  private async screen(
    ctx: Context,
    request: Pick<AiRequest, "feature" | "moderation" | "signal">,
    redact: boolean,
    flags: string[],
  ): Promise<boolean> {
    const settings = this.settings.moderation;
    if (!settings || !request.moderation) return true;
    const raw =
      request.moderation.kind === "typed"
        ? request.moderation.text
        : textsOf(request.moderation.value).join("\n");
    if (raw.trim() === "") return true;
    // The moderation endpoint is an external provider too: it gets the redacted text.
    const input = redact ? redactPii(raw) : raw;
    const verdict = await moderate(settings, input, {
      timeoutMs: this.settings.timeoutMs,
      signal: request.signal,
      log: ctx.log,
    });
    if (!verdict?.flagged) return true;
    ctx.log.info(
      { feature: request.feature, categories: verdict.categories },
      "moderation flagged the input",
    );
    if (request.moderation.kind === "typed") {
      throw validationFailed(request.moderation.field, "was flagged by content moderation");
    }
    flags.push("flagged_by_moderation");
    return false;
  }

  private async fromCache(
    ctx: Context,
    request: AiRequest,
    ref: ModelRef,
    prompt: RenderedPrompt,
    key: string,
  ): Promise<AiAnswer | undefined> {
    const started = performance.now();
    const hit = await this.cache?.get(key);
    if (!hit) return undefined;
    if (request.onDelta) {
      for (const chunk of hit.text.match(/\S+\s*/g) ?? []) request.onDelta(chunk);
    }
    this.record(ctx, request, ref, prompt, {
      usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0 },
      costMicros: 0,
      latencyMs: performance.now() - started,
      outcome: "cache_hit",
    });
    return {
      text: hit.text,
      provider: ref.provider,
      model: ref.model,
      cached: true,
      usage: { inputTokens: 0, outputTokens: 0, costMicros: 0 },
      flags: prompt.flags,
      template: { id: request.template, version: templates[request.template].version },
    };
  }

  /** Calls one model (with retries), validates and repairs its output, caches the answer. */
  private async answerWith(
    ctx: Context,
    request: AiRequest,
    ref: ModelRef,
    prompt: RenderedPrompt,
    call: { spent: { micros: number }; redact: boolean; key: string | undefined },
  ): Promise<AiAnswer> {
    const { spent, redact, key } = call;
    const first = await this.callWithRetries(ctx, request, ref, prompt, spent);
    let output = first;
    let total: CallOutput & { costMicros: number } = first;
    const problems = request.validate?.(first.text) ?? [];
    this.record(ctx, request, ref, prompt, {
      ...first,
      outcome: problems.length > 0 ? "invalid_output" : "ok",
    });
    if (problems.length > 0 && request.repair) {
      const external = this.registry.isExternal(ref.provider) && redact;
      const repairPrompt = request.repair(first.text, problems)(external);
      const second = await this.callWithRetries(ctx, request, ref, repairPrompt, spent);
      const remaining = request.validate?.(second.text) ?? [];
      this.record(ctx, request, ref, repairPrompt, {
        ...second,
        outcome: remaining.length > 0 ? "invalid_output" : "ok",
      });
      if (remaining.length > 0) {
        throw new DomainError(
          "upstream_error",
          `The model's answer was not valid after one repair: ${remaining.slice(0, 3).join("; ")}`,
        );
      }
      output = second;
      total = sumUsage(first, second);
    }
    const text = request.sanitize
      ? await filterLinks(output.text, this.settings.linkAllowlist)
      : output.text;
    if (this.cache && key) {
      await this.cache.set(key, ref, {
        text,
        inputTokens: total.usage.inputTokens,
        outputTokens: total.usage.outputTokens,
      });
    }
    return {
      text,
      provider: ref.provider,
      model: ref.model,
      cached: false,
      usage: {
        inputTokens: total.usage.inputTokens,
        outputTokens: total.usage.outputTokens,
        costMicros: total.costMicros,
      },
      flags: prompt.flags,
      template: { id: request.template, version: templates[request.template].version },
    };
  }

  private async callWithRetries(
    ctx: Context,
    request: AiRequest,
    ref: ModelRef,
    prompt: RenderedPrompt,
    spent: { micros: number },
  ): Promise<PricedOutput> {
    const breaker: CircuitBreaker | undefined =
      ref.provider === "local" ? undefined : this.breakers.for(ref.provider);
    const price = priceOf(this.settings, ref);
    const sanitizer = request.sanitize ? linkSanitizer(this.settings.linkAllowlist) : undefined;
    const onDelta =
      request.onDelta && sanitizer
        ? async (delta: string) => {
            const safe = await sanitizer.push(delta);
            if (safe) request.onDelta?.(safe);
          }
        : request.onDelta;
    return attemptModel<PricedOutput>({
      ref,
      breaker,
      settings: this.settings,
      signal: request.signal,
      log: ctx.log,
      failureMessage: "AI call failed",
      aborted: () => new DomainError("upstream_error", "The client went away"),
      attempt: async () => {
        const started = performance.now();
        try {
          const output = await callModel({
            model: this.registry.model(ref),
            prompt,
            maxOutputTokens: request.maxOutputTokens,
            timeoutMs: this.settings.timeoutMs,
            stream: request.stream,
            signal: request.signal,
            onDelta,
          });
          const rest = await sanitizer?.flush();
          if (rest) request.onDelta?.(rest);
          const cost = costMicros(price, output.usage);
          spent.micros += cost;
          return { value: { ...output, costMicros: cost, latencyMs: performance.now() - started } };
        } catch (error) {
          if (!(error instanceof AttemptFailed)) throw error;
          const partial = error.partialText
            ? costMicros(price, {
                inputTokens: estimateTokens(prompt.system + prompt.user),
                outputTokens: estimateTokens(error.partialText),
              })
            : 0;
          spent.micros += partial;
          this.record(ctx, request, ref, prompt, {
            usage: {
              inputTokens: error.partialText ? estimateTokens(prompt.system + prompt.user) : 0,
              outputTokens: estimateTokens(error.partialText),
              cachedTokens: 0,
            },
            costMicros: partial,
            latencyMs: performance.now() - started,
            outcome: outcomeOf(error.failure),
          });
          // Part of the answer already reached the client: another model cannot take over.
          const stop = error.forwarded
            ? new DomainError("upstream_error", "The AI provider failed while streaming")
            : undefined;
          return { failure: error.failure, ...(stop ? { stop } : {}) };
        }
      },
    });
  }

  private record(
    ctx: Context,
    request: AiRequest,
    ref: ModelRef,
    prompt: RenderedPrompt,
    call: {
      usage: CallOutput["usage"];
      costMicros: number;
      latencyMs: number;
      outcome: UsageEntry["outcome"];
    },
  ): void {
    this.ledger.record({
      userId: actingUser(ctx.actor).userId,
      workspaceId: request.workspaceId,
      requestId: ctx.requestId,
      feature: request.feature,
      ref,
      template: { id: prompt.templateId, version: prompt.templateVersion },
      ...call.usage,
      costMicros: call.costMicros,
      latencyMs: call.latencyMs,
      outcome: call.outcome,
      flags: prompt.flags,
      at: ctx.now(),
    });
  }
}

/**
 * Text is screened before it goes to a vendor. A self-hosted compatible
 * server is not screened: that would send OpenAI text that otherwise stays in-house.
 */
const screenedBefore = (ref: ModelRef) => ref.provider === "openai" || ref.provider === "anthropic";

function sumUsage(
  a: CallOutput & { costMicros: number },
  b: CallOutput & { costMicros: number },
): CallOutput & { costMicros: number } {
  return {
    text: b.text,
    usage: {
      inputTokens: a.usage.inputTokens + b.usage.inputTokens,
      outputTokens: a.usage.outputTokens + b.usage.outputTokens,
      cachedTokens: a.usage.cachedTokens + b.usage.cachedTokens,
    },
    costMicros: a.costMicros + b.costMicros,
  };
}
