import { v7 as uuidv7 } from "uuid";
import type { Context } from "../../platform/context.ts";
import { toDomainError } from "../../platform/http/problem.ts";
import type { PlannedCall, ToolBox, ToolOutcome } from "./agent.ts";
import type { ToolCallRecord } from "./contracts.ts";
import { allTools, findTool, runTool, type Tool } from "./tools.ts";

export const turnLimits = {
  /** Tool calls one turn may make, reads included. */
  maxToolCalls: 12,
  /** Changes one turn may make before the rest waits for approval ("bulk"). */
  changesWithoutApproval: 3,
};

type Failure = { code: string; detail: string };

/** What a streaming client is told as the turn's tools run. */
export type ToolEvent =
  | { type: "tool_call"; call: PlannedCall }
  | { type: "tool_result"; record: ToolCallRecord };

/**
 * The tools of one chat turn, as the agent sees them. Every call runs as the
 * caller through `runTool` (scopes, validation, the verbs' own rules); a
 * delete, or any change beyond the third in a turn, is not run but held for
 * the user's approval. The agent cannot tell the box to skip that. Calls run
 * one at a time, in the order they arrive, so calls an agent makes in
 * parallel are counted against the limits exactly like sequential ones.
 */
export class TurnToolBox implements ToolBox {
  /** Every call of the turn with its outcome, in order. */
  readonly records: ToolCallRecord[] = [];
  readonly #ctx: Context;
  readonly #onEvent: ((event: ToolEvent) => void) | undefined;
  readonly tools: readonly Tool[] = allTools;
  #changes = 0;
  #held: { id: string; calls: PlannedCall[] } | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: Context, options: { onEvent?: (event: ToolEvent) => void } = {}) {
    this.#ctx = ctx;
    this.#onEvent = options.onEvent;
  }

  only(names: readonly string[]): ToolBox {
    return this.#view(this.tools.filter((tool) => names.includes(tool.name)));
  }

  #view(offered: readonly Tool[]): ToolBox {
    const view: ToolBox = {
      tools: offered,
      records: this.records,
      call: async (call) => {
        const [outcome] = await view.callAll([call]);
        if (!outcome) throw new Error("callAll returned no outcome");
        return outcome;
      },
      callAll: (calls) => this.#enqueue(calls, offered),
      only: (names) => this.#view(offered.filter((tool) => names.includes(tool.name))),
    };
    return view;
  }

  /** The calls held for approval this turn, if any. */
  get held(): { id: string; calls: PlannedCall[] } | null {
    return this.#held;
  }

  async call(call: PlannedCall): Promise<ToolOutcome> {
    const [outcome] = await this.callAll([call]);
    if (!outcome) throw new Error("callAll returned no outcome");
    return outcome;
  }

  callAll(calls: PlannedCall[]): Promise<ToolOutcome[]> {
    return this.#enqueue(calls, this.tools);
  }

  #enqueue(calls: PlannedCall[], offered: readonly Tool[]): Promise<ToolOutcome[]> {
    const turn = this.#queue.then(() => this.#callAll(calls, offered));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #callAll(calls: PlannedCall[], offered: readonly Tool[]): Promise<ToolOutcome[]> {
    const changes = calls.filter((call) => findTool(call.name)?.effect !== "read");
    const hold =
      this.#held !== null ||
      changes.some((call) => findTool(call.name)?.effect === "destructive") ||
      this.#changes + changes.length > turnLimits.changesWithoutApproval;
    const outcomes: ToolOutcome[] = [];
    for (const call of calls) {
      this.#onEvent?.({ type: "tool_call", call });
      outcomes.push(await this.#one(call, hold, offered));
      const record = this.records.at(-1);
      if (record) this.#onEvent?.({ type: "tool_result", record });
    }
    return outcomes;
  }

  async #one(call: PlannedCall, hold: boolean, offered: readonly Tool[]): Promise<ToolOutcome> {
    if (this.records.length >= turnLimits.maxToolCalls) {
      return this.#fail(call, {
        code: "rate_limited",
        detail: `At most ${turnLimits.maxToolCalls} tool calls per turn`,
      });
    }
    const tool = offered.find((candidate) => candidate.name === call.name);
    if (!tool) {
      return this.#fail(
        call,
        findTool(call.name)
          ? { code: "forbidden", detail: `${call.name} is not available for this request` }
          : { code: "not_found", detail: `No tool named ${call.name}` },
      );
    }
    if (tool.effect !== "read" && hold) {
      this.#held ??= { id: uuidv7(), calls: [] };
      this.#held.calls.push(call);
      this.records.push({ ...call, status: "pending_approval" });
      return { status: "pending_approval", approvalId: this.#held.id };
    }
    const outcome = await runRecorded(this.#ctx, tool, call);
    this.records.push(outcome.record);
    if (outcome.record.status === "succeeded" && tool.effect !== "read") this.#changes += 1;
    return outcome.outcome;
  }

  #fail(call: PlannedCall, error: Failure): ToolOutcome {
    this.records.push({ ...call, status: "failed", error });
    return { status: "failed", error };
  }
}

/**
 * Runs one call as the caller and describes the outcome both ways: for the
 * agent, and for the record kept with the message. Domain errors become
 * failed calls the agent can explain; 5xx details stay in the log.
 */
export async function runRecorded(
  ctx: Context,
  tool: Tool,
  call: PlannedCall,
): Promise<{ outcome: ToolOutcome; record: ToolCallRecord }> {
  try {
    const result = await runTool(ctx, tool, call.input);
    return {
      outcome: { status: "succeeded", result },
      record: { ...call, status: "succeeded", result },
    };
  } catch (error) {
    const problem = toDomainError(error);
    if (problem.status >= 500) ctx.log.error({ err: error, tool: tool.name }, "tool failed");
    const failure = { code: problem.code, detail: problem.message };
    return {
      outcome: { status: "failed", error: failure },
      record: { ...call, status: "failed", error: failure },
    };
  }
}
