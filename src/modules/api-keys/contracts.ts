import { z } from "zod";
import { scopes } from "../../platform/auth/scopes.ts";
import { uuid } from "../../platform/http/fields.ts";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";

const scopeSchema = z.enum(scopes, { error: `must be one of ${scopes.join(", ")}` });

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    start: z.string().meta({ description: "The key's first characters, to recognise it by" }),
    scopes: z.array(scopeSchema),
    workspaceId: z
      .uuid()
      .nullable()
      .meta({ description: "The one workspace the key can see; null: all of yours" }),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable().meta({ description: "Updated at most once a minute" }),
    expiresAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "ApiKey" });

export type ApiKey = z.infer<typeof apiKeySchema>;

export const createdApiKeySchema = apiKeySchema
  .extend({
    key: z.string().meta({
      description: "The key itself, sent as `x-api-key`. Shown only in this answer: store it now.",
      examples: ["tp_3q2-7wW0kq3VtW9m0aUuZsJ4cQmGQp9u8X1yK6eLh2A"],
    }),
  })
  .meta({ id: "CreatedApiKey" });

export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export const apiKeyPageSchema = pageSchema(apiKeySchema, "ApiKeyPage");

export const createApiKeySchema = z
  .strictObject({
    name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters"),
    scopes: z
      .array(scopeSchema)
      .min(1, "must name at least one scope")
      .max(scopes.length)
      .transform((given) => [...new Set(given)]),
    expiresInDays: z
      .number({ error: "must be a whole number of days between 1 and 365" })
      .int("must be a whole number of days")
      .min(1, "must be between 1 and 365")
      .max(365, "must be between 1 and 365")
      .optional()
      .meta({ description: "Without it the key lives until it is revoked" }),
    workspaceId: uuid
      .optional()
      .meta({ description: "Bind the key to one workspace you belong to" }),
  })
  .meta({ id: "CreateApiKey" });

export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;

export const listApiKeysQuerySchema = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export type ListApiKeysQuery = z.infer<typeof listApiKeysQuerySchema>;
