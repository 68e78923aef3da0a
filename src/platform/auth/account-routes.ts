import { z } from "zod";
import { queryInteger, uuid } from "../http/fields.ts";
import {
  authUserSchema,
  type DocumentedAuthRoute,
  newPassword,
  tokenResponse,
} from "./contracts.ts";

const status = z.object({ status: z.boolean() });
const code = z.string().trim().min(1, "must not be empty").max(64);
const currentPassword = z.string().min(1, "must not be empty").max(128);

const sessionSchema = z
  .object({
    id: z.uuid(),
    token: z.string(),
    userId: z.uuid(),
    expiresAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    ipAddress: z.string().nullable().optional(),
    userAgent: z.string().nullable().optional(),
  })
  .meta({ id: "AuthSession" });

/** Sessions, password change, two-factor sign-in and system administration. */
export const accountRoutes: DocumentedAuthRoute[] = [
  {
    method: "GET",
    url: "/api/auth/list-sessions",
    summary: "My active sessions",
    description:
      "Every unexpired session of the signed-in user; `token` identifies one for revoke-session.",
    response: z.array(sessionSchema),
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/revoke-session",
    summary: "End one of my sessions",
    body: z.strictObject({ token: z.string().min(1, "must not be empty").max(512) }),
    response: status,
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/revoke-other-sessions",
    summary: "End all my sessions except this one",
    response: status,
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/revoke-sessions",
    summary: "End all my sessions, this one included",
    response: status,
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/change-password",
    summary: "Change my password",
    description:
      "Always ends every other session: the current one is replaced by a new session, whose token is returned (and set as the cookie).",
    body: z
      .strictObject({
        currentPassword,
        newPassword,
        revokeOtherSessions: z
          .boolean()
          .optional()
          .describe("Ignored: other sessions always end when the password changes"),
      })
      .transform((body) => ({ ...body, revokeOtherSessions: true })),
    response: tokenResponse,
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/two-factor/enable",
    summary: "Start TOTP two-factor set-up",
    description:
      "Returns the otpauth:// URI for an authenticator app and ten single-use backup codes. Two-factor sign-in is on once a code from the app is confirmed with verify-totp.",
    body: z.strictObject({ password: currentPassword, issuer: z.string().max(100).optional() }),
    response: z.object({
      method: z.literal("totp").optional(),
      totpURI: z.string(),
      backupCodes: z.array(z.string()),
    }),
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/two-factor/verify-totp",
    summary: "Confirm a TOTP code",
    description:
      "With the two_factor cookie from sign-in: finishes the sign-in. With a session: confirms the set-up started by enable.",
    body: z.strictObject({ code, trustDevice: z.boolean().optional() }),
    response: tokenResponse,
    errors: ["forbidden", "conflict"],
  },
  {
    method: "POST",
    url: "/api/auth/two-factor/verify-backup-code",
    summary: "Finish a two-factor sign-in with a backup code",
    description: "Each backup code works once.",
    body: z.strictObject({ code, trustDevice: z.boolean().optional() }),
    response: tokenResponse,
    errors: ["forbidden", "conflict"],
  },
  {
    method: "POST",
    url: "/api/auth/two-factor/generate-backup-codes",
    summary: "Replace my backup codes",
    body: z.strictObject({ password: currentPassword }),
    response: z.object({ status: z.boolean(), backupCodes: z.array(z.string()) }),
    errors: ["forbidden", "conflict"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/two-factor/disable",
    summary: "Turn two-factor sign-in off",
    body: z.strictObject({ password: currentPassword }),
    response: status,
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "GET",
    url: "/api/auth/admin/list-users",
    summary: "List users (system admins)",
    querystring: z.strictObject({
      searchValue: z.string().max(254).optional(),
      searchField: z.enum(["email", "name"]).optional(),
      searchOperator: z.enum(["contains", "starts_with", "ends_with"]).optional(),
      limit: queryInteger({ min: 1, max: 100, default: 50 }),
      offset: queryInteger({ min: 0 }).optional(),
      sortBy: z.enum(["createdAt", "email", "name"]).optional(),
      sortDirection: z.enum(["asc", "desc"]).optional(),
    }),
    response: z.object({
      users: z.array(authUserSchema),
      total: z.number().int(),
      limit: z.number().int().optional(),
      offset: z.number().int().optional(),
    }),
    errors: ["forbidden"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/admin/ban-user",
    summary: "Ban a user (system admins)",
    description: "Ends all of the user's sessions at once; a banned user cannot sign in.",
    body: z.strictObject({
      userId: uuid,
      banReason: z.string().trim().min(1).max(500).optional(),
      banExpiresIn: z
        .number()
        .int()
        .positive()
        .optional()
        .describe("Seconds until the ban lifts itself; forever without it"),
    }),
    response: z.object({ user: authUserSchema }),
    errors: ["forbidden", "not_found"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/admin/unban-user",
    summary: "Lift a ban (system admins)",
    body: z.strictObject({ userId: uuid }),
    response: z.object({ user: authUserSchema }),
    errors: ["forbidden", "not_found"],
    authenticated: true,
  },
  {
    method: "POST",
    url: "/api/auth/admin/revoke-user-sessions",
    summary: "End all sessions of a user (system admins)",
    body: z.strictObject({ userId: uuid }),
    response: z.object({ success: z.boolean() }),
    errors: ["forbidden", "not_found"],
    authenticated: true,
  },
];
