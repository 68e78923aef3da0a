/**
 * Response serialization: each route's zod response schema, converted to JSON
 * Schema, compiled by fast-json-stringify (Fastify's own serializer). Zod's
 * encode + JSON.stringify cost 113 µs for a page of 50 tasks; the compiled
 * serializer 40 µs (bench/results: a tenth of a list request's CPU).
 *
 * The compiled serializer writes what the schema names and drops the rest,
 * but it does not validate. With `check` on (every test app) each answer is
 * also validated by zod and the compiled text compared with zod's encoding,
 * so the whole suite checks both the contract and the serializer; a mismatch
 * is a 500, like an answer that breaks the contract.
 */
import { isDeepStrictEqual } from "node:util";
import fastJsonStringify, { type Schema } from "fast-json-stringify";
import type { FastifySerializerCompiler } from "fastify/types/schema.js";
import { type ZodType, z } from "zod";

type Stringify = (data: unknown) => string;

/** An answer that breaks its route's response contract (a 500: our bug, not the client's). */
export class ResponseContractError extends Error {
  constructor(method: string, url: string, detail: string, cause?: unknown) {
    super(`${method} ${url}: the response does not match its schema: ${detail}`, { cause });
    this.name = "ResponseContractError";
  }
}

/** Compiled once per schema object: route modules share theirs across apps. */
const compiled = new WeakMap<ZodType, Stringify | null>();

/**
 * Serialization needs types and property names only. `pattern` and `format`
 * would make fast-json-stringify validate to choose an `anyOf` branch, and
 * zod writes every nullable scalar as `anyOf: [T, null]`; as `type: [T, "null"]`
 * the serializer picks by a typeof check (2.4x faster on a task page).
 */
function forSerialization(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forSerialization);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "pattern" || key === "format") continue;
    // Property names are data here, not keywords.
    out[key] =
      key === "properties" || key === "definitions" || key === "$defs"
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>).map(([name, schema]) => [
              name,
              forSerialization(schema),
            ]),
          )
        : forSerialization(value);
  }
  const branches = out.anyOf;
  if (Array.isArray(branches) && branches.length === 2) {
    const nullAt = branches.findIndex(
      (branch) => isRecord(branch) && branch.type === "null" && Object.keys(branch).length === 1,
    );
    const other = branches[1 - nullAt];
    if (
      nullAt !== -1 &&
      isRecord(other) &&
      typeof other.type === "string" &&
      other.type !== "object" &&
      other.type !== "array"
    ) {
      delete out.anyOf;
      Object.assign(out, other, { type: [other.type, "null"] });
    }
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The compiled serializer for a schema, or null where JSON Schema cannot say it. */
export function compileStringify(schema: ZodType): Stringify | null {
  let stringify = compiled.get(schema);
  if (stringify === undefined) {
    try {
      const json = z.toJSONSchema(schema, { io: "output", target: "draft-7" });
      stringify = fastJsonStringify(forSerialization(json) as Schema) as Stringify;
    } catch {
      stringify = null;
    }
    compiled.set(schema, stringify);
  }
  return stringify;
}

function resolveSchema(schema: unknown): ZodType {
  if (schema instanceof z.ZodType) return schema;
  if (isRecord(schema) && schema.properties instanceof z.ZodType) return schema.properties;
  throw new Error("a response schema must be a zod schema");
}

/** Routes whose response schema could not be compiled and use zod's encoding instead. */
const fallbacks = new Set<string>();
export function serializerFallbacks(): string[] {
  return [...fallbacks].sort();
}

export function serializerCompiler(options: {
  check: boolean;
}): FastifySerializerCompiler<unknown> {
  return ({ schema: given, method, url, httpStatus }) => {
    const schema = resolveSchema(given);
    const encode = (data: unknown) => {
      const result = z.safeEncode(schema, data);
      if (result.error) {
        throw new ResponseContractError(method, url, z.prettifyError(result.error), result.error);
      }
      return result.data;
    };
    const stringify = compileStringify(schema);
    if (!stringify) {
      fallbacks.add(`${method} ${url} ${httpStatus}`);
      return (data) => JSON.stringify(encode(data));
    }
    if (!options.check) return stringify;
    return (data) => {
      const expected = encode(data);
      const text = stringify(data);
      if (!isDeepStrictEqual(JSON.parse(text), JSON.parse(JSON.stringify(expected)))) {
        throw new ResponseContractError(
          method,
          url,
          `the compiled serializer wrote ${text}, zod encodes ${JSON.stringify(expected)}`,
        );
      }
      return text;
    };
  };
}
