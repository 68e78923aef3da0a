import {
  Agent,
  type AgentInputItem,
  MaxTurnsExceededError,
  type RunItem,
  Runner,
  type Tool as SdkTool,
  setTracingDisabled,
  tool,
} from "@openai/agents";
import { aisdk } from "@openai/agents-extensions/ai-sdk";
import { DateTime } from "luxon";
import { z } from "zod";
import { actingUser } from "../../platform/auth/actor.ts";
import { DomainError } from "../../platform/http/errors.ts";
import { OfflineFallback, TurnTokensExhausted } from "../ai/agent-model.ts";
import type { AiGateway } from "../ai/gateway.ts";
import { renderPrompt, templates } from "../ai/prompts.ts";
import type { AgentReply, AgentTurn, AssistantAgent, ToolBox } from "./agent.ts";
import { type FenceOptions, historyItems, toolOutcomeText } from "./model-input.ts";
import { offlineAgent } from "./offline-agent.ts";
import { toolsForRequest } from "./tool-selection.ts";
import type { Tool } from "./tools.ts";

// Traces would carry users' tasks to the Agents SDK's default exporter
// (OpenAI's tracing service); the ledger and the logs are our record.
setTracingDisabled(true);

const runner = new Runner({ tracingDisabled: true, traceIncludeSensitiveData: false });

/**
 * The tool's input schema as JSON Schema, for any vendor (not OpenAI's
 * strict mode, which our optional fields do not fit). The tool box checks
 * the input against the Zod schema itself.
 */
function parametersOf(definition: Tool) {
  const { $schema: _schema, ...schema } = z.toJSONSchema(definition.input, { io: "input" });
  return schema as never;
}

/** The model's arguments as a tool input; anything but an object fails the tool's validation. */
function asInput(input: unknown): Record<string, unknown> {
  return input && typeof input === "object" && !Array.isArray(input)
    ? (input as Record<string, unknown>)
    : {};
}

/** The turn's reply: the text of every message the model wrote, in order. */
function replyText(items: RunItem[]): string {
  return items
    .flatMap((item) =>
      item.type === "message_output_item"
        ? [
            item.rawItem.content
              .map((part) => (part.type === "output_text" ? part.text : ""))
              .join(""),
          ]
        : [],
    )
    .filter((text) => text.trim() !== "")
    .join("\n\n");
}

/**
 * One turn driven by a model through the OpenAI Agents SDK. The model comes
 * from the AI layer (`gateway.agentModel`: the `chat` chain with fallback,
 * budgets, the ledger and output filtering) through the SDK's AI SDK
 * adapter. It sees only the tools the message needs, and every call goes
 * through the turn's tool box, so scopes, limits and approvals hold whatever
 * it decides. Tool results reach it only as fenced data.
 */
class ModelTurn {
  readonly #gateway: AiGateway;
  readonly #turn: AgentTurn;
  readonly #tools: ToolBox;
  readonly #fence: FenceOptions;

  constructor(gateway: AiGateway, turn: AgentTurn) {
    this.#gateway = gateway;
    this.#turn = turn;
    this.#tools = turn.tools.only(toolsForRequest(turn.message, turn.history));
    // Every model this agent runs on is a vendor's: the offline one never drives it.
    this.#fence = { external: gateway.settings.redactPii };
  }

  async respond(): Promise<AgentReply> {
    const limits = this.#gateway.settings.chat;
    const model = this.#gateway.agentModel(this.#turn.ctx, {
      feature: "chat",
      template: { id: "chat", version: templates.chat.version },
      workspaceId: null,
      limits,
      signal: this.#turn.signal,
    });
    const agent = new Agent({
      name: "Taskpilot assistant",
      instructions: this.#instructions(),
      model: aisdk(model),
      modelSettings: { maxTokens: limits.maxOutputTokens },
      tools: this.#tools.tools.map((definition) => this.#sdkTool(definition)),
    });
    const input: AgentInputItem[] = [
      ...historyItems(this.#turn.history, this.#fence),
      { role: "user", content: this.#turn.message },
    ];
    try {
      return { text: (await this.#run(agent, input, limits.maxSteps)) || "Done." };
    } catch (error) {
      return this.#stopped(error, limits.maxSteps);
    }
  }

  async #run(agent: Agent, input: AgentInputItem[], maxTurns: number): Promise<string> {
    const options = {
      maxTurns,
      ...(this.#turn.signal ? { signal: this.#turn.signal } : {}),
      // One call at a time, in order: the tool box counts changes as they come.
      toolExecution: { maxFunctionToolConcurrency: 1 },
      // A tool that was not offered is refused to the model and recorded by the tool box,
      // not a crash. The SDK does not pass the call's arguments here, so the record has none.
      toolNotFoundBehavior: "return_error_to_model" as const,
      toolErrorFormatter: async ({ kind, toolName }: { kind: string; toolName: string }) =>
        kind === "tool_not_found"
          ? toolOutcomeText(await this.#tools.call({ name: toolName, input: {} }), this.#fence)
          : undefined,
    };
    const onDelta = this.#turn.onDelta;
    if (!onDelta) {
      const result = await runner.run(agent, input, options);
      this.#turn.signal?.throwIfAborted();
      return replyText(result.newItems);
    }
    const result = await runner.run(agent, input, { ...options, stream: true });
    // Messages are joined by a blank line in the reply, so the stream sends one too.
    let written = false;
    let separate = false;
    let lastItem: string | undefined;
    for await (const event of result) {
      if (event.type !== "raw_model_stream_event") continue;
      const data = event.data;
      if (data.type === "response_started") separate = written;
      if (data.type !== "output_text_delta" || data.delta === "") continue;
      if (written && (separate || data.itemId !== lastItem)) onDelta("\n\n");
      onDelta(data.delta);
      written = true;
      separate = false;
      lastItem = data.itemId;
    }
    await result.completed;
    if (result.error) throw result.error;
    this.#turn.signal?.throwIfAborted();
    return replyText(result.newItems);
  }

  #sdkTool(definition: Tool): SdkTool {
    return tool({
      name: definition.name,
      description: definition.description,
      parameters: parametersOf(definition),
      strict: false,
      execute: async (input) =>
        toolOutcomeText(
          await this.#tools.call({ name: definition.name, input: asInput(input) }),
          this.#fence,
        ),
    });
  }

  #instructions(): string {
    const me = actingUser(this.#turn.ctx.actor);
    const now = DateTime.fromJSDate(this.#turn.ctx.now(), { zone: me.timezone });
    const prompt = renderPrompt(
      "chat",
      { today: now.toISODate() ?? "", weekday: now.toFormat("cccc"), timezone: me.timezone },
      this.#fence,
    );
    return `${prompt.system}\n\n${prompt.user}`;
  }

  /**
   * A turn that could not finish. With nothing done yet, a chain that falls
   * through to `local` hands the turn to the offline assistant and other
   * failures are the request's error; once tools have run, the reply says
   * why it stopped, so what was done is stored with the conversation.
   */
  async #stopped(error: unknown, maxSteps: number): Promise<AgentReply> {
    const cause = rootCause(error);
    const ran = this.#turn.tools.records.length;
    if (cause instanceof OfflineFallback && ran === 0) {
      this.#turn.ctx.log.warn({ reason: cause.message }, "chat model unavailable; offline agent");
      return offlineAgent.respond(this.#turn);
    }
    const done = ran > 0 ? ` The tool calls made so far are listed with this reply.` : "";
    if (this.#turn.signal?.aborted) return { text: `Stopped: the client went away.${done}` };
    if (error instanceof MaxTurnsExceededError) {
      return { text: `I stopped after ${maxSteps} steps, the most one message may take.${done}` };
    }
    if (cause instanceof TurnTokensExhausted) {
      return { text: `I stopped: this message used up its token allowance.${done}` };
    }
    if (ran === 0) throw cause;
    if (cause instanceof DomainError) {
      this.#turn.ctx.log.warn({ err: cause }, "chat turn stopped after tool calls");
      return { text: `I had to stop: the AI provider did not answer.${done}` };
    }
    this.#turn.ctx.log.error({ err: cause }, "chat turn failed after tool calls");
    return { text: `I had to stop because of an error on our side.${done}` };
  }
}

/** The error the SDK wrapped, if it wrapped one. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    if (
      current instanceof DomainError ||
      current instanceof OfflineFallback ||
      current instanceof TurnTokensExhausted
    ) {
      return current;
    }
    const next = (current as { cause?: unknown } | null)?.cause;
    if (next === undefined) return error;
    current = next;
  }
  return error;
}

/** The assistant on a model from the AI layer's `chat` chain. */
export function modelAgent(gateway: AiGateway): AssistantAgent {
  return {
    name: "model",
    respond: (turn) => new ModelTurn(gateway, turn).respond(),
    // The message goes to a vendor: screened first when moderation is on.
    screen: (ctx, message, signal) =>
      gateway.screenTyped(ctx, {
        feature: "chat",
        field: "message",
        text: message,
        workspaceId: null,
        signal,
      }),
  };
}
