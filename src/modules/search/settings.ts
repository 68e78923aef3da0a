/** Knobs of search and its embedding queue; tests narrow them. */
export type SearchSettings = {
  /** An edit waits this long for the next one before its text is embedded. */
  debounceMs: number;
  /** Jobs claimed (and texts embedded) per round. */
  batchSize: number;
  /** How long a claim holds a job; a crashed worker's jobs come back after it. */
  leaseMs: number;
  /** Without a known due time the worker still looks for jobs this often. */
  idlePollMs: number;
  /** How often to look for live tasks without a fresh vector, and how many to queue at once. */
  sweepIntervalMs: number;
  sweepLimit: number;
  /** Failed embeddings are retried with backoff from `retryBaseMs`, then dropped. */
  maxAttempts: number;
  retryBaseMs: number;
  /** Semantic hits below this cosine similarity are noise, not matches. */
  minSimilarity: number;
  /** Start the background worker (tests may drain it by hand instead). */
  worker: boolean;
};

export const defaultSearchSettings: SearchSettings = {
  debounceMs: 2_000,
  batchSize: 32,
  leaseMs: 5 * 60_000,
  idlePollMs: 30_000,
  sweepIntervalMs: 10 * 60_000,
  sweepLimit: 1_000,
  maxAttempts: 5,
  retryBaseMs: 10_000,
  minSimilarity: 0.15,
  worker: true,
};
