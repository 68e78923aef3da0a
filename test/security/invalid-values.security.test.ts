import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { openDatabase } from "../../src/platform/db/pool.ts";
import { useTestApp } from "../harness.ts";
import { injectOnce } from "../inject.ts";
import { expectValidationError } from "../tasks-helpers.ts";
import {
  accepts,
  type InvalidValue,
  invalidBodyValues,
  invalidWireValues,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  objectSchema,
  resolve,
  type WireValue,
} from "./invalid-values.ts";
import {
  enrichedRequest,
  expectEnrichedRequestSucceeds,
  type Method,
  type RouteRule,
  routeMatrix,
  type SuiteRequest,
  whoSucceeds,
} from "./matrix.ts";
import { buildWorld, type World } from "./world.ts";

/**
 * The generated invalid-values suite: for every `/v1` operation of the
 * security matrix, every body field the OpenAPI document describes (those
 * the valid request sends, and the optional ones it leaves out, nested ones
 * included), every query parameter and every path parameter is sent with
 * values the document says are invalid (invalid-values.ts derives them from
 * the field's schema). Each must answer 400 problem+json validation_failed
 * with an errors[] entry naming the field: never a 500, never a 2xx.
 */

/**
 * The document the app serves, read while the tests are collected (they are
 * registered per field), from an app on an empty in-memory database: the
 * document does not depend on data. The first test checks that the app under
 * test serves the same one.
 */
async function servedDocument(): Promise<OpenApiDocument> {
  const database = await openDatabase({ dataDir: "memory://" });
  const app = await buildApp({
    database,
    authSecret: "test-secret-test-secret-test-secret-0123",
    publicUrl: "http://localhost:3000",
    logLevel: "silent",
    rateLimit: false,
    overload: false,
    search: { worker: false },
  });
  try {
    await app.ready();
    const response = await app.inject({ method: "GET", url: "/openapi.json" });
    if (response.statusCode !== 200) {
      throw new Error(`GET /openapi.json: ${response.statusCode} ${response.body}`);
    }
    return response.json<OpenApiDocument>();
  } finally {
    await app.close();
    await database.close();
  }
}

const document = await servedDocument();

const t = useTestApp();
let world: World;

beforeAll(async () => {
  world = await buildWorld(t.app, t.database);
});

/**
 * Fields of the valid request that rule out the spoiled one whatever its
 * value (tasks: "give either dueAt or due, not both"). They are left out
 * while it is spoiled, so the 400 is about its value alone.
 */
const exclusive: Record<string, Record<string, string[]>> = {
  "POST /v1/tasks": { dueAt: ["due"] },
  "PATCH /v1/tasks/{id}": { dueAt: ["due"] },
};

/** The payload without the fields that rule out `field`. */
function without(key: string, field: string, payload: unknown): unknown {
  const excluded = exclusive[key]?.[field];
  if (!excluded || payload === null || typeof payload !== "object") return payload;
  return Object.fromEntries(Object.entries(payload).filter(([name]) => !excluded.includes(name)));
}

/** The payload with the value at `path` replaced (or added, with any object on the way). */
function withValue(payload: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  const base =
    payload !== null && typeof payload === "object" && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : {};
  return { ...base, [head]: withValue(base[head], rest, value) };
}

/** A request body or answer for a message: long strings shortened. */
function brief(value: unknown, limit = 400): string {
  const text =
    JSON.stringify(value, (_key, item) =>
      typeof item === "string" && item.length > 60
        ? `${item.slice(0, 12)}… (${item.length} characters)`
        : item,
    ) ?? "undefined";
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

type Sent = { method: Method; url: string; payload?: unknown; raw?: boolean };

async function send(rule: RouteRule, sent: Sent) {
  const headers: Record<string, string> = { ...whoSucceeds(world, rule).headers };
  if (sent.raw) headers["content-type"] = "application/json";
  return injectOnce(t.app, {
    method: sent.method,
    url: sent.url,
    headers,
    payload: (sent.raw ? JSON.stringify(sent.payload) : sent.payload) as never,
  });
}

/**
 * Sends every case, collecting the ones not refused as they should be (so
 * one run lists all of a field's failures), and fails with that list. A case
 * the app took (< 400) may have changed or used up the resources, so the
 * valid request is built afresh before the next one.
 */
async function expectAllRefused<T>(
  key: string,
  rule: RouteRule,
  field: string,
  values: InvalidValue<T>[],
  spoil: (request: SuiteRequest, value: T) => Sent,
) {
  expect(values.length, `invalid values for ${field}`).toBeGreaterThan(0);
  let request = await enrichedRequest(world, key, rule);
  const failures: string[] = [];
  for (const { label, value } of values) {
    const sent = spoil(request, value);
    const response = await send(rule, sent);
    try {
      expect(response.statusCode, `${field} ${label}`).toBe(400);
      expectValidationError(response, field);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      failures.push(
        `${field} = ${brief(value, 120)} (${label}): ${sent.method} ${sent.url}` +
          `${sent.payload === undefined ? "" : ` ${brief(sent.payload)}`}` +
          ` -> ${response.statusCode} ${brief(response.body, 300)} [${reason}]`,
      );
    }
    if (response.statusCode < 400) request = await enrichedRequest(world, key, rule);
  }
  expect(failures, `${failures.length} of ${values.length} invalid values of ${field}`).toEqual([]);
}

/** The JSON body schema of an operation, resolved. */
function bodySchema(operation: OpenApiOperation): JsonSchema | undefined {
  const schema = operation.requestBody?.content?.["application/json"]?.schema;
  return schema && resolve(schema, document);
}

/** Every property the body schema documents, at any depth, with its path. */
function bodyFields(
  schema: JsonSchema,
  path: string[] = [],
): Array<{
  path: string[];
  schema: JsonSchema;
}> {
  const object = objectSchema(schema, document);
  if (!object?.properties || path.length > 5) return [];
  return Object.entries(object.properties).flatMap(([name, property]) => [
    { path: [...path, name], schema: property },
    ...bodyFields(property, [...path, name]),
  ]);
}

const routes = Object.entries(routeMatrix).map(([key, rule]) => {
  const [method, template] = key.split(" ") as [Method, string];
  const operation = document.paths[template]?.[method.toLowerCase()];
  return { key, method, template, rule, operation };
});

describe("the generated cases", () => {
  it("come from the document the app under test serves", async () => {
    const response = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(response.statusCode, response.body).toBe(200);
    const served = response.json<OpenApiDocument>();
    expect(served.paths).toEqual(document.paths);
    expect(served.components?.schemas).toEqual(document.components?.schemas);
  });

  it("cover every /v1 operation of the document", () => {
    const documented = Object.entries(document.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      );
    expect(routes.map((route) => route.key).sort()).toEqual(documented.sort());
    for (const route of routes) expect(route.operation, route.key).toBeDefined();
  });
});

for (const { key, method, template, rule, operation } of routes) {
  describe(key, () => {
    it("succeeds as built, with its optional fields filled in", async () => {
      await expectEnrichedRequestSucceeds(t.app, world, { key, method, rule });
    });

    if (!operation) return;
    const body = bodySchema(operation);

    if (body) {
      it("answers 400 naming the body for a body that is not an object", async () => {
        const values: InvalidValue[] = [
          { label: "an array", value: [] },
          { label: "a string", value: "text" },
          { label: "a number", value: 42 },
          { label: "null", value: null },
        ].filter(({ value }) => !accepts(body, value, document));
        await expectAllRefused(key, rule, "body", values, (request, value) => ({
          method,
          url: request.url,
          payload: value,
          raw: true,
        }));
      });

      for (const field of bodyFields(body)) {
        const name = field.path.join(".");
        it(`answers 400 naming body field ${name} for each invalid value`, async () => {
          await expectAllRefused(
            key,
            rule,
            name,
            invalidBodyValues(field.schema, document),
            (request, value) => ({
              method,
              url: request.url,
              payload: withValue(without(key, name, request.payload ?? {}), field.path, value),
            }),
          );
        });
      }
    }

    for (const parameter of operation.parameters ?? []) {
      const schema = parameter.schema;
      if (!schema || (parameter.in !== "query" && parameter.in !== "path")) continue;
      const { name } = parameter;
      if (parameter.in === "query") {
        it(`answers 400 naming query parameter ${name} for each invalid value`, async () => {
          const request = await enrichedRequest(world, key, rule);
          const current = new URL(request.url, "http://suite.invalid").searchParams.get(name);
          const values = invalidWireValues(schema, document, {
            required: parameter.required === true,
            repeatable: true,
            valid: current ?? undefined,
          });
          await expectAllRefused<WireValue>(key, rule, name, values, (fresh, value) => {
            const url = new URL(fresh.url, "http://suite.invalid");
            url.searchParams.delete(name);
            for (const item of [value].flat()) url.searchParams.append(name, item);
            return { method, url: `${url.pathname}${url.search}`, payload: fresh.payload };
          });
        });
      } else {
        const index = template.split("/").indexOf(`{${name}}`);
        it(`answers 400 naming path parameter ${name} for each invalid value`, async () => {
          expect(index, `{${name}} in ${template}`).toBeGreaterThan(0);
          // An empty segment would be another URL (another route, or none), not this one.
          const values = invalidWireValues(schema, document, {
            required: false,
            repeatable: false,
          }).filter(({ value }) => value !== "");
          await expectAllRefused<WireValue>(key, rule, name, values, (fresh, value) => {
            const url = new URL(fresh.url, "http://suite.invalid");
            const segments = url.pathname.split("/");
            segments[index] = encodeURIComponent(String(value));
            return { method, url: `${segments.join("/")}${url.search}`, payload: fresh.payload };
          });
        });
      }
    }
  });
}
