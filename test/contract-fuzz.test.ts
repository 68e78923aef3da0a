/**
 * Contract fuzzing: every operation of the committed OpenAPI document (the
 * auth and compatibility routes too, not only /v1) gets a valid request
 * built from its schemas and fresh fixtures, then the same request with one
 * input replaced (fast-check): a path parameter, a query parameter (or one
 * the operation does not have), a body field (nested ones one level down),
 * the whole body, or a request header the API reads. The values are hostile text and JSON, and the values
 * the security suite derives from each schema as invalid
 * (security/invalid-values.ts).
 *
 * Whatever the value: a success or a problem+json with its code and status,
 * never a 500, a stack trace or Postgres' own words, and a 400 names the
 * input. Where the document rules the value out, the answer is a refusal.
 *
 * The seed is fixed so CI is repeatable; `FUZZ_SEED=<n> FUZZ_RUNS=<n>` explores
 * further (a failure prints the seed and the shrunk input to replay it).
 */

import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { v7 as newId } from "uuid";
import { beforeAll, describe, expect, it } from "vitest";
import contract from "../docs/openapi.json" with { type: "json" };
import { call, createWorkspace, invite, join } from "../src/modules/workspaces/test-helpers.ts";
import { signUp, type TestUser, useTestApp } from "./harness.ts";
import { injectOnce } from "./inject.ts";
import {
  accepts,
  acceptsWire,
  invalidBodyValues,
  invalidWireValues,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  resolve as resolveRef,
  validExample,
  type WireValue,
} from "./security/invalid-values.ts";
import { createCategory, createTask } from "./tasks-helpers.ts";

type Endpoint = { method: string; path: string; operation: OpenApiOperation };

const t = useTestApp();

const seed = Number(process.env.FUZZ_SEED ?? 20261206);
const numRuns = Number(process.env.FUZZ_RUNS ?? 24);

const document = contract as unknown as OpenApiDocument;
const resolve = (schema: JsonSchema) => resolveRef(schema, document);

/**
 * Everything but /mcp and /graphql, whose errors are JSON-RPC messages and
 * GraphQL `errors` by protocol (the MCP SDK client tests and
 * test/graphql.test.ts, which fuzzes documents and variables, cover them),
 * and the OAuth callback, a browser redirect that answers with a page, not JSON.
 */
const endpoints: Endpoint[] = Object.entries(document.paths)
  .filter(
    ([path]) => path !== "/mcp" && path !== "/graphql" && !path.startsWith("/api/auth/callback/"),
  )
  .flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      operation,
    })),
  );

/** The ids a valid request for one operation refers to: its own, freshly made. */
type Fixtures = {
  owner: TestUser;
  member: TestUser;
  workspaceId: string;
  taskId: string;
  categoryId: string;
  apiKeyId: string;
  invitationId: string;
};

async function makeFixtures(): Promise<Fixtures> {
  const owner = await signUp(t.app);
  const member = await signUp(t.app);
  const workspace = await createWorkspace(t.app, owner);
  await join(t.app, owner, workspace.id, member, "member");
  const task = await createTask(t.app, owner, { title: "Fuzzed" });
  const category = await createCategory(t.app, owner, "Fuzzed");
  const key = await call(t.app, owner, "POST", "/v1/api-keys", {
    name: "fuzz",
    scopes: ["tasks:read"],
  });
  expect(key.statusCode, key.body).toBe(201);
  const invitation = await invite(t.app, owner, workspace.id, `friend-${randomUUID()}@example.com`);
  return {
    owner,
    member,
    workspaceId: workspace.id,
    taskId: task.id,
    categoryId: category.id,
    apiKeyId: key.json<{ id: string }>().id,
    invitationId: invitation.id,
  };
}

/** A valid value for a path parameter: the fixture the path names. */
function pathValue(path: string, name: string, fixtures: Fixtures): string {
  if (name === "user_id") return fixtures.owner.id;
  if (name === "userId") return fixtures.member.id;
  if (name === "invitationId") return fixtures.invitationId;
  if (path.startsWith("/v1/tasks/") || path.startsWith("/api/{user_id}/tasks/")) {
    return fixtures.taskId;
  }
  if (path.startsWith("/v1/categories/")) return fixtures.categoryId;
  if (path.startsWith("/v1/workspaces/") || path.startsWith("/v1/admin/workspaces/")) {
    return fixtures.workspaceId;
  }
  if (path.startsWith("/v1/api-keys/")) return fixtures.apiKeyId;
  if (path.startsWith("/v1/invitations/")) return fixtures.invitationId;
  // Conversations and approvals: none exist yet, a well-formed id is a 404.
  return newId();
}

/** What signUp gives every test user; password fields of a valid request send it. */
const password = "correct horse battery staple";

/**
 * A valid body: the security suite's example for the schema (required
 * fields only), with what it cannot know: the user's password in password
 * fields, and one field in an update that requires none.
 */
function validBody(schema: JsonSchema): Record<string, unknown> {
  const body = { ...(validExample(schema, document) as Record<string, unknown> | undefined) };
  const [first, property] = Object.entries(resolve(schema).properties ?? {})[0] ?? [];
  if (Object.keys(body).length === 0 && first && property) {
    body[first] = validExample(property, document);
  }
  for (const name of Object.keys(body)) if (/password$/i.test(name)) body[name] = password;
  return body;
}

/** Percent-encodings that decode to nothing valid; sent in a URL as they are, not encoded. */
const malformedEncodings = new Set(["%", "%zz", "%00", "%ED%A0%80", "%C0%AE%C0%AE"]);

/** Text a client may put anywhere a string goes. */
const hostileText = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "null",
    "undefined",
    "true",
    "0",
    "-1",
    "-0",
    "1e309",
    "NaN",
    "Infinity",
    "0x1F",
    "9".repeat(400),
    "../../etc/passwd",
    "' OR 1=1 --",
    '"; drop table tasks; --',
    "<script>alert(1)</script>",
    "__proto__",
    "constructor",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "2026-02-30T25:61:00Z",
    "+275760-09-13T00:00:00.000Z",
    "1970-01-01",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udfff trailing",
    "\u202e\u200b\ufeff",
    "🦄".repeat(60),
    "a".repeat(5_000),
    "every 0 days",
    ...malformedEncodings,
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);

/** Any JSON a client may send where one field goes. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    0.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    [],
    {},
    [null],
    ["x", 1, null],
    { nested: { deeper: [1, "two"] } },
    Array.from({ length: 2_000 }, (_, index) => index),
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 3 }),
);

type Mutation =
  | { kind: "path" | "query"; name: string; value: WireValue; raw: boolean }
  | { kind: "field"; name: string; value: unknown }
  | { kind: "body"; json: string }
  | { kind: "header"; name: string; value: string };

/** Request headers the API reads, each of which a client can get wrong. */
const fuzzedHeaders = [
  "authorization",
  "x-api-key",
  "content-type",
  "accept",
  "if-match",
  "if-none-match",
  "idempotency-key",
  "x-request-id",
  "origin",
  "cookie",
];

/** Values wrong for one header in particular, sent half of the time that header is picked. */
const headerSpecific: Record<string, string[]> = {
  authorization: ["Bearer", "Bearer ", "Bearer x.y.z", "Basic dXNlcjpwYXNz", "Bearer ".repeat(50)],
  "content-type": ["text/plain", "application/json; charset=utf-16", "application/xml", "*/*"],
  "if-match": ["*", "garbage", '"999999999999999999999"', '"-1"', 'W/"1"', '"1", garbage'],
  "if-none-match": ["*", "garbage", 'W/"1", "2", *'],
  "idempotency-key": [" ", "k".repeat(256), "key with\ttab"],
  "x-request-id": ["k".repeat(300), "<script>", "a b"],
  origin: ["null", "http://evil.example", "https://localhost:3000.evil.example"],
};

/** Header values: anything HTTP lets through (visible ASCII, spaces and tabs). */
const hostileHeaderValue = fc.oneof(
  hostileText.filter((value) => /^[\x20-\x7e\t]*$/.test(value)),
  fc.constantFrom(
    "Bearer",
    "Bearer ",
    "Bearer x.y.z",
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "Basic dXNlcjpwYXNz",
    "*",
    'W/"1", "2", *',
    '"999999999999999999999"',
    '"-1"',
    "text/plain",
    "application/json; charset=utf-16",
    "application/json; charset=",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json, text/html;q=0.9",
    "application/xml",
    "null",
    "better-auth.session_token=garbage",
    "k".repeat(300),
  ),
);

/** A request header the API reads, with a value for it. */
const headerMutations = fc.oneof(
  ...fuzzedHeaders.map((name) =>
    withDerived(hostileHeaderValue, headerSpecific[name] ?? []).map(
      (value): Mutation => ({ kind: "header", name, value }),
    ),
  ),
);

/** Raw URL text for a value: percent-encoded, unless it is one of the malformed encodings. */
function urlText(value: string, raw: boolean): string {
  if (raw) return value;
  try {
    return encodeURIComponent(value);
  } catch {
    return "%ED%A0%80"; // a lone surrogate has no UTF-8; send its malformed bytes instead
  }
}

const wholeBodies = fc.oneof(
  hostileJson.map((value) => JSON.stringify(value) ?? "null"),
  fc.constantFrom(
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
    `{"a":${'{"a":'.repeat(2_000)}1${"}".repeat(2_001)}`,
    '{"title": "x", "title": "y"}',
  ),
);

/**
 * Values for one input: the hostile ones above, and the ones the security
 * suite derives from its schema as invalid (off by one past a length or a
 * range, off the enum or pattern, repeated where one is expected).
 */
function withDerived<T>(hostile: fc.Arbitrary<T>, derived: T[]): fc.Arbitrary<T> {
  return derived.length > 0 ? fc.oneof(hostile, fc.constantFrom(...derived)) : hostile;
}

function parameterMutations(endpoint: Endpoint, kind: "path" | "query"): fc.Arbitrary<Mutation>[] {
  return (endpoint.operation.parameters ?? [])
    .filter((parameter) => parameter.in === kind)
    .map((parameter) => {
      const derived = invalidWireValues(parameter.schema ?? {}, document, {
        required: kind === "path" || parameter.required === true,
        repeatable: kind === "query",
      }).map((invalid) => invalid.value);
      const values = withDerived<WireValue>(hostileText, derived).filter(
        // An empty path segment is another URL, not this operation with an empty id.
        (value) => kind === "query" || value !== "",
      );
      return values.map(
        (value): Mutation => ({
          kind,
          name: parameter.name,
          value,
          raw: typeof value === "string" && malformedEncodings.has(value),
        }),
      );
    });
}

function mutations(endpoint: Endpoint): fc.Arbitrary<Mutation> {
  const body = requestSchema(endpoint);
  const queryNames = (endpoint.operation.parameters ?? [])
    .filter((parameter) => parameter.in === "query")
    .map((parameter) => parameter.name);
  const choices = [
    ...parameterMutations(endpoint, "path"),
    ...parameterMutations(endpoint, "query"),
  ];
  for (const name of body ? fieldPaths(body) : []) {
    const schema = body ? fieldSchema(body, name) : undefined;
    const derived = schema
      ? invalidBodyValues(schema, document).map((invalid) => invalid.value)
      : [];
    choices.push(
      withDerived(hostileJson, derived).map((value): Mutation => ({ kind: "field", name, value })),
    );
  }
  if (body) choices.push(wholeBodies.map((json): Mutation => ({ kind: "body", json })));
  // A query parameter the operation does not have.
  const unknown = ["unknown", "__proto__", "constructor", "limit", "cursor"].filter(
    (candidate) => !queryNames.includes(candidate),
  );
  choices.push(
    fc
      .tuple(fc.constantFrom(...unknown), hostileText)
      .map(([name, value]): Mutation => ({ kind: "query", name, value, raw: false })),
  );
  return fc.oneof(...choices);
}

/** The schema of a body field by its dotted path (`filter.priority`). */
function fieldSchema(body: JsonSchema, path: string): JsonSchema | undefined {
  let schema: JsonSchema | undefined = body;
  for (const segment of path.split(".")) {
    schema = schema ? resolve(schema).properties?.[segment] : undefined;
  }
  return schema;
}

/** A body's fields, and the fields of its object-valued fields: `filter`, `filter.priority`. */
function fieldPaths(schema: JsonSchema, prefix = "", depth = 0): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const path = `${prefix}${name}`;
    const resolved = resolve(property);
    const nested =
      depth < 1 && resolved.type === "object" ? fieldPaths(resolved, `${path}.`, depth + 1) : [];
    return [path, ...nested];
  });
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const child = target[head];
  const object =
    typeof child === "object" && child !== null && !Array.isArray(child)
      ? (child as Record<string, unknown>)
      : {};
  target[head] = object;
  setPath(object, rest, value);
}

function requestSchema(endpoint: Endpoint): JsonSchema | undefined {
  const schema = endpoint.operation.requestBody?.content?.["application/json"]?.schema;
  return schema ? resolve(schema) : undefined;
}

/** Whether the OpenAPI document says the mutated input is invalid. */
function ruledOut(endpoint: Endpoint, mutation: Mutation): boolean {
  if (mutation.kind === "path" || mutation.kind === "query") {
    // The router refuses a malformed path; a query's value is decoded leniently.
    if (mutation.raw) return mutation.kind === "path";
    const parameter = endpoint.operation.parameters?.find(
      (candidate) => candidate.in === mutation.kind && candidate.name === mutation.name,
    );
    // A name the operation does not have: refused where the operation takes
    // a query (API.md: lists answer 400 to unknown parameters); elsewhere
    // ignored, as HTTP servers commonly do (cache-busting parameters).
    if (!parameter?.schema) {
      return endpoint.operation.parameters?.some((candidate) => candidate.in === "query") ?? false;
    }
    const schema = parameter.schema;
    return variants(mutation.value).every((value) => !acceptsWire(schema, value, document));
  }
  if (mutation.kind === "header") return false; // the document describes no request headers
  const body = requestSchema(endpoint);
  if (!body) return false;
  if (mutation.kind === "body") return !accepts(body, JSON.parse(mutation.json), document);
  const schema = fieldSchema(body, mutation.name);
  if (schema === undefined) return false;
  return variants(mutation.value).every((value) => !accepts(schema, value, document));
}

/**
 * A value as sent, and as the API reads it: text inputs are trimmed before
 * they are checked and stored, so "Team\t" is the name "Team" with a tab
 * around it, accepted, although the documented pattern (no control
 * characters) rules the untrimmed text out.
 */
function variants<T>(value: T): T[] {
  return typeof value === "string" ? [value, value.trim() as T] : [value];
}

type Request = {
  method: string;
  url: string;
  payload?: string;
  headers?: Record<string, string>;
};

function buildRequest(endpoint: Endpoint, fixtures: Fixtures, mutation?: Mutation): Request {
  const request = urlAndBody(endpoint, fixtures, mutation);
  if (mutation?.kind !== "header") return request;
  return { ...request, headers: { [mutation.name]: mutation.value } };
}

function urlAndBody(endpoint: Endpoint, fixtures: Fixtures, mutation?: Mutation): Request {
  let url = endpoint.path;
  for (const parameter of endpoint.operation.parameters ?? []) {
    if (parameter.in !== "path") continue;
    const value =
      mutation?.kind === "path" && mutation.name === parameter.name
        ? urlText(String(mutation.value), mutation.raw)
        : pathValue(endpoint.path, parameter.name, fixtures);
    url = url.replace(`{${parameter.name}}`, value);
  }
  // Each parameter's values on the wire, already encoded; several = the parameter repeated.
  const query = new Map<string, string[]>();
  for (const parameter of endpoint.operation.parameters ?? []) {
    if (parameter.in === "query" && parameter.required) {
      const value = validExample(parameter.schema ?? {}, document);
      query.set(parameter.name, [encodeURIComponent(String(value))]);
    }
  }
  if (mutation?.kind === "query") {
    const values = Array.isArray(mutation.value) ? mutation.value : [mutation.value];
    query.set(
      mutation.name,
      values.map((value) => urlText(value, mutation.raw)),
    );
  }
  if (query.size > 0) {
    const pairs = [...query].flatMap(([name, values]) =>
      values.map((value) => `${encodeURIComponent(name)}=${value}`),
    );
    url += `?${pairs.join("&")}`;
  }
  const schema = requestSchema(endpoint);
  if (!schema) return { method: endpoint.method, url };
  if (mutation?.kind === "body") return { method: endpoint.method, url, payload: mutation.json };
  const body = validBody(schema);
  if (mutation?.kind === "field") setPath(body, mutation.name.split("."), mutation.value);
  return { method: endpoint.method, url, payload: JSON.stringify(body) };
}

async function send(request: Request, user: TestUser) {
  return injectOnce(t.app, {
    method: request.method as "GET",
    url: request.url,
    headers: {
      ...user.headers,
      ...(request.payload === undefined ? {} : { "content-type": "application/json" }),
      ...request.headers,
    },
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
}

type Problem = {
  code?: unknown;
  status?: unknown;
  detail?: unknown;
  errors?: Array<{ path?: unknown; message?: unknown }>;
};

const leaks = [
  /\n\s+at .+:\d+:\d+/, // a stack frame
  /node_modules|\/src\/|\.ts:\d+/,
  /syntax error at or near|violates .* constraint|relation "|column "|invalid input syntax for type/i,
];

/** The checks every answer passes; `field` is the input a 400 must name. */
function checkAnswer(
  response: Awaited<ReturnType<typeof send>>,
  field: string | undefined,
  where: string,
) {
  const status = response.statusCode;
  expect(status, `${where}: ${response.body.slice(0, 300)}`).not.toBe(500);
  // 502/503/504 are upstream answers (the AI vendors); nothing else is 5xx.
  expect([502, 503, 504].includes(status) || status < 500, where).toBe(true);
  for (const pattern of leaks) {
    expect(response.body, `${where}: leaks ${pattern}`).not.toMatch(pattern);
  }
  if (status < 400) return;
  expect(String(response.headers["content-type"]), where).toMatch(/^application\/problem\+json/);
  const problem = response.json<Problem>();
  expect(typeof problem.code, `${where}: ${response.body}`).toBe("string");
  expect(problem.status, where).toBe(status);
  if (problem.code !== "validation_failed") return;
  const errors = problem.errors ?? [];
  expect(errors.length, `${where}: ${response.body}`).toBeGreaterThan(0);
  for (const error of errors) {
    expect(typeof error.path, where).toBe("string");
    expect(typeof error.message, where).toBe("string");
  }
  if (field === undefined) return;
  const paths = errors.map((error) => String(error.path));
  const named =
    paths.some((path) => path === field || path.startsWith(`${field}.`)) ||
    // The router refuses a malformed URL before it knows the parameters' names.
    paths.includes("path");
  expect(named, `${where}: expected "${field}" to be named, got ${response.body}`).toBe(true);
}

function describeMutation(mutation: Mutation): string {
  const shown = (value: unknown) => {
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
    return text.length > 80 ? `${text.slice(0, 80)}... (${text.length} chars)` : text;
  };
  if (mutation.kind === "body") return `body = ${shown(mutation.json)}`;
  return `${mutation.kind} ${mutation.name} = ${shown(mutation.value)}`;
}

describe("contract fuzzing", () => {
  let served: Set<string>;
  beforeAll(async () => {
    const response = await t.app.inject({ method: "GET", url: "/openapi.json" });
    const paths = response.json<{ paths: Record<string, Record<string, unknown>> }>().paths;
    served = new Set(
      Object.entries(paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
  });

  it("fuzzes the operations the app serves (the committed document is the served one)", () => {
    const committed = new Set(
      Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect([...committed].sort()).toEqual([...served].sort());
    expect(endpoints.length).toBeGreaterThan(70);
  });

  for (const [index, endpoint] of endpoints.entries()) {
    const name = `${endpoint.method} ${endpoint.path}`;
    it(`${name}: hostile inputs get a problem naming them, never a 500`, async () => {
      const fixtures = await makeFixtures();
      // The valid request itself must not be a validation failure, or the
      // mutations below would be judged against a request that was wrong anyway.
      const base = await send(buildRequest(endpoint, fixtures), fixtures.owner);
      checkAnswer(base, undefined, `${name} (valid request)`);
      // A password change replaces the session: go on with the new one.
      const token = base.statusCode === 200 && endpoint.path === "/api/auth/change-password";
      if (token)
        fixtures.owner.headers.authorization = `Bearer ${base.json<{ token: string }>().token}`;
      const baseProblem = base.statusCode === 400 ? base.json<Problem>() : undefined;
      expect(baseProblem?.code, `${name} (valid request): ${base.body}`).not.toBe(
        "validation_failed",
      );
      // Inputs of the document, then request headers, each with its own runs.
      // Each endpoint and each of its two properties draws its own sequence.
      const properties = [mutations(endpoint), headerMutations].entries();
      for (const [property, inputs] of properties) {
        await fc.assert(
          fc.asyncProperty(inputs, async (mutation) => {
            const request = buildRequest(endpoint, fixtures, mutation);
            const response = await send(request, fixtures.owner);
            const field =
              mutation.kind === "body" || mutation.kind === "header" ? undefined : mutation.name;
            const where = `${name}, ${describeMutation(mutation)}`;
            checkAnswer(response, field, where);
            if (mutation.kind === "header" && response.statusCode === 400) {
              // A header's problem names the header, or the body it made unreadable.
              const problem = response.json<Problem>();
              const paths = (problem.errors ?? []).map((error) => String(error.path).toLowerCase());
              const named = paths.includes(mutation.name) || problem.code === "malformed_json";
              expect(named, `${where}: ${response.body}`).toBe(true);
            }
            if (ruledOut(endpoint, mutation)) {
              // The document rules the value out: refused, whoever asks (401
              // once a sign-out or revocation under test ended the session;
              // 404 for a path the router cannot match at all).
              const refused = mutation.kind === "path" ? [400, 401, 404] : [400, 401];
              expect(refused, `${where}: ${response.body.slice(0, 300)}`).toContain(
                response.statusCode,
              );
            }
          }),
          { seed: seed + 2 * index + property, numRuns },
        );
      }
    });
  }
});
