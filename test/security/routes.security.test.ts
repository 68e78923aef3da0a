import { beforeAll, describe, expect, it } from "vitest";
import { type WorkspaceRole, workspaceRoles } from "../../src/modules/workspaces/schema.ts";
import { useTestApp } from "../harness.ts";
import { injectOnce } from "../inject.ts";
import { expectProblem } from "../tasks-helpers.ts";
import { type Method, routeMatrix, type SuiteRequest } from "./matrix.ts";
import { buildWorld, type World } from "./world.ts";

/**
 * The generated security suite (OWASP API1/API5: broken object- and
 * function-level authorization). For every `/v1` operation in the served
 * OpenAPI document: no credentials -> 401, a user outside the workspace ->
 * 404, the role just below the route's minimum -> 403 while the minimum
 * succeeds.
 */
const t = useTestApp();
let world: World;

beforeAll(async () => {
  world = await buildWorld(t.app, t.database);
});

const routes = Object.entries(routeMatrix).map(([key, rule]) => {
  const [method, path] = key.split(" ") as [Method, string];
  return { key, method, path, rule };
});

function send(method: Method, request: SuiteRequest, headers: Record<string, string> = {}) {
  return injectOnce(t.app, {
    method,
    url: request.url,
    payload: request.payload as never,
    headers,
  });
}

/** Roles from lowest to highest. */
const ascending = [...workspaceRoles].reverse();
const roleBelow = (role: WorkspaceRole): WorkspaceRole | undefined =>
  ascending[ascending.indexOf(role) - 1];

function documentedOperations(document: { paths: Record<string, Record<string, unknown>> }) {
  const operations: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith("/v1/") && path !== "/v1") continue;
    for (const method of Object.keys(item)) {
      if (["get", "post", "put", "patch", "delete"].includes(method)) {
        operations.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return operations.sort();
}

it("covers every /v1 operation of the OpenAPI document, and nothing else", async () => {
  const response = await t.app.inject({ method: "GET", url: "/openapi.json" });
  expect(response.statusCode).toBe(200);
  expect(Object.keys(routeMatrix).sort()).toEqual(documentedOperations(response.json()));
});

it("documents, for every operation, the API-key scope this table expects", async () => {
  const document = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json<{
    paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
  }>();
  for (const { key, method, path, rule } of routes) {
    const security = document.paths[path]?.[method.toLowerCase()]?.security ?? [];
    const keyScopes = security.find((entry) => "apiKey" in entry)?.apiKey;
    expect(keyScopes, key).toEqual(
      rule.scope === "session" ? undefined : [rule.scope, ...(rule.extraScopes ?? [])],
    );
  }
});

// Tests are registered only where they apply, so none is ever skipped.
for (const { key, method, rule } of routes) {
  describe(key, () => {
    it("answers 401 without credentials", async () => {
      const response = await send(method, await rule.build(world));
      expectProblem(response, 401, "unauthenticated");
    });

    if (rule.minRole === "systemAdmin") {
      it("answers 403 to a user who is not a system admin, even a workspace owner", async () => {
        const response = await send(method, await rule.build(world), world.users.owner.headers);
        expectProblem(response, 403, "forbidden");
      });
      it("succeeds for a system admin", async () => {
        const response = await send(
          method,
          await rule.build(world),
          world.users.systemAdmin.headers,
        );
        expect(response.statusCode, response.body).toBeLessThan(300);
      });
      return;
    }

    if (rule.minRole === "self") {
      it("succeeds for any signed-in user", async () => {
        const response = await send(method, await rule.build(world), world.users.outsider.headers);
        expect(response.statusCode, response.body).toBeLessThan(300);
      });
      if (rule.ownedByCaller) {
        it("answers 404 to another user", async () => {
          const response = await send(method, await rule.build(world), world.users.owner.headers);
          expectProblem(response, 404, "not_found");
        });
      }
      return;
    }
    const minRole = rule.minRole;

    it("answers 404 to a user outside the workspace", async () => {
      const response = await send(method, await rule.build(world), world.users.outsider.headers);
      expectProblem(response, 404, "not_found");
    });

    it(`succeeds for ${minRole}`, async () => {
      const response = await send(method, await rule.build(world), world.users[minRole].headers);
      expect(response.statusCode, response.body).toBeLessThan(300);
    });

    const below = roleBelow(minRole);
    if (below) {
      it(`answers 403 to ${below}`, async () => {
        const response = await send(method, await rule.build(world), world.users[below].headers);
        expectProblem(response, 403, "forbidden");
      });
    }
  });
}
