import { z } from "zod";
import { cursorSchema, limitSchema } from "../../platform/http/pagination.ts";
import { activitySchema } from "../activity/contracts.ts";
import { notificationReasons } from "./schema.ts";

export const notificationSchema = z
  .object({
    id: z.uuid(),
    reason: z.enum(notificationReasons).meta({
      description:
        "assigned: a task was assigned to you; task_activity: a task assigned to you or made by you changed; membership: your role in a workspace changed (ownership transfers too), you were removed, or you were invited to one (its entity is the invitation to accept); webhook_disabled: the server turned off a webhook of a workspace you administer",
    }),
    read: z.boolean(),
    readAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    activity: activitySchema.describe("What happened, as the activity trail records it"),
  })
  .meta({ id: "Notification" });

export type Notification = z.infer<typeof notificationSchema>;

export const notificationPageSchema = z
  .object({
    data: z.array(notificationSchema),
    nextCursor: z.string().nullable(),
    unreadCount: z.number().int().meta({ description: "All your unread notifications" }),
  })
  .meta({ id: "NotificationPage" });

const booleanString = z.enum(["true", "false"]).transform((value) => value === "true");

export const listNotificationsQuerySchema = z.strictObject({
  unread: booleanString.optional().meta({ description: "true lists only unread ones" }),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export const markAllReadSchema = z
  .strictObject({
    upTo: z.uuid().optional().meta({
      description:
        "Marks only this notification and older ones (the newest you have shown), so one that arrived since stays unread",
    }),
  })
  .meta({ id: "MarkAllRead" });

export const markedSchema = z
  .object({
    marked: z.number().int().meta({ description: "Notifications now read that were not" }),
  })
  .meta({ id: "MarkedRead" });

export type ListNotificationsQuery = z.infer<typeof listNotificationsQuerySchema>;
export type MarkAllReadInput = z.infer<typeof markAllReadSchema>;
