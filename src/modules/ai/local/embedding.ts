import type {
  EmbeddingModelV4,
  EmbeddingModelV4CallOptions,
  EmbeddingModelV4Result,
} from "@ai-sdk/provider";
import { localEmbeddingModelId } from "../settings.ts";
import { estimateTokens } from "./model.ts";

/** Every vector of the offline model has this many dimensions. */
export const localEmbeddingDimensions = 512;

/**
 * The built-in offline embedding model, implemented against the AI SDK's
 * embedding model specification (v4) like a vendor's model.
 *
 * It is LEXICAL, not semantic: a hashed bag of words, word stems and
 * character trigrams ("feature hashing"), L2-normalised. Two texts are close
 * when they share words, word forms ("renewing" / "renewal") or most of a
 * word's letters (typos: "aplication" / "application"). It knows no
 * synonyms: "car" and "automobile" are unrelated to it. It is deterministic,
 * free and needs no network, so search degrades to "fuzzy keyword" offline.
 */
export class LocalEmbeddingModel implements EmbeddingModelV4 {
  readonly specificationVersion = "v4";
  readonly provider = "local";
  readonly modelId = localEmbeddingModelId;
  readonly maxEmbeddingsPerCall = 2048;
  readonly supportsParallelCalls = true;

  async doEmbed(options: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    options.abortSignal?.throwIfAborted();
    return {
      embeddings: options.values.map(hashedEmbedding),
      usage: { tokens: options.values.reduce((sum, value) => sum + estimateTokens(value), 0) },
      warnings: [],
    };
  }
}

// Words that carry no meaning of their own; they would make every text look alike.
const stopWords = new Set(
  (
    "a an and are as at be but by do for from has have i if in into is it its me my no not of " +
    "on or our so than that the their then there these this to up was we were will with you your"
  ).split(" "),
);

const suffixes: Array<[string, string]> = [
  ["ational", "ate"],
  ["ization", "ize"],
  ["iveness", "ive"],
  ["fulness", "ful"],
  ["ations", "ate"],
  ["ation", "ate"],
  ["ments", ""],
  ["ment", ""],
  ["ness", ""],
  ["ings", ""],
  ["ing", ""],
  ["ies", "y"],
  ["ied", "y"],
  ["edly", ""],
  ["ers", ""],
  ["er", ""],
  ["ed", ""],
  ["ly", ""],
  ["es", ""],
  ["s", ""],
];

/** A crude English stem (enough to bring word forms together; never shorter than 3 letters). */
export function stem(word: string): string {
  for (const [suffix, replacement] of suffixes) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      return word.slice(0, word.length - suffix.length) + replacement;
    }
  }
  return word;
}

/** Lower-cased words without accents; stop words only when nothing else is left. */
export function wordsOf(text: string): string[] {
  const words =
    text
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const meaningful = words.filter((word) => word.length > 1 && !stopWords.has(word));
  return meaningful.length > 0 ? meaningful : words;
}

/** FNV-1a, 32 bits: a fast, stable hash (the vectors must not change between releases). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const weights = { word: 1, stem: 0.7, trigram: 0.35 };

export function hashedEmbedding(text: string): number[] {
  const vector = new Array<number>(localEmbeddingDimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const hash = fnv1a(feature);
    // The sign comes from another bit, so collisions cancel out on average.
    const sign = (hash & 0x80000000) === 0 ? 1 : -1;
    const index = hash % localEmbeddingDimensions;
    vector[index] = (vector[index] ?? 0) + sign * weight;
  };
  for (const word of wordsOf(text)) {
    add(`w:${word}`, weights.word);
    add(`s:${stem(word)}`, weights.stem);
    const padded = `^${word}$`;
    for (let index = 0; index + 3 <= padded.length; index++) {
      add(`t:${padded.slice(index, index + 3)}`, weights.trigram);
    }
  }
  const norm = Math.hypot(...vector);
  // A text without a single letter or digit still needs a unit vector (cosine of 0 is undefined).
  if (norm === 0) return vector.map((_, index) => (index === 0 ? 1 : 0));
  return vector.map((value) => value / norm);
}
