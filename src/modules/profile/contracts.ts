import { z } from "zod";
import { queryInteger } from "../../platform/http/fields.ts";
import { activitySchema } from "../activity/contracts.ts";
import { isValidTimeZone } from "../tasks/schedule/index.ts";

export const profileSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    image: z.string().nullable(),
    timezone: z.string(),
    createdAt: z.iso.datetime(),
    workspaces: z.array(
      z.object({
        id: z.uuid(),
        name: z.string(),
        role: z.enum(["owner", "admin", "member", "viewer"]),
      }),
    ),
    stats: z.object({
      open: z.number().int(),
      overdue: z.number().int(),
      dueToday: z.number().int().meta({ description: "Open tasks due today in your time zone" }),
      completedLast7Days: z.number().int(),
    }),
    recentActivity: z.array(activitySchema),
  })
  .meta({ id: "Profile" });

export type Profile = z.infer<typeof profileSchema>;

export const profileQuerySchema = z.strictObject({
  activityLimit: queryInteger({ min: 0, max: 100, default: 20 }),
});

/** Zone names match case-insensitively; store the spelling the tz database uses ("Europe/Berlin"). */
function canonicalCase(zone: string): string {
  const resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
}

export const updateProfileSchema = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(100, "must be at most 100 characters")
      .optional(),
    timezone: z
      .string()
      // The longest IANA name is 32 characters (America/Argentina/ComodRivadavia).
      .max(64, "must be at most 64 characters")
      .refine(isValidTimeZone, "must be an IANA time zone such as Europe/Berlin")
      .transform(canonicalCase)
      .optional(),
    image: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .max(2000)
      .nullable()
      .optional(),
  })
  .meta({ id: "UpdateProfile" });

export type UpdateProfileInput = z.infer<typeof updateProfileSchema>;
