import { z } from "zod";
import { uuid } from "../../platform/http/fields.ts";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";
import { invitableRoles, invitationStatuses, workspaceRoles } from "./schema.ts";

// Names go into mail subjects and bodies: no line breaks or other control characters.
const name = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");
const role = z.enum(workspaceRoles, { error: `must be one of ${workspaceRoles.join(", ")}` });
const invitableRole = z.enum(invitableRoles, {
  error: `must be one of ${invitableRoles.join(", ")} (ownership moves by transfer)`,
});

export const workspaceSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    personal: z
      .boolean()
      .meta({ description: "A user's own workspace: one member, not deletable" }),
    role: role.meta({ description: "Your role in the workspace" }),
    memberCount: z.number().int(),
    aiRedactPii: z.boolean().nullable().meta({
      description:
        "Redact e-mail addresses, phone and card numbers before this workspace's text goes to an external AI provider; null: the deployment's default (AI_REDACT_PII)",
    }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Workspace" });

export type Workspace = z.infer<typeof workspaceSchema>;

export const workspacePageSchema = pageSchema(workspaceSchema, "WorkspacePage");

export const createWorkspaceSchema = z.strictObject({ name }).meta({ id: "CreateWorkspace" });
export const updateWorkspaceSchema = z
  .strictObject({ name: name.optional(), aiRedactPii: z.boolean().nullable().optional() })
  .refine((input) => input.name !== undefined || input.aiRedactPii !== undefined, {
    message: "give name or aiRedactPii",
  })
  .meta({ id: "UpdateWorkspace" });

export const memberSchema = z
  .object({
    userId: z.uuid(),
    name: z.string(),
    email: z.string(),
    role,
    joinedAt: z.iso.datetime(),
  })
  .meta({ id: "Member" });

export type Member = z.infer<typeof memberSchema>;

export const memberPageSchema = pageSchema(memberSchema, "MemberPage");

export const changeRoleSchema = z.strictObject({ role }).meta({ id: "ChangeMemberRole" });

export const transferOwnershipSchema = z
  .strictObject({ userId: uuid })
  .meta({ id: "TransferOwnership" });

export const invitationSchema = z
  .object({
    id: z.uuid(),
    workspaceId: z.uuid(),
    email: z.string(),
    role: invitableRole,
    status: z.enum(invitationStatuses),
    expiresAt: z.iso.datetime(),
    inviterId: z.uuid(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "Invitation" });

export type Invitation = z.infer<typeof invitationSchema>;

export const invitationPageSchema = pageSchema(invitationSchema, "InvitationPage");

export const createdInvitationSchema = invitationSchema
  .extend({
    delivery: z.enum(["email", "link"]).meta({
      description:
        "email: sent through SMTP. link: not mailed (no SMTP_URL, or sending failed); pass acceptUrl on yourself",
    }),
    acceptUrl: z.url().optional().meta({ description: "Present when delivery is link" }),
  })
  .meta({ id: "CreatedInvitation" });

export type CreatedInvitation = z.infer<typeof createdInvitationSchema>;

export const createInvitationSchema = z
  .strictObject({
    email: z
      .email({ error: "must be an email address" })
      .max(254)
      .transform((value) => value.toLowerCase()),
    role: invitableRole,
  })
  .meta({ id: "CreateInvitation" });

export const pageQuerySchema = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export const memberParamsSchema = z.strictObject({ id: uuid, userId: uuid });
export const invitationParamsSchema = z.strictObject({ id: uuid, invitationId: uuid });

export type CreateInvitationInput = z.infer<typeof createInvitationSchema>;
export type PageQuery = z.infer<typeof pageQuerySchema>;
