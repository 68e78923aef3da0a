import { z } from "zod";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";

export const activitySchema = z
  .object({
    id: z.uuid(),
    type: z.string().meta({ examples: ["task.created", "task.completed"] }),
    actor: z.object({
      type: z.enum(["user", "apiKey", "agent", "system"]),
      id: z.string().nullable(),
      name: z.string().nullable(),
    }),
    entity: z.object({ type: z.string(), id: z.uuid(), title: z.string().nullable() }),
    changes: z
      .record(z.string(), z.unknown())
      .meta({ description: "Per changed field: { from, to }; on creation the initial values" }),
    workspaceId: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "Activity" });

export type Activity = z.infer<typeof activitySchema>;

export const activityPageSchema = pageSchema(activitySchema, "ActivityPage");

export const activityQuerySchema = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});
