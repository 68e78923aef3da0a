import { z } from "zod";
import type { ErrorCode } from "../http/errors.ts";
import { isCommonPassword } from "./password.ts";

/** A better-auth endpoint we document and validate in front of its handler (routes.ts). */
export type DocumentedAuthRoute = {
  method: "GET" | "POST";
  url: string;
  summary: string;
  description?: string;
  body?: z.ZodType | undefined;
  querystring?: z.ZodType;
  response: z.ZodType;
  /** Problem answers beyond 400, 401, 429 and 500. */
  errors?: ErrorCode[];
  /** Needs a signed-in session (cookie or bearer session token). */
  authenticated?: boolean;
};

export const email = z.email({ error: "must be an email address" }).max(254);

export const password = z
  .string()
  .min(8, "must be at least 8 characters")
  .max(128, "must be at most 128 characters");

/** A password being set: the length rule plus no password from the common-password list. */
export const newPassword = password.refine(
  (value) => !isCommonPassword(value),
  "is one of the most common passwords; choose another",
);

export const authUserSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    email: z.string(),
    emailVerified: z.boolean(),
    image: z.string().nullable().optional(),
    role: z.enum(["user", "admin"]).optional(),
    banned: z.boolean().optional(),
    banReason: z.string().nullable().optional(),
    banExpires: z.string().nullable().optional(),
    twoFactorEnabled: z.boolean().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "AuthUser" });

export const tokenResponse = z
  .object({ token: z.string().nullable(), user: authUserSchema })
  .meta({ id: "SignedIn" });

export const twoFactorChallenge = z
  .object({ twoFactorRedirect: z.literal(true), twoFactorMethods: z.array(z.string()) })
  .meta({
    id: "TwoFactorChallenge",
    description:
      "The password was right and the account has two-factor sign-in: no session yet. A short-lived two_factor cookie is set; send it with POST /api/auth/two-factor/verify-totp or verify-backup-code.",
  });
