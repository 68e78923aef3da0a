/**
 * Invalid values for a field, derived from its JSON Schema in the OpenAPI
 * document: pure and deterministic, so the generated suite
 * (invalid-values.security.test.ts) sends the same requests on every run.
 *
 * Every candidate is checked against the schema with the small validator
 * below, and dropped when the schema accepts it after all (a value that is
 * invalid for one branch of an `anyOf` may be valid for another): what is
 * left is invalid by the document, so a 2xx for it is the app's mistake, not
 * the generator's.
 */

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  default?: unknown;
  description?: string;
};

export type OpenApiParameter = {
  in: "query" | "path" | "header" | "cookie";
  name: string;
  required?: boolean;
  schema?: JsonSchema;
};

export type OpenApiOperation = {
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
};

export type OpenApiDocument = {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
};

/** An invalid value and what is wrong with it, for assertion messages. */
export type InvalidValue<T = unknown> = { label: string; value: T };

/** A query parameter on the wire: one string, or several (a repeated parameter). */
export type WireValue = string | string[];

/** The schema a `$ref` (to `#/components/schemas/...`) names, followed until it is not one. */
export function resolve(schema: JsonSchema, document: OpenApiDocument): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref !== undefined; hops++) {
    const prefix = "#/components/schemas/";
    if (hops > 20 || !current.$ref.startsWith(prefix)) {
      throw new Error(`cannot resolve ${current.$ref}`);
    }
    const target = document.components?.schemas?.[current.$ref.slice(prefix.length)];
    if (!target) throw new Error(`no schema for ${current.$ref}`);
    current = target;
  }
  return current;
}

/** The schema's alternatives: its `anyOf`/`oneOf` branches (resolved), or itself. */
function branches(schema: JsonSchema, document: OpenApiDocument): JsonSchema[] {
  const resolved = resolve(schema, document);
  const alternatives = resolved.anyOf ?? resolved.oneOf;
  if (!alternatives) return [resolved];
  return alternatives.flatMap((branch) => branches(branch, document));
}

function typesOf(schema: JsonSchema): string[] {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? schema.type : [schema.type];
  const listed = schema.enum ?? (schema.const === undefined ? undefined : [schema.const]);
  if (!listed) return [];
  return [...new Set(listed.map((value) => (value === null ? "null" : typeof value)))];
}

/** The object branch of a schema (e.g. of `anyOf: [object, null]`), if it has exactly one. */
export function objectSchema(
  schema: JsonSchema,
  document: OpenApiDocument,
): JsonSchema | undefined {
  const objects = branches(schema, document).filter(
    (branch) => typesOf(branch).includes("object") || branch.properties !== undefined,
  );
  return objects.length === 1 ? objects[0] : undefined;
}

const patternCache = new Map<string, RegExp>();

/** Zod writes JavaScript patterns; `\p{...}` needs the `u` flag, which some others refuse. */
function regex(pattern: string): RegExp {
  let compiled = patternCache.get(pattern);
  if (!compiled) {
    try {
      compiled = new RegExp(pattern, "u");
    } catch {
      compiled = new RegExp(pattern);
    }
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const dateTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** What a format asks of a string, where the schema gives no pattern for it. */
function matchesFormat(format: string, value: string): boolean {
  switch (format) {
    case "uuid":
      return uuidPattern.test(value);
    case "date-time":
      return dateTimePattern.test(value) && !Number.isNaN(Date.parse(value));
    case "email":
      return emailPattern.test(value);
    case "uri":
    case "url":
      return URL.canParse(value);
    default:
      // A format this validator does not know: assume the value meets it.
      return true;
  }
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return true;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Whether a JSON value meets the schema (the subset of JSON Schema the document uses). */
export function accepts(schema: JsonSchema, value: unknown, document: OpenApiDocument): boolean {
  const resolved = resolve(schema, document);
  if (resolved.anyOf && !resolved.anyOf.some((branch) => accepts(branch, value, document))) {
    return false;
  }
  if (resolved.oneOf && !resolved.oneOf.some((branch) => accepts(branch, value, document))) {
    return false;
  }
  if (resolved.allOf && !resolved.allOf.every((branch) => accepts(branch, value, document))) {
    return false;
  }
  if (resolved.const !== undefined && !same(resolved.const, value)) return false;
  if (resolved.enum && !resolved.enum.some((option) => same(option, value))) return false;
  const types = typesOf(resolved);
  if (types.length > 0 && !types.some((type) => hasType(type, value))) return false;
  if (typeof value === "string") {
    const length = [...value].length;
    if (resolved.minLength !== undefined && length < resolved.minLength) return false;
    if (resolved.maxLength !== undefined && length > resolved.maxLength) return false;
    if (resolved.pattern !== undefined && !regex(resolved.pattern).test(value)) return false;
    if (resolved.format !== undefined && resolved.pattern === undefined) {
      if (!matchesFormat(resolved.format, value)) return false;
    }
  }
  if (typeof value === "number") {
    if (resolved.minimum !== undefined && value < resolved.minimum) return false;
    if (resolved.maximum !== undefined && value > resolved.maximum) return false;
    if (resolved.exclusiveMinimum !== undefined && value <= resolved.exclusiveMinimum) return false;
    if (resolved.exclusiveMaximum !== undefined && value >= resolved.exclusiveMaximum) return false;
  }
  if (Array.isArray(value)) {
    if (resolved.minItems !== undefined && value.length < resolved.minItems) return false;
    if (resolved.maxItems !== undefined && value.length > resolved.maxItems) return false;
    const items = resolved.items;
    if (items && !value.every((item) => accepts(items, item, document))) return false;
  }
  if (hasType("object", value)) {
    const record = value as Record<string, unknown>;
    for (const name of resolved.required ?? []) if (!(name in record)) return false;
    for (const [name, item] of Object.entries(record)) {
      const property = resolved.properties?.[name];
      if (property) {
        if (!accepts(property, item, document)) return false;
      } else if (resolved.additionalProperties === false) {
        return false;
      } else if (typeof resolved.additionalProperties === "object") {
        if (!accepts(resolved.additionalProperties, item, document)) return false;
      }
    }
  }
  return true;
}

const fixedUuids = [
  "0190a0a0-0000-7000-8000-000000000001",
  "0190a0a0-0000-7000-8000-000000000002",
  "0190a0a0-0000-7000-8000-000000000003",
];

/**
 * A valid value for the schema (the `index`-th of several, so that array
 * items differ), or undefined when none of the simple guesses is valid.
 */
export function validExample(
  schema: JsonSchema,
  document: OpenApiDocument,
  index = 0,
): unknown | undefined {
  for (const branch of branches(schema, document)) {
    for (const candidate of exampleCandidates(branch, document, index)) {
      if (accepts(schema, candidate, document)) return candidate;
    }
  }
  return undefined;
}

function exampleCandidates(schema: JsonSchema, document: OpenApiDocument, index: number) {
  if (schema.const !== undefined) return [schema.const];
  if (schema.enum && schema.enum.length > 0) return [schema.enum[index % schema.enum.length]];
  if (schema.default !== undefined && index === 0) return [schema.default];
  const candidates: unknown[] = [];
  for (const type of typesOf(schema)) {
    if (type === "string") {
      if (schema.format === "uuid") candidates.push(fixedUuids[index % fixedUuids.length]);
      if (schema.format === "date-time") candidates.push(`2030-01-0${(index % 9) + 1}T09:00:00Z`);
      if (schema.format === "email") candidates.push(`someone${index}@example.com`);
      if (schema.format === "uri") candidates.push(`https://example.com/${index}`);
      const word = `item${index}`;
      candidates.push(word.padEnd(schema.minLength ?? 0, "x"));
    }
    if (type === "integer" || type === "number") {
      candidates.push((schema.minimum ?? 0) + index, schema.minimum ?? 1);
    }
    if (type === "boolean") candidates.push(index % 2 === 0);
    if (type === "array") {
      const items = schema.items;
      const size = schema.minItems ?? 0;
      const made = Array.from({ length: size }, (_, at) =>
        items ? validExample(items, document, at) : `item${at}`,
      );
      if (!made.includes(undefined)) candidates.push(made);
    }
    if (type === "object") {
      const made: Record<string, unknown> = {};
      for (const name of schema.required ?? []) {
        const property = schema.properties?.[name];
        made[name] = property ? validExample(property, document) : "value";
      }
      candidates.push(made);
    }
    if (type === "null") candidates.push(null);
  }
  return candidates;
}

/** Strings to try against a pattern until enough do not match it. */
const patternMisses = ["not matching!", "#zzzzzz", "a\tb", "a\nb", "\u0007", "é", " "];

function stringCandidates(schema: JsonSchema): InvalidValue<string>[] {
  const out: InvalidValue<string>[] = [];
  if (schema.minLength !== undefined && schema.minLength >= 1) {
    out.push({
      label: `shorter than minLength ${schema.minLength}`,
      value: "a".repeat(schema.minLength - 1),
    });
  }
  if (schema.maxLength !== undefined) {
    out.push({
      label: `longer than maxLength ${schema.maxLength}`,
      value: "a".repeat(schema.maxLength + 1),
    });
  }
  if (schema.enum) out.push({ label: "not in the enum", value: "not-listed" });
  if (typeof schema.const === "string") {
    out.push({ label: `not the constant "${schema.const}"`, value: `${schema.const}-not` });
  }
  // A listed value in upper case: dropped below when the enum lists it that way too.
  const first = schema.enum?.[0] ?? schema.const;
  if (typeof first === "string" && first.toUpperCase() !== first) {
    out.push({ label: `"${first}" in upper case`, value: first.toUpperCase() });
  }
  switch (schema.format) {
    case "uuid":
      out.push({ label: "not a uuid", value: "not-a-uuid" });
      out.push({ label: "a uuid one digit short", value: fixedUuids[0]!.slice(0, -1) });
      // Postgres would take these two forms; the document's format does not.
      out.push({ label: "a uuid without hyphens", value: fixedUuids[0]!.replaceAll("-", "") });
      out.push({ label: "a uuid in braces", value: `{${fixedUuids[0]}}` });
      break;
    case "date-time":
      out.push({ label: "not a date-time", value: "not-a-date" });
      out.push({ label: "an impossible date (February 30)", value: "2030-02-30T09:00:00Z" });
      out.push({ label: "a date without a time", value: "2030-01-01" });
      out.push({ label: "a date-time without an offset", value: "2030-01-01T09:00:00" });
      out.push({ label: "hour 24", value: "2030-01-01T24:00:00Z" });
      // Postgres and Date.parse would take this one; the document's format does not.
      out.push({ label: "a space for the T", value: "2030-01-01 09:00:00Z" });
      out.push({ label: "an offset beyond 23:59", value: "2030-01-01T09:00:00+24:00" });
      break;
    case "email":
      out.push({ label: "not an email address", value: "not-an-email" });
      out.push({ label: "an email address without a domain", value: "someone@" });
      break;
    case "uri":
    case "url":
      out.push({ label: "not a URI", value: "not a uri" });
      break;
  }
  if (schema.pattern !== undefined && schema.format === undefined) {
    const pattern = regex(schema.pattern);
    const misses = patternMisses.filter((text) => !pattern.test(text)).slice(0, 2);
    for (const text of misses) {
      out.push({ label: `not matching the pattern ${schema.pattern}`, value: text });
    }
  }
  return out;
}

function numberCandidates(schema: JsonSchema, integer: boolean): InvalidValue<number>[] {
  const out: InvalidValue<number>[] = [];
  if (schema.minimum !== undefined) {
    out.push({ label: `below minimum ${schema.minimum}`, value: schema.minimum - 1 });
  }
  if (schema.maximum !== undefined) {
    out.push({ label: `above maximum ${schema.maximum}`, value: schema.maximum + 1 });
  }
  if (schema.exclusiveMinimum !== undefined) {
    out.push({
      label: `at exclusiveMinimum ${schema.exclusiveMinimum}`,
      value: schema.exclusiveMinimum,
    });
  }
  if (schema.exclusiveMaximum !== undefined) {
    out.push({
      label: `at exclusiveMaximum ${schema.exclusiveMaximum}`,
      value: schema.exclusiveMaximum,
    });
  }
  if (integer) out.push({ label: "not an integer", value: (schema.minimum ?? 1) + 0.5 });
  return out;
}

function dedupeRejected<T>(
  candidates: InvalidValue<T>[],
  rejects: (value: T) => boolean,
): InvalidValue<T>[] {
  const seen = new Set<string>();
  return candidates.filter(({ value }) => {
    const key = JSON.stringify(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return rejects(value);
  });
}

/**
 * Invalid JSON values for a body field: a wrong JSON type, null where the
 * field is not nullable, out-of-range numbers, lengths and item counts,
 * values outside an enum, strings off their format or pattern, array items
 * that are invalid themselves, and objects with an unknown or missing field.
 * Nested properties of an object are left to the caller, which names them.
 */
export function invalidBodyValues(schema: JsonSchema, document: OpenApiDocument): InvalidValue[] {
  const candidates: InvalidValue[] = [];
  for (const branch of branches(schema, document)) {
    const types = typesOf(branch);
    if (types.includes("string")) {
      candidates.push({ label: "a number for a string", value: 12345 });
      candidates.push(...stringCandidates(branch));
      candidates.push({ label: "an empty string", value: "" });
    }
    for (const type of ["integer", "number"]) {
      if (!types.includes(type)) continue;
      candidates.push({
        label: `a string for ${type === "integer" ? "an" : "a"} ${type}`,
        value: "1",
      });
      candidates.push(...numberCandidates(branch, type === "integer"));
    }
    if (types.includes("boolean")) {
      candidates.push({ label: "a string for a boolean", value: "true" });
      candidates.push({ label: "a number for a boolean", value: 1 });
    }
    if (types.includes("array")) {
      candidates.push({ label: "an object for an array", value: {} });
      candidates.push({ label: "a string for an array", value: "item" });
      const items = branch.items;
      const example = (at: number) => (items ? validExample(items, document, at) : `item${at}`);
      if (branch.maxItems !== undefined) {
        const made = Array.from({ length: branch.maxItems + 1 }, (_, at) => example(at));
        if (!made.includes(undefined)) {
          candidates.push({ label: `more than maxItems ${branch.maxItems}`, value: made });
        }
      }
      if (branch.minItems !== undefined && branch.minItems >= 1) {
        const made = Array.from({ length: branch.minItems - 1 }, (_, at) => example(at));
        if (!made.includes(undefined)) {
          candidates.push({ label: `fewer than minItems ${branch.minItems}`, value: made });
        }
      }
      if (items) {
        for (const item of invalidBodyValues(items, document)) {
          candidates.push({ label: `an item that is ${item.label}`, value: [item.value] });
        }
      }
    }
    if (types.includes("object") || branch.properties) {
      candidates.push({ label: "an array for an object", value: [] });
      candidates.push({ label: "a string for an object", value: "object" });
      const base = (validExample(branch, document) ?? {}) as Record<string, unknown>;
      if (branch.additionalProperties === false) {
        candidates.push({
          label: "an object with an unknown field",
          value: { ...base, notAField: 1 },
        });
      }
      for (const name of branch.required ?? []) {
        const { [name]: _missing, ...rest } = base;
        candidates.push({ label: `an object without its required "${name}"`, value: rest });
      }
    }
  }
  candidates.push({ label: "null where the field is not nullable", value: null });
  return dedupeRejected(candidates, (value) => !accepts(schema, value, document));
}

/**
 * How the document's query schema reads a string from the wire: integers and
 * numbers as decimal numerals, booleans as true/false; anything else stays a
 * string (and then fails a numeric schema's type check).
 */
function fromWire(schema: JsonSchema, raw: string): unknown[] {
  const types = typesOf(schema);
  const readings: unknown[] = [];
  if (types.includes("integer") && /^-?\d+$/.test(raw)) readings.push(Number(raw));
  if (types.includes("number") && /^-?\d+(\.\d+)?$/.test(raw)) readings.push(Number(raw));
  if (types.includes("boolean") && (raw === "true" || raw === "false")) {
    readings.push(raw === "true");
  }
  readings.push(raw);
  return readings;
}

/** Whether the schema accepts a query parameter as sent on the wire. */
export function acceptsWire(
  schema: JsonSchema,
  raw: WireValue,
  document: OpenApiDocument,
): boolean {
  if (Array.isArray(raw)) {
    return branches(schema, document).some((branch) => typesOf(branch).includes("array"));
  }
  return branches(schema, document).some((branch) =>
    fromWire(branch, raw).some((reading) => accepts(branch, reading, document)),
  );
}

/**
 * Invalid values for a query or path parameter, as the strings a URL
 * carries: "abc" or "1.5" for an integer, numbers out of range ("-1" where
 * the minimum is not negative), "" where a value is required or must not be
 * empty, strings off their length, enum, format or pattern, and (for a query
 * parameter) the parameter repeated, which a server reads as an array.
 */
export function invalidWireValues(
  schema: JsonSchema,
  document: OpenApiDocument,
  options: { required: boolean; repeatable: boolean; valid?: string },
): InvalidValue<WireValue>[] {
  const candidates: InvalidValue<WireValue>[] = [];
  for (const branch of branches(schema, document)) {
    const types = typesOf(branch);
    for (const type of ["integer", "number"]) {
      if (!types.includes(type)) continue;
      candidates.push({
        label: `"abc" for ${type === "integer" ? "an" : "a"} ${type}`,
        value: "abc",
      });
      if (type === "integer") candidates.push({ label: "not an integer", value: "1.5" });
      for (const { label, value } of numberCandidates(branch, false)) {
        candidates.push({ label, value: String(value) });
      }
      if (branch.minimum !== undefined && branch.minimum >= 0) {
        candidates.push({ label: `negative where the minimum is ${branch.minimum}`, value: "-1" });
      }
    }
    if (types.includes("boolean")) {
      candidates.push({ label: "not true or false", value: "yes" });
    }
    if (types.includes("string")) {
      for (const { label, value } of stringCandidates(branch)) candidates.push({ label, value });
    }
  }
  candidates.push({
    label: options.required ? "empty where a value is required" : "an empty value",
    value: "",
  });
  if (options.repeatable) {
    const valid = options.valid ?? validExample(schema, document);
    if (typeof valid === "string" || typeof valid === "number" || typeof valid === "boolean") {
      candidates.push({
        label: "repeated (read as an array)",
        value: [String(valid), String(valid)],
      });
    }
  }
  return dedupeRejected(candidates, (value) => !acceptsWire(schema, value, document));
}
