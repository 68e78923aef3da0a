import { z } from "zod";
import { queryInteger, uuid } from "../../platform/http/fields.ts";
import { taskSchema } from "../tasks/contracts.ts";

export const searchModes = ["keyword", "semantic", "hybrid"] as const;
export type SearchMode = (typeof searchModes)[number];

export const searchQuerySchema = z.strictObject({
  q: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(200, "must be at most 200 characters")
    .meta({ description: "What to look for, in words" }),
  mode: z
    .enum(searchModes, { error: "must be keyword, semantic or hybrid" })
    .default("hybrid")
    .meta({
      description:
        "keyword: full text plus typo-tolerant title matches; semantic: nearest embeddings of " +
        "title + description; hybrid: both, fused by reciprocal rank. Falls back to keyword " +
        "when embeddings are unavailable (the answer's `mode` says what ran).",
    }),
  status: z
    .enum(["open", "completed", "all"], { error: "must be open, completed or all" })
    .default("all"),
  workspaceId: uuid.optional(),
  limit: queryInteger({ min: 1, max: 100, default: 20 }),
});

export type SearchQuery = z.infer<typeof searchQuerySchema>;

export const searchHitSchema = z.object({
  task: taskSchema,
  score: z.number().meta({
    description:
      "Higher is better; comparable within one answer only (keyword: text rank + title " +
      "similarity; semantic: cosine similarity; hybrid: reciprocal-rank-fusion score)",
  }),
});

export const searchResultSchema = z
  .object({
    data: z.array(searchHitSchema),
    mode: z.enum(searchModes).meta({ description: "The mode that really ran" }),
    model: z.string().nullable().meta({
      description: 'The embedding model ("provider:model") of a semantic or hybrid search',
    }),
    reason: z
      .string()
      .nullable()
      .meta({ description: "Why the mode differs from the one asked for, if it does" }),
  })
  .meta({ id: "SearchResult" });

export type SearchResult = z.infer<typeof searchResultSchema>;
