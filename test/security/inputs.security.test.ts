import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../harness.ts";
import { expectValidationError } from "../tasks-helpers.ts";
import {
  enrichedRequest,
  expectEnrichedRequestSucceeds,
  type Method,
  routeMatrix,
  type SuiteRequest,
  whoSucceeds,
} from "./matrix.ts";
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
      await expectEnrichedRequestSucceeds(t.app, world, { key, method, rule });
    });

    for (const { label, spoil, inUrl } of spoilers) {
      it(`answers 400 naming the field for ${label} in any string it is sent`, async () => {
        const request = await enrichedRequest(world, key, rule);
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
            headers: whoSucceeds(world, rule).headers,
          });
          expect(response.statusCode, `${spoiled.field}: ${response.body}`).toBe(400);
          expectValidationError(response, spoiled.field);
        }
      });
    }
  });
}
