import { BudgetExceeded, budgetedPool } from "../../platform/worker-pool.ts";
import type { LinkAnswer, LinkJob } from "./link-filter-worker.ts";
import { escapeMarkup, type LinkReader, mayStartEdit, StreamingSanitizer } from "./output-links.ts";

/**
 * How long one parse of a model's text may take in the worker, counted from
 * when it is handed to a started pool, waiting in its queue included. The
 * worst text found takes ~280 ms (6,000 characters of list items with a
 * "["); a realistic answer ~10 ms.
 */
export const linkFilterBudgetMs = 1_000;

/**
 * The link filter's parses run here, in a worker thread, so a model's
 * answer never holds the event loop: micromark is ~10-50 µs a character on
 * list-heavy text. Text that is not parsed within the budget is treated as
 * text too long to read: it goes out escaped, without links or tags.
 */
const run = budgetedPool<LinkJob, LinkAnswer>({
  filename: new URL("./link-filter-worker.ts", import.meta.url),
  name: "linkJob",
  warmup: { kind: "filter", text: "[a](https://taskpilot.example)", allowlist: [] },
});

async function inWorker(job: LinkJob, budgetMs: number): Promise<LinkAnswer | null> {
  try {
    return await run(job, budgetMs);
  } catch (error) {
    if (error instanceof BudgetExceeded) return null;
    throw error;
  }
}

/** A `LinkReader` that parses in the pool, each parse within `budgetMs`. */
export function workerReader(budgetMs = linkFilterBudgetMs): LinkReader {
  return {
    read: async (text, allowlist) => {
      const answer = await inWorker({ kind: "read", text, allowlist }, budgetMs);
      return answer && "reading" in answer ? answer.reading : null;
    },
    filter: async (text, allowlist) => {
      // Most answers have no "[" or "<": nothing to parse, no trip to the worker.
      if (!mayStartEdit.test(text)) return text;
      const answer = await inWorker({ kind: "filter", text, allowlist }, budgetMs);
      return answer && "text" in answer ? answer.text : escapeMarkup(text);
    },
  };
}

const reader = workerReader();

/** `sanitizeOutput`, parsed off the event loop. */
export const filterLinks = (text: string, allowlist: readonly string[]) =>
  reader.filter(text, allowlist);

/** A `StreamingSanitizer` whose parses run off the event loop. */
export const linkSanitizer = (allowlist: readonly string[]) =>
  new StreamingSanitizer(allowlist, reader);
