import { Counter, type Registry } from "prom-client";
import type { UsageEntry } from "./ledger.ts";

/**
 * Counts what the ledger records, for `/metrics`: model calls by feature,
 * provider and outcome, their tokens and their cost. The ledger rows are the
 * record per user; these are the instance's running totals for dashboards
 * and alerts (a rising `error` or `fallback` share, spend per hour).
 */
export function usageMeter(registry: Registry): (entry: UsageEntry) => void {
  const registers = [registry];
  const calls = new Counter({
    name: "taskpilot_ai_calls_total",
    help: "Model calls by feature, provider and outcome",
    labelNames: ["feature", "provider", "outcome"] as const,
    registers,
  });
  const tokens = new Counter({
    name: "taskpilot_ai_tokens_total",
    help: "Model tokens by feature, provider and direction (input, output)",
    labelNames: ["feature", "provider", "direction"] as const,
    registers,
  });
  const cost = new Counter({
    name: "taskpilot_ai_cost_usd_total",
    help: "What model calls cost at the configured prices, in USD, by feature and provider",
    labelNames: ["feature", "provider"] as const,
    registers,
  });
  return (entry) => {
    const { feature } = entry;
    const provider = entry.ref.provider;
    calls.inc({ feature, provider, outcome: entry.outcome });
    if (entry.inputTokens > 0) {
      tokens.inc({ feature, provider, direction: "input" }, entry.inputTokens);
    }
    if (entry.outputTokens > 0) {
      tokens.inc({ feature, provider, direction: "output" }, entry.outputTokens);
    }
    if (entry.costMicros > 0) cost.inc({ feature, provider }, entry.costMicros / 1_000_000);
  };
}
