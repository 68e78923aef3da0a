import { z } from "zod";
import { uuid } from "../../platform/http/fields.ts";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";
import { workspaceActivityTypes } from "../activity/types.ts";
import { deliveryStatuses } from "./schema.ts";

const subjects = [...new Set(workspaceActivityTypes.map((type) => type.split(".")[0]))];
const patterns = new Set<string>([
  "*",
  ...subjects.map((subject) => `${subject}.*`),
  ...workspaceActivityTypes,
]);

/** True when `type` is one of the events a webhook subscribed to with `events`. */
export function subscribes(events: readonly string[], type: string): boolean {
  return events.some(
    (pattern) =>
      pattern === "*" ||
      pattern === type ||
      (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1))),
  );
}

const eventPattern = z.enum([...patterns] as [string, ...string[]], {
  error: `must be "*", a subject with ".*" (${subjects.map((s) => `${s}.*`).join(", ")}) or an event type of a workspace (${workspaceActivityTypes.join(", ")})`,
});

const events = z
  .array(eventPattern, { error: "must be a list of event types" })
  .min(1, "must name at least one event type")
  .max(50, "must name at most 50 event types")
  .transform((given) => [...new Set(given)])
  .meta({
    description:
      'Which events are sent: event types (`task.completed`), a subject\'s every type (`task.*`) or `"*"`',
    examples: [["task.*"], ["task.completed", "member.joined"]],
  });

const url = z
  .string({ error: "must be a URL" })
  .trim()
  .min(1, "must not be empty")
  .max(2000, "must be at most 2000 characters")
  .meta({
    format: "uri",
    description:
      "Where events are POSTed: https, to a public address (http and private addresses only where the deployment allows them)",
    examples: ["https://hooks.example.com/taskpilot"],
  });

const description = z
  .string({ error: "must be text" })
  .trim()
  .max(500, "must be at most 500 characters");

export const webhookSchema = z
  .object({
    id: z.uuid(),
    workspaceId: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    active: z.boolean(),
    disabledReason: z.string().nullable().meta({
      description: "Why the server turned the webhook off (repeated failures); null otherwise",
    }),
    createdBy: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Webhook" });

export type Webhook = z.infer<typeof webhookSchema>;

export const createdWebhookSchema = webhookSchema
  .extend({
    secret: z.string().meta({
      description:
        "The signing secret (Taskpilot-Signature's HMAC key, as UTF-8 text). Shown only in this answer: store it now.",
      examples: ["whsec_3q2-7wW0kq3VtW9m0aUuZsJ4cQmGQp9u8X1yK6eLh2A"],
    }),
  })
  .meta({ id: "CreatedWebhook" });

export type CreatedWebhook = z.infer<typeof createdWebhookSchema>;

export const webhookPageSchema = pageSchema(webhookSchema, "WebhookPage");

export const createWebhookSchema = z
  .strictObject({
    url,
    events,
    description: description.optional(),
    workspaceId: uuid
      .optional()
      .meta({ description: "The workspace whose events are sent (default: your personal one)" }),
  })
  .meta({ id: "CreateWebhook" });

export type CreateWebhookInput = z.infer<typeof createWebhookSchema>;

export const updateWebhookSchema = z
  .strictObject({
    url: url.optional(),
    events: events.optional(),
    description: description.nullable().optional(),
    active: z.boolean({ error: "must be true or false" }).optional().meta({
      description:
        "false pauses deliveries; true resumes them (also after the server turned it off)",
    }),
  })
  .meta({ id: "UpdateWebhook" });

export type UpdateWebhookInput = z.infer<typeof updateWebhookSchema>;

export const listWebhooksQuerySchema = z.strictObject({
  workspaceId: uuid.optional(),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export type ListWebhooksQuery = z.infer<typeof listWebhooksQuerySchema>;

export const deliverySchema = z
  .object({
    id: z.uuid().meta({ description: "Sent as Taskpilot-Delivery" }),
    webhookId: z.uuid(),
    eventId: z.uuid().meta({ description: "The activity event delivered" }),
    eventType: z.string(),
    status: z.enum(deliveryStatuses).meta({
      description:
        "pending: not yet answered with a 2xx and attempts remain; failed: no attempt left",
    }),
    attempts: z.number().int(),
    responseStatus: z
      .number()
      .int()
      .nullable()
      .meta({ description: "The last attempt's HTTP status" }),
    error: z.string().nullable().meta({ description: "What went wrong with the last attempt" }),
    durationMs: z.number().int().nullable(),
    createdAt: z.iso.datetime(),
    lastAttemptAt: z.iso.datetime().nullable(),
    completedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "WebhookDelivery" });

export type Delivery = z.infer<typeof deliverySchema>;

export const deliveryPageSchema = pageSchema(deliverySchema, "WebhookDeliveryPage");

export const listDeliveriesQuerySchema = z.strictObject({
  status: z
    .enum(deliveryStatuses, { error: `must be one of ${deliveryStatuses.join(", ")}` })
    .optional(),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export type ListDeliveriesQuery = z.infer<typeof listDeliveriesQuerySchema>;
