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

/**
 * The tools of one chat turn, as the agent sees them. Every call runs as the
 * caller through `runTool` (scopes, validation, the verbs' own rules); a
 * delete, or any change beyond the third in a turn, is not run but held for
 * the user's approval. The agent cannot tell the box to skip that.
 */
export class TurnToolBox implements ToolBox {
  readonly tools: readonly Tool[] = allTools;
  /** Every call of the turn with its outcome, in order. */
  readonly records: ToolCallRecord[] = [];
  readonly #ctx: Context;
  #changes = 0;
  #held: { id: string; calls: PlannedCall[] } | null = null;

  constructor(ctx: Context) {
    this.#ctx = ctx;
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

  async callAll(calls: PlannedCall[]): Promise<ToolOutcome[]> {
    const changes = calls.filter((call) => findTool(call.name)?.effect !== "read");
    const hold =
      this.#held !== null ||
      changes.some((call) => findTool(call.name)?.effect === "destructive") ||
      this.#changes + changes.length > turnLimits.changesWithoutApproval;
    const outcomes: ToolOutcome[] = [];
    for (const call of calls) outcomes.push(await this.#one(call, hold));
    return outcomes;
  }

  async #one(call: PlannedCall, hold: boolean): Promise<ToolOutcome> {
    const tool = findTool(call.name);
    if (this.records.length >= turnLimits.maxToolCalls) {
      return this.#fail(call, {
        code: "rate_limited",
        detail: `At most ${turnLimits.maxToolCalls} tool calls per turn`,
      });
    }
    if (!tool) return this.#fail(call, { code: "not_found", detail: `No tool named ${call.name}` });
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
