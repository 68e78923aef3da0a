/**
 * Typed domain errors. Services throw these; each transport has one mapper
 * that turns them into its own error shape (problem+json for REST).
 */

import type { z } from "zod";

export const errorCodes = {
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  unauthenticated: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  idempotency_key_in_use: { status: 409, title: "Idempotency key in use" },
  precondition_failed: { status: 412, title: "Precondition failed" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  invalid_reference: { status: 422, title: "Invalid reference" },
  idempotency_key_reused: { status: 422, title: "Idempotency key reused" },
  rate_limited: { status: 429, title: "Too many requests" },
  budget_exceeded: { status: 429, title: "Budget exceeded" },
  internal: { status: 500, title: "Internal server error" },
  not_implemented: { status: 501, title: "Not implemented" },
  upstream_error: { status: 502, title: "Upstream error" },
  unavailable: { status: 503, title: "Service unavailable" },
  upstream_timeout: { status: 504, title: "Upstream timeout" },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export type FieldError = { path: string; message: string };

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "DomainError";
    this.code = code;
    this.errors = extra.errors;
    this.headers = extra.headers;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }
}

export const notFound = (entity: string) => new DomainError("not_found", `${entity} not found`);

export const conflict = (detail: string, path?: string) =>
  new DomainError("conflict", detail, path ? { errors: [{ path, message: detail }] } : {});

export const forbidden = (detail = "You may not do this") => new DomainError("forbidden", detail);

export const preconditionFailed = (detail = "The resource has changed; fetch it again") =>
  new DomainError("precondition_failed", detail);

export const invalidReference = (path: string, message: string) =>
  new DomainError("invalid_reference", `${path}: ${message}`, { errors: [{ path, message }] });

export const validationFailed = (path: string, message: string) =>
  new DomainError("validation_failed", `${path}: ${message}`, { errors: [{ path, message }] });

/**
 * Field errors one answer lists. A 1 MiB body of 90,000 unknown keys got a
 * 6 MB answer naming each; past this many the detail says how many more.
 */
export const maxFieldErrors = 20;

/** A validation failure naming its fields, the first `maxFieldErrors` of them. */
export function fieldsInvalid(errors: FieldError[]): DomainError {
  const shown = errors.slice(0, maxFieldErrors);
  const more = errors.length - shown.length;
  const detail =
    shown.map((entry) => `${entry.path}: ${entry.message}`).join("; ") +
    (more > 0 ? `; and ${more} more` : "");
  return new DomainError("validation_failed", detail, { errors: shown });
}

/**
 * A zod failure as field errors, for input that reaches a verb other than
 * through an HTTP schema (GraphQL arguments, tool calls). `name` turns an
 * issue's path into the field's name as the client wrote it; each unknown
 * key is its own "unknown field", as the HTTP schemas say it.
 */
export function zodInvalid(error: z.ZodError, name: (path: string[]) => string): DomainError {
  return fieldsInvalid(
    error.issues.flatMap((issue): FieldError[] => {
      const path = issue.path.map(String);
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({ path: name([...path, key]), message: "unknown field" }));
      }
      return [{ path: name(path), message: issue.message }];
    }),
  );
}
