import { z } from "zod";
import { taskSchema } from "../tasks/contracts.ts";
import { workspaceRoles } from "../workspaces/schema.ts";

export const supportAccessSchema = z.strictObject({
  reason: z
    .string({ error: "is required" })
    .trim()
    .min(1, "must not be empty")
    .max(500, "must be at most 500 characters"),
});

export type SupportAccessInput = z.infer<typeof supportAccessSchema>;

/** How many open tasks a support snapshot shows. */
export const supportTaskLimit = 50;

export const supportSnapshotSchema = z
  .object({
    workspace: z.object({ id: z.uuid(), name: z.string(), createdAt: z.iso.datetime() }),
    members: z.array(
      z.object({
        userId: z.uuid(),
        name: z.string(),
        email: z.string(),
        role: z.enum(workspaceRoles),
      }),
    ),
    openTaskCount: z.number().int(),
    tasks: z
      .array(taskSchema)
      .meta({ description: `The first ${supportTaskLimit} open tasks in list order` }),
  })
  .meta({ id: "SupportSnapshot" });

export type SupportSnapshot = z.infer<typeof supportSnapshotSchema>;
