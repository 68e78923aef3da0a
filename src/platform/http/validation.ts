import { parse as parseContentType } from "content-type";
import type { FastifySchemaCompiler } from "fastify";
import { validatorCompiler as zodValidatorCompiler } from "fastify-type-provider-zod";
import type { ZodType } from "zod";
import { DomainError, validationFailed } from "./errors.ts";

/**
 * Text Postgres cannot store: a `text` value may not hold U+0000 (the server
 * answers 22021), and an unpaired UTF-16 surrogate has no UTF-8 form (Node
 * would quietly write U+FFFD instead). Every string a client sends, in a body,
 * query or path, at any depth and in object keys too, is checked here once,
 * so no route has to remember it and none answers 500 for it.
 */
export function unstorableText(
  value: unknown,
): { path: (string | number)[]; message: string } | undefined {
  let found: { path: (string | number)[]; message: string } | undefined;
  findEntry(value, (entry) => {
    // A bad key is reported at its object: the path must not carry the bad text.
    const keyProblem =
      entry.parent && typeof entry.key === "string" ? textProblem(entry.key) : undefined;
    if (keyProblem) {
      found = { path: pathOf(entry.parent), message: `has a field name that ${keyProblem}` };
      return true;
    }
    const problem = typeof entry.value === "string" ? textProblem(entry.value) : undefined;
    if (problem) found = { path: pathOf(entry), message: problem };
    return problem !== undefined;
  });
  return found;
}

/** One value inside a JSON value, pointing at the entry that holds it. */
type JsonEntry = { value: unknown; key: string | number; parent: JsonEntry | undefined };

function pathOf(entry: JsonEntry | undefined): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at = entry; at?.parent; at = at.parent) path.push(at.key);
  return path.reverse();
}

/**
 * The first entry of a JSON value, depth first and in key order, that
 * `stop` is true for. Iterative, with each entry pointing at its parent: a
 * body may nest deeper than the call stack allows, and copying paths would
 * be quadratic in depth.
 */
function findEntry(value: unknown, stop: (entry: JsonEntry) => boolean): JsonEntry | undefined {
  const pending: JsonEntry[] = [{ value, key: "", parent: undefined }];
  while (pending.length > 0) {
    const entry = pending.pop() as JsonEntry;
    if (stop(entry)) return entry;
    const current = entry.value;
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        pending.push({ value: current[index], key: index, parent: entry });
      }
    } else if (current !== null && typeof current === "object") {
      const keys = Object.keys(current);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string;
        pending.push({ value: (current as Record<string, unknown>)[key], key, parent: entry });
      }
    }
  }
  return undefined;
}

function textProblem(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain the NUL character (U+0000)";
  if (!text.isWellFormed()) return "must be valid Unicode (it has an unpaired surrogate)";
  return undefined;
}

/** Schemas whose routes check text themselves (see `checksOwnText`). */
const ownTextChecks = new WeakSet<object>();

/**
 * Marks a route's schema as one whose route checks text itself, deeper in:
 * `/mcp` carries tool arguments in JSON-RPC, and a tool call with such text
 * must come back as a tool error naming the argument (runTool), which an MCP
 * client shows, not as an HTTP 400 that fails its whole request.
 */
export function checksOwnText<T extends object>(schema: T): T {
  ownTextChecks.add(schema);
  return schema;
}

/** A 400 naming the first string Postgres cannot store in `value`, if any. */
export function unstorableTextError(value: unknown, root: string): DomainError | undefined {
  const found = unstorableText(value);
  return found ? validationFailed(found.path.join(".") || root, found.message) : undefined;
}

/**
 * The zod validator of fastify-type-provider-zod, and then the text check
 * above on what the client sent: a field error naming the part ("body",
 * "querystring", "params") when the whole value is at fault, else the field.
 */
export const validatorCompiler: FastifySchemaCompiler<ZodType> = (route) => {
  const validate = zodValidatorCompiler(route);
  if (ownTextChecks.has(route.schema)) return validate;
  return (data: unknown) => {
    const result = validate(data) as { error?: Error; value?: unknown };
    if (result.error) return result;
    const error = unstorableTextError(data, route.httpPart ?? "body");
    return error ? { error } : result;
  };
};

/**
 * Fastify's JSON parser (secure-json-parse) refuses a body with a
 * `__proto__` key or a `constructor` holding `prototype`, which could poison
 * prototypes, as "not valid JSON". When the text is valid JSON after all,
 * this names the key instead; otherwise it is undefined.
 */
export function forbiddenFieldError(text: string): DomainError | undefined {
  let parsed: unknown;
  try {
    // Plain JSON.parse keeps `__proto__` as an ordinary own key.
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const poisoned = findEntry(
    parsed,
    ({ key, value, parent }) =>
      parent !== undefined &&
      (key === "__proto__" ||
        (key === "constructor" &&
          value !== null &&
          typeof value === "object" &&
          "prototype" in value)),
  );
  return poisoned
    ? validationFailed(pathOf(poisoned).join("."), "is not an allowed field name")
    : undefined;
}

/**
 * JSON is UTF-8 (RFC 8259 section 8.1), and the body is read as UTF-8: a
 * body declared `charset=utf-16` or `latin1` would be read as something else
 * than its sender meant, so it is refused as an unsupported media type
 * instead of failing as malformed JSON or being stored garbled.
 */
export function unsupportedCharset(header: string | undefined): DomainError | undefined {
  if (header === undefined || !/charset/i.test(header)) return undefined;
  const charset = parseContentType(header).parameters.charset?.toLowerCase();
  if (charset === undefined || charset === "utf-8" || charset === "utf8") return undefined;
  return new DomainError(
    "unsupported_media_type",
    `JSON bodies must be UTF-8, not charset=${charset.slice(0, 40)}`,
  );
}
