import { z } from "zod";
import { uuid } from "../../platform/http/fields.ts";
import { pendingApprovalSchema, toolCallSchema } from "../assistant/contracts.ts";
import { taskPriorities } from "../tasks/schema.ts";

/**
 * The task shape of the "Evolution of Todo" hackathon spec, which many front
 * ends were written against: snake_case, a `completed` flag and the owner's
 * id. Fields beyond the spec's (priority, due_date, tags) are extensions.
 */
export const compatTaskSchema = z
  .object({
    id: z.uuid(),
    user_id: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    completed: z.boolean(),
    priority: z.enum(taskPriorities),
    due_date: z.iso.datetime().nullable(),
    tags: z.array(z.string()),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: "CompatTask" });

export type CompatTask = z.infer<typeof compatTaskSchema>;

export const compatUserParams = z.strictObject({ user_id: uuid });
export const compatTaskParams = z.strictObject({
  user_id: uuid,
  id: uuid,
});

export const compatListQuery = z.strictObject({
  status: z.enum(["all", "pending", "completed"]).default("all"),
  sort: z.enum(["created", "title", "due_date"]).default("created"),
});

const title = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(200, "must be at most 200 characters");
const description = z.string().max(10_000, "must be at most 10000 characters").nullable();
const dueDate = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }).nullable();
const tags = z
  .array(z.string().trim().min(1, "must not be empty").max(50, "must be at most 50 characters"))
  .max(20, "must have at most 20 tags");

export const compatCreateBody = z
  .strictObject({
    title,
    description: description.optional(),
    priority: z.enum(taskPriorities).optional(),
    due_date: dueDate.optional(),
    tags: tags.optional(),
  })
  .meta({ id: "CompatCreateTask" });

/** PUT replaces the editable fields: what is left out goes back to its default. */
export const compatReplaceBody = compatCreateBody
  .extend({ completed: z.boolean().optional() })
  .meta({ id: "CompatReplaceTask" });

export const compatChatBody = z
  .strictObject({
    conversation_id: z.uuid().optional(),
    message: z.string().trim().min(1, "must not be empty").max(4000),
  })
  .meta({ id: "CompatChat" });

export const compatChatAnswer = z
  .object({
    conversation_id: z.uuid(),
    response: z.string(),
    tool_calls: z.array(toolCallSchema),
    pending_approval: pendingApprovalSchema.nullable().meta({
      description: "Set when an action waits for POST /v1/chat/approvals/{id}",
    }),
  })
  .meta({ id: "CompatChatAnswer" });

export type CompatChatAnswer = z.infer<typeof compatChatAnswer>;
