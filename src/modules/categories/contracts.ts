import { z } from "zod";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";

const name = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters");
const color = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, "must be a hex colour like #3b82f6")
  .transform((value) => value.toLowerCase());

export const categorySchema = z
  .object({
    id: z.uuid(),
    workspaceId: z.uuid(),
    name: z.string(),
    color: z.string().nullable(),
    position: z.number(),
    taskCount: z.number().int().meta({ description: "Live (not deleted) tasks in the category" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Category" });

export type Category = z.infer<typeof categorySchema>;

export const categoryPageSchema = pageSchema(categorySchema, "CategoryPage");

export const createCategorySchema = z
  .strictObject({
    name,
    color: color.nullable().optional(),
    position: z.number().finite().optional(),
    workspaceId: z.uuid().optional().meta({ description: "Defaults to your personal workspace" }),
  })
  .meta({ id: "CreateCategory" });

export const updateCategorySchema = z
  .strictObject({
    name: name.optional(),
    color: color.nullable().optional(),
    position: z.number().finite().optional(),
  })
  .meta({ id: "UpdateCategory" });

export const listCategoriesQuerySchema = z.strictObject({
  workspaceId: z.uuid().optional(),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export type CreateCategoryInput = z.infer<typeof createCategorySchema>;
export type UpdateCategoryInput = z.infer<typeof updateCategorySchema>;
export type ListCategoriesQuery = z.infer<typeof listCategoriesQuerySchema>;
