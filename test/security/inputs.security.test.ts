import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../harness.ts";
import { expectValidationError } from "../tasks-helpers.ts";
import { type RouteRule, routeMatrix, type SuiteRequest } from "./matrix.ts";
import { buildWorld, type World } from "./world.ts";

/**
 * The generated text suite: for every `/v1` operation of the security matrix
 * (which the OpenAPI document keeps complete), every string the client
 * sends, in the body at any depth and in the query, once with a NUL character
 * and once with an unpaired surrogate. Postgres can store neither; the answer
 * must be 400 validation_failed naming that field, never a 500.
 */
const t = useTestApp();
let world: World;

beforeAll(async () => {
  world = await buildWorld(t.app, t.database);
});

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/**
 * Optional free-text fields the matrix's minimal requests leave out, so that
 * they are covered too. Each must keep the request valid.
 */
const richer: Record<
  string,
  { payload?: Record<string, unknown>; query?: Record<string, string> }
> = {
  "GET /v1/tasks": { query: { q: "plants", tag: "home", status: "open", sort: "dueAt" } },
  "POST /v1/tasks": {
    payload: { description: "Some words", tags: ["home", "garden"], due: "tomorrow 5pm" },
  },
  "PATCH /v1/tasks/{id}": {
    payload: { description: "Other words", tags: ["work"], recurrence: "every monday" },
  },
  "POST /v1/ai/digest": { payload: { filter: { q: "plants", tag: "home" } } },
  "PATCH /v1/me": { payload: { image: "https://example.com/me.png" } },
};

function whoSucceeds(rule: RouteRule) {
  if (rule.minRole === "self") return world.users.outsider;
  if (rule.minRole === "systemAdmin") return world.users.systemAdmin;
  return world.users[rule.minRole];
}

async function enrichedRequest(key: string, rule: RouteRule): Promise<SuiteRequest> {
  const request = await rule.build(world);
  const extra = richer[key];
  if (!extra) return request;
  const url = new URL(request.url, "http://suite.invalid");
  for (const [name, value] of Object.entries(extra.query ?? {})) url.searchParams.set(name, value);
  const payload =
    extra.payload === undefined
      ? request.payload
      : { ...(request.payload as Record<string, unknown>), ...extra.payload };
  return { url: `${url.pathname}${url.search}`, payload };
}

type Path = (string | number)[];

/** Every string leaf of a JSON value, with its path. */
function stringLeaves(value: unknown, path: Path = []): Path[] {
  if (typeof value === "string") return [path];
  if (Array.isArray(value))
    return value.flatMap((item, index) => stringLeaves(item, [...path, index]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, [...path, key]));
  }
  return [];
}

function withLeaf(value: unknown, path: Path, change: (text: string) => string): unknown {
  if (path.length === 0) return change(value as string);
  const [head, ...rest] = path as [string | number, ...Path];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = withLeaf(copy[head], rest, change);
  return copy;
}

/**
 * How to spoil a string. An unpaired surrogate cannot travel in a URL: its
 * UTF-8 form does not exist, and URLSearchParams writes U+FFFD instead; a
 * percent-encoded CESU-8 form (%ED%A0%80) reaches the route undecoded.
 */
const spoilers: Array<{ label: string; spoil: (text: string) => string; inUrl: boolean }> = [
  {
    label: "a NUL character",
    spoil: (text) => `${text.slice(0, 1)}\u0000${text.slice(1)}`,
    inUrl: true,
  },
  { label: "an unpaired surrogate", spoil: (text) => `${text}\uD800`, inUrl: false },
];

/** Operations that take no client text at all (no body strings, no query, no path parameter). */
const textFree = new Set([
  "GET /v1/workspaces",
  "GET /v1/api-keys",
  "GET /v1/me/activity",
  "GET /v1/conversations",
  "GET /v1/me",
]);

const routes = Object.entries(routeMatrix).map(([key, rule]) => {
  const [method, template] = key.split(" ") as [Method, string];
  return { key, method, template, rule };
});

type Case = { field: string; url: string; payload: unknown };

function spoiledCases(
  template: string,
  request: SuiteRequest,
  spoil: (text: string) => string,
  inUrl: boolean,
): Case[] {
  const cases: Case[] = stringLeaves(request.payload).map((path) => ({
    field: path.join("."),
    url: request.url,
    payload: withLeaf(request.payload, path, spoil),
  }));
  if (!inUrl) return cases;
  const url = new URL(request.url, "http://suite.invalid");
  for (const [name, value] of url.searchParams) {
    const spoiled = new URL(url);
    spoiled.searchParams.set(name, spoil(value));
    cases.push({
      field: name,
      url: `${spoiled.pathname}${spoiled.search}`,
      payload: request.payload,
    });
  }
  const names = template.split("/");
  const segments = url.pathname.split("/");
  names.forEach((name, index) => {
    const parameter = /^\{(.+)\}$/.exec(name)?.[1];
    if (!parameter) return;
    const spoiledSegments = [...segments];
    spoiledSegments[index] = encodeURIComponent(spoil(segments[index] as string));
    cases.push({
      field: parameter,
      url: `${spoiledSegments.join("/")}${url.search}`,
      payload: request.payload,
    });
  });
  return cases;
}

for (const { key, method, template, rule } of routes) {
  describe(key, () => {
    it("succeeds as built, with its optional text fields filled in", async () => {
      const request = await enrichedRequest(key, rule);
      const response = await t.app.inject({
        method,
        url: request.url,
        payload: request.payload as never,
        headers: whoSucceeds(rule).headers,
      });
      expect(response.statusCode, response.body).toBeLessThan(300);
    });

    for (const { label, spoil, inUrl } of spoilers) {
      it(`answers 400 naming the field for ${label} in any string it is sent`, async () => {
        const request = await enrichedRequest(key, rule);
        const cases = spoiledCases(template, request, spoil, inUrl);
        if (textFree.has(key)) {
          expect(spoiledCases(template, request, spoil, true), "listed as text-free").toEqual([]);
          return;
        }
        if (inUrl) expect(cases.length, "a request with client text").toBeGreaterThan(0);
        for (const spoiled of cases) {
          const response = await t.app.inject({
            method,
            url: spoiled.url,
            payload: spoiled.payload as never,
            headers: whoSucceeds(rule).headers,
          });
          expect(response.statusCode, `${spoiled.field}: ${response.body}`).toBe(400);
          expectValidationError(response, spoiled.field);
        }
      });
    }
  });
}
