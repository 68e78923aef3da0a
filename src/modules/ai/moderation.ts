import type { FastifyBaseLogger } from "fastify";
import { z } from "zod";
import type { AiSettings } from "./settings.ts";

/**
 * OpenAI's moderation endpoint (`POST {OPENAI_BASE_URL}/moderations`). The
 * AI SDK has no moderation API, so this is a small fetch with the same key.
 * It screens text before it leaves for an external model; it never blocks a
 * feature by failing: a timeout, a 5xx or an unreadable answer is logged and
 * counts as "not screened".
 */

export type ModerationVerdict = { flagged: boolean; categories: string[] };

const answerSchema = z.object({
  results: z
    .array(
      z.object({
        flagged: z.boolean(),
        categories: z.record(z.string(), z.boolean().nullable()).optional(),
      }),
    )
    .min(1),
});

export async function moderate(
  settings: NonNullable<AiSettings["moderation"]>,
  input: string,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; log: FastifyBaseLogger },
): Promise<ModerationVerdict | null> {
  const signals = [AbortSignal.timeout(options.timeoutMs)];
  if (options.signal) signals.push(options.signal);
  try {
    const response = await fetch(`${settings.baseUrl.replace(/\/+$/, "")}/moderations`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${settings.apiKey}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: settings.model, input }),
      signal: AbortSignal.any(signals),
    });
    if (!response.ok) {
      options.log.warn({ status: response.status }, "moderation call failed; not screened");
      return null;
    }
    const { results } = answerSchema.parse(await response.json());
    const categories = new Set<string>();
    for (const result of results) {
      for (const [name, hit] of Object.entries(result.categories ?? {})) {
        if (hit) categories.add(name);
      }
    }
    return { flagged: results.some((result) => result.flagged), categories: [...categories] };
  } catch (error) {
    const reason = error instanceof Error ? error.name : "unknown";
    options.log.warn({ reason }, "moderation call failed; not screened");
    return null;
  }
}
