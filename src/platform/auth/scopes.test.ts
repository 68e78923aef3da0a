import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { injectOnce } from "../../../test/inject.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "../../modules/api-keys/test-helpers.ts";
import { type Scope, scopes } from "./scopes.ts";

let unscopedRouteError: unknown;

const t = useTestApp({
  configure: (app) => {
    try {
      app.get("/v1/unscoped", async () => ({ leaked: true }));
    } catch (error) {
      unscopedRouteError = error;
    }
  },
});

type Operation = { security?: Array<Record<string, string[]>> };
type Document = { paths: Record<string, Record<string, Operation>> };
type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** Every /v1 operation in the served OpenAPI document, with the scope it documents. */
async function v1Operations() {
  const document = (await t.app.inject({ url: "/openapi.json" })).json<Document>();
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith("/v1/"))
    .flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => {
        const apiKey = operation.security?.find((entry) => "apiKey" in entry)?.apiKey;
        return {
          name: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase() as Method,
          url: path.replace(/\{\w+\}/g, "01900000-0000-7000-8000-000000000000"),
          scope: (apiKey?.[0] ?? "session") as Scope | "session",
          /** What a key needs besides `scope`. */
          extraScopes: (apiKey?.slice(1) ?? []) as Scope[],
        };
      }),
    );
}

describe("the scope matrix", () => {
  it("refuses, at start-up, a /v1 route that declares no scope", async () => {
    expect(String(unscopedRouteError)).toMatch(/GET \/v1\/unscoped declares no config\.scope/);
    expect(t.app.hasRoute({ method: "GET", url: "/v1/unscoped" })).toBe(false);
    expect((await t.app.inject({ url: "/v1/unscoped" })).body).not.toContain("leaked");
  });

  it("covers every /v1 route: no credentials 401, a key without the scope 403, with it through", async () => {
    const user = await signUp(t.app);
    const operations = await v1Operations();
    expect(operations.length).toBeGreaterThan(20);
    const everything = await createApiKey(t.app, user, { scopes: [...scopes] });
    const only = new Map<Scope, string>();
    const allBut = new Map<Scope, string>();
    for (const scope of scopes) {
      only.set(scope, (await createApiKey(t.app, user, { scopes: [scope] })).key);
      const others = scopes.filter((other) => other !== scope);
      allBut.set(scope, (await createApiKey(t.app, user, { scopes: others })).key);
    }
    const call = (operation: (typeof operations)[number], headers: Record<string, string>) =>
      injectOnce(t.app, {
        method: operation.method,
        url: operation.url,
        headers,
        ...(["POST", "PATCH", "PUT"].includes(operation.method) ? { payload: {} } : {}),
      });

    for (const operation of operations) {
      const anonymous = await call(operation, {});
      expect(anonymous.statusCode, `${operation.name} without credentials`).toBe(401);
      if (operation.scope === "session") {
        const refused = await call(operation, keyHeaders(everything));
        expect(refused.statusCode, `${operation.name} with an all-scopes key`).toBe(403);
        expectProblem(refused, 403, "forbidden");
        continue;
      }
      const without = await call(operation, keyHeaders(allBut.get(operation.scope) ?? ""));
      expect(without.statusCode, `${operation.name} without ${operation.scope}`).toBe(403);
      expect(expectProblem(without, 403, "forbidden").detail).toContain(`"${operation.scope}"`);
      const needed = [operation.scope, ...operation.extraScopes];
      for (const extra of operation.extraScopes) {
        const partial = await call(operation, keyHeaders(allBut.get(extra) ?? ""));
        expect(expectProblem(partial, 403, "forbidden").detail).toContain(`"${extra}"`);
      }
      const key =
        operation.extraScopes.length === 0
          ? (only.get(operation.scope) ?? "")
          : (await createApiKey(t.app, user, { scopes: needed })).key;
      const granted = await call(operation, keyHeaders(key));
      expect([401, 403], `${operation.name} with ${needed.join(", ")}`).not.toContain(
        granted.statusCode,
      );
    }
  });
});
