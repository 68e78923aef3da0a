import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  DomainError,
  type ErrorCode,
  errorCodes,
  type FieldError,
  fieldsInvalid,
  invalidReference,
  validationFailed,
} from "./errors.ts";

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]),
    detail: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

export type Problem = z.infer<typeof problemSchema>;

export function sendProblem(reply: FastifyReply, error: DomainError): FastifyReply {
  const { status, title } = errorCodes[error.code];
  const problem: Problem = {
    type: `/docs/errors#${error.code}`,
    title,
    status,
    code: error.code,
    detail: error.message,
    requestId: String(reply.request.id),
    ...(error.errors ? { errors: error.errors } : {}),
  };
  if (error.headers) reply.headers(error.headers);
  return reply.code(status).type("application/problem+json").send(problem);
}

type PostgresError = Error & { code: string; constraint?: string; detail?: string };

function isPostgresError(error: unknown): error is PostgresError {
  return (
    error instanceof Error &&
    typeof (error as unknown as { code?: unknown }).code === "string" &&
    /^[0-9A-Z]{5}$/.test((error as unknown as { code: string }).code) &&
    "severity" in error
  );
}

const fastifyErrors: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_JSON_BODY: "malformed_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "malformed_json",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "validation_failed",
};

// The router's own refusals. Fastify's messages quote the whole URL, which
// may be kilobytes long: say what is wrong instead, and name the path.
/** The router's limit on one path parameter (Fastify's `maxParamLength`). */
export const maxParamLength = 200;

const routerErrors: Record<string, string> = {
  FST_ERR_BAD_URL: "is not valid percent-encoded UTF-8",
  FST_ERR_MAX_PARAM_LENGTH: `has a segment over ${maxParamLength} characters`,
};

// node-postgres' pool gives up waiting for a connection with these messages
// (pg-pool: no free connection in time; pg: the server did not accept one).
const poolTimeouts = new Set([
  "timeout exceeded when trying to connect",
  "Connection terminated due to connection timeout",
]);

function isPoolTimeout(error: unknown): boolean {
  return error instanceof Error && poolTimeouts.has(error.message);
}

// The database cannot be reached or is going away: the socket's errors,
// node-postgres' own words for a connection that died, and Postgres' codes
// for a server shutting down or starting (class 08 is checked by prefix).
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
]);
const unreachableMessages = [
  "Connection terminated unexpectedly",
  "Client has encountered a connection error and is not queryable",
];
const shuttingDown = new Set(["57P01", "57P02", "57P03"]);

/** Follows `cause` a few levels: better-auth wraps what Drizzle wraps around pg's error. */
function isUnreachable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && unreachableCodes.has(code)) return true;
  if (
    error instanceof AggregateError &&
    error.errors.some((inner) => isUnreachable(inner, depth + 1))
  )
    return true;
  if (isPostgresError(error) && (shuttingDown.has(error.code) || error.code.startsWith("08")))
    return true;
  return unreachableMessages.includes(error.message) || isUnreachable(error.cause, depth + 1);
}

const databaseUnreachable = () =>
  new DomainError("unavailable", "The database cannot be reached; retry shortly", {
    headers: { "retry-after": "5" },
  });

const databaseBusy = () =>
  new DomainError("unavailable", "The database is busy; retry shortly", {
    headers: { "retry-after": "1" },
  });

/** Turns anything thrown while serving a request into a DomainError. */
export function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  // Drizzle wraps driver errors; the Postgres error is the cause.
  const cause = error instanceof Error ? error.cause : undefined;
  // First: a Postgres error saying the server is going away, or one wrapped
  // deeper than `cause` (better-auth around Drizzle around pg).
  if (isUnreachable(error)) return databaseUnreachable();
  if (isPostgresError(cause)) return fromPostgres(cause);
  if (isPostgresError(error)) return fromPostgres(error);
  if (isPoolTimeout(error) || isPoolTimeout(cause)) return databaseBusy();
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext;
    const errors = error.validation.flatMap((issue): FieldError[] => {
      const path = issue.instancePath.replace(/^\//, "").replaceAll("/", ".");
      const keys = (issue.params as { keys?: unknown }).keys;
      if (issue.keyword === "unrecognized_keys" && Array.isArray(keys)) {
        return keys.map((key) => ({
          path: path ? `${path}.${String(key)}` : String(key),
          message: where === "querystring" ? "unknown query parameter" : "unknown field",
        }));
      }
      return [{ path: path || (where ?? "body"), message: issue.message ?? "is invalid" }];
    });
    return fieldsInvalid(errors);
  }
  const fastifyError = error as FastifyError;
  const routerProblem = routerErrors[fastifyError.code ?? ""];
  if (routerProblem) return validationFailed("path", routerProblem);
  const mapped = fastifyErrors[fastifyError.code ?? ""];
  if (mapped) return new DomainError(mapped, fastifyError.message);
  if (fastifyError.statusCode === 400 && error instanceof SyntaxError) {
    return new DomainError("malformed_json", "The request body is not valid JSON");
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new DomainError("validation_failed", fastifyError.message);
  }
  return new DomainError("internal", "An unexpected error occurred; quote the requestId");
}

function fromPostgres(error: PostgresError): DomainError {
  switch (error.code) {
    case "23505":
      return new DomainError("conflict", "A resource with these values already exists");
    case "23503": {
      const field = missingReference(error.detail);
      return field
        ? invalidReference(field, "does not exist")
        : new DomainError("invalid_reference", "A referenced resource does not exist");
    }
    case "23514":
    case "22001":
    case "22P02":
    case "22007":
    case "22008":
      return new DomainError("validation_failed", "A value is out of range or malformed");
    // Text with U+0000, or that has no form in the database's encoding. The
    // validator (validation.ts) turns these away with the field's name first;
    // this covers text that reaches SQL some other way.
    case "22021":
    case "22P05":
      return new DomainError(
        "validation_failed",
        "A text value has a character that cannot be stored",
      );
    case "40001":
    case "40P01":
      return new DomainError("conflict", "A concurrent change got in the way; retry");
    case "57014":
    case "53300":
      return databaseBusy();
    default:
      return new DomainError("internal", "An unexpected error occurred; quote the requestId");
  }
}

/**
 * The field a foreign key violation is about, from Postgres's detail
 * ("Key (category_id)=(...) is not present in table ..."), as the API names
 * it: columns are the fields in snake_case. The services check references
 * first, naming the field; this answers a reference deleted between that
 * check and the write the same way. The key's value is not echoed.
 */
function missingReference(detail: string | undefined): string | undefined {
  const column = detail?.match(/^Key \((\w+)\)=\(.*\) is not present in table /)?.[1];
  return column?.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Fastify's `frameworkErrors` option: URLs the router rejects before any hook
 * runs (undecodable, or a parameter over maxParamLength) answer problem+json
 * with a request id like everything else.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  request.log.info({ code: error.code }, "request rejected by the router");
  reply.header("x-request-id", request.id);
  sendProblem(reply, toDomainError(error));
}

/** Installs the error and not-found handlers: every failure answers problem+json. */
export function registerProblemHandlers(app: FastifyInstance): void {
  // Remember each route's pattern so an unknown method on a known path is a 405.
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const literal = route.url.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    const source = literal.replace(/:[^/]+/g, "[^/]+").replace(/\*$/, ".*");
    routes.push({ pattern: new RegExp(`^${source}/?$`), methods: methods.map(String) });
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const domainError = toDomainError(error);
    if (domainError.status >= 500) {
      request.log.error({ err: error, requestId: request.id }, "request failed");
    } else if (!(error instanceof DomainError)) {
      request.log.info({ code: domainError.code, reason: domainError.message }, "request rejected");
    }
    return sendProblem(reply, domainError);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    const allowed = routes
      .filter((route) => route.pattern.test(path))
      .flatMap((route) => route.methods);
    if (allowed.length > 0) {
      return sendProblem(
        reply,
        new DomainError("method_not_allowed", `${request.method} is not allowed on ${path}`, {
          headers: { allow: [...new Set(allowed)].join(", ") },
        }),
      );
    }
    return sendProblem(
      reply,
      new DomainError("not_found", `No route for ${request.method} ${path}`),
    );
  });
}
