import { z } from "zod";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";
import { approvalStatuses, messageRoles } from "./schema.ts";

export const toolCallStatuses = [
  "succeeded",
  "failed",
  "pending_approval",
  "rejected",
  "expired",
] as const;

export const toolCallSchema = z
  .object({
    name: z.string().meta({ examples: ["add_task", "delete_task"] }),
    input: z.record(z.string(), z.unknown()),
    status: z.enum(toolCallStatuses),
    result: z
      .unknown()
      .optional()
      .meta({
        description:
          "The tool's structured result. A chat answer carries it whole; a stored message " +
          "(GET .../messages) keeps it shortened: each task as id, title, status and dueAt, " +
          "and any text cut at 1,000 characters. GET the task for its current state.",
      }),
    error: z
      .object({ code: z.string(), detail: z.string() })
      .optional()
      .meta({ description: "Why the call failed (the problem code and detail)" }),
  })
  .meta({ id: "ToolCall" });

export type ToolCallRecord = z.infer<typeof toolCallSchema>;

export const pendingApprovalSchema = z
  .object({
    id: z.uuid(),
    summary: z
      .string()
      .meta({ description: "What will happen, written by the server from the calls" }),
    toolCalls: z.array(z.object({ name: z.string(), input: z.record(z.string(), z.unknown()) })),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: "PendingApproval" });

export type PendingApproval = z.infer<typeof pendingApprovalSchema>;

export const chatBodySchema = z
  .strictObject({
    message: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(4000, "must be at most 4000 characters"),
    conversationId: z.uuid().optional().meta({ description: "Continue this conversation" }),
  })
  .meta({ id: "ChatRequest" });

export type ChatInput = z.infer<typeof chatBodySchema>;

export const chatResultSchema = z
  .object({
    conversationId: z.uuid(),
    messageId: z.uuid().meta({ description: "The assistant's message" }),
    response: z.string(),
    toolCalls: z.array(toolCallSchema),
    pendingApproval: pendingApprovalSchema
      .nullable()
      .meta({ description: "Set when an action waits for POST /v1/chat/approvals/{id}" }),
  })
  .meta({ id: "ChatResponse" });

export type ChatResult = z.infer<typeof chatResultSchema>;

export const approvalDecisionSchema = z
  .strictObject({ approve: z.boolean() })
  .meta({ id: "ApprovalDecision" });

export const conversationSchema = z
  .object({
    id: z.uuid(),
    title: z.string().meta({ description: "The start of the first message" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Conversation" });

export type Conversation = z.infer<typeof conversationSchema>;

export const messageSchema = z
  .object({
    id: z.uuid(),
    conversationId: z.uuid(),
    role: z.enum(messageRoles),
    content: z.string(),
    toolCalls: z.array(toolCallSchema),
    approval: z
      .object({
        id: z.uuid(),
        status: z.enum(approvalStatuses),
        summary: z.string(),
        expiresAt: z.iso.datetime(),
      })
      .nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "Message" });

export type Message = z.infer<typeof messageSchema>;

export const conversationPageSchema = pageSchema(conversationSchema, "ConversationPage");
export const messagePageSchema = pageSchema(messageSchema, "MessagePage");

export const pageQuerySchema = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});
