import type { Reading } from "./output-links.ts";
import { editsOf, sanitizeOutput } from "./output-links.ts";

export type LinkJob = { kind: "read" | "filter"; text: string; allowlist: readonly string[] };
export type LinkAnswer = { reading: Reading | null } | { text: string };

/**
 * Runs in a worker thread of `link-filter.ts`'s pool: one parse of a
 * model's text, `editsOf` ("read") or `sanitizeOutput` ("filter").
 */
export function linkJob(job: LinkJob): LinkAnswer {
  return job.kind === "read"
    ? { reading: editsOf(job.text, job.allowlist) }
    : { text: sanitizeOutput(job.text, job.allowlist) };
}
