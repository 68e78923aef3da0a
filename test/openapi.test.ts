import type { RouteOptions } from "fastify";
import { describe, expect, it, vi } from "vitest";
import { useTestApp } from "./harness.ts";

/**
 * Every route the app registers is captured by wrapping the Fastify factory:
 * the onRoute hook is installed on the root instance before buildApp adds a
 * single route or plugin, so it sees all of them (hooks are inherited by every
 * encapsulated child). A route added anywhere without documentation fails
 * this file; nothing in src knows about it.
 */
const registered = vi.hoisted(
  () =>
    [] as Array<{
      method: string;
      url: string;
      hidden: boolean;
      scope?: string;
      extraScopes?: string[];
    }>,
);

vi.mock("fastify", async (importOriginal) => {
  const actual = await importOriginal<typeof import("fastify")>();
  const wrapped = ((options: Parameters<typeof actual.default>[0]) => {
    const app = actual.default(options);
    app.addHook("onRoute", (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
      const { scope, extraScopes } = route.config ?? {};
      for (const method of methods) {
        registered.push({ method, url: route.url, hidden, scope, extraScopes });
      }
    });
    return app;
  }) as typeof actual.default;
  return { ...actual, default: wrapped, fastify: wrapped };
});

const t = useTestApp();

/** Every route in src/**\/routes.ts and health.ts, as the contract names it. */
const knownRoutes = [
  "GET /healthz",
  "GET /readyz",
  "POST /api/auth/sign-up/email",
  "POST /api/auth/sign-in/email",
  "POST /api/auth/sign-out",
  "GET /api/auth/get-session",
  "POST /api/auth/sign-in/social",
  "POST /api/auth/link-social",
  "GET /api/auth/callback/{providerId}",
  "GET /api/auth/token",
  "GET /api/auth/jwks",
  "GET /api/auth/list-sessions",
  "POST /api/auth/revoke-session",
  "POST /api/auth/revoke-other-sessions",
  "POST /api/auth/revoke-sessions",
  "POST /api/auth/change-password",
  "POST /api/auth/two-factor/enable",
  "POST /api/auth/two-factor/verify-totp",
  "POST /api/auth/two-factor/verify-backup-code",
  "POST /api/auth/two-factor/generate-backup-codes",
  "POST /api/auth/two-factor/disable",
  "GET /api/auth/admin/list-users",
  "POST /api/auth/admin/ban-user",
  "POST /api/auth/admin/unban-user",
  "POST /api/auth/admin/revoke-user-sessions",
  "GET /v1/tasks",
  "POST /v1/tasks",
  "POST /v1/tasks/quick",
  "GET /v1/tasks/{id}",
  "PATCH /v1/tasks/{id}",
  "DELETE /v1/tasks/{id}",
  "POST /v1/tasks/{id}/complete",
  "POST /v1/tasks/{id}/reopen",
  "POST /v1/tasks/{id}/restore",
  "GET /v1/tasks/{id}/activity",
  "GET /v1/search",
  "GET /v1/categories",
  "POST /v1/categories",
  "GET /v1/categories/{id}",
  "PATCH /v1/categories/{id}",
  "DELETE /v1/categories/{id}",
  "GET /v1/me",
  "PATCH /v1/me",
  "GET /v1/me/activity",
  "GET /api/{user_id}/tasks",
  "POST /api/{user_id}/tasks",
  "GET /api/{user_id}/tasks/{id}",
  "PUT /api/{user_id}/tasks/{id}",
  "DELETE /api/{user_id}/tasks/{id}",
  "PATCH /api/{user_id}/tasks/{id}/complete",
  "POST /api/{user_id}/chat",
  "GET /v1/workspaces",
  "POST /v1/workspaces",
  "GET /v1/workspaces/{id}",
  "PATCH /v1/workspaces/{id}",
  "DELETE /v1/workspaces/{id}",
  "POST /v1/workspaces/{id}/transfer",
  "GET /v1/workspaces/{id}/members",
  "PATCH /v1/workspaces/{id}/members/{userId}",
  "DELETE /v1/workspaces/{id}/members/{userId}",
  "POST /v1/workspaces/{id}/invitations",
  "GET /v1/workspaces/{id}/invitations",
  "DELETE /v1/workspaces/{id}/invitations/{invitationId}",
  "POST /v1/invitations/{id}/accept",
  "GET /v1/api-keys",
  "POST /v1/api-keys",
  "DELETE /v1/api-keys/{id}",
  "POST /v1/admin/workspaces/{id}/support-access",
  "POST /mcp",
  "GET /mcp",
  "DELETE /mcp",
  "POST /v1/chat",
  "POST /v1/chat/approvals/{id}",
  "GET /v1/conversations",
  "GET /v1/conversations/{id}/messages",
  "DELETE /v1/conversations/{id}",
];

/** Routes that may stay out of the document: the document itself, the docs UI, auth passthrough. */
const hiddenAllowed = [
  /^\/openapi\.json$/,
  /^\/docs(\/.*)?$/,
  /^\/api\/auth\/\*$/,
  // better-auth's own profile update, answered 404 (PATCH /v1/me is the way).
  /^\/api\/auth\/update-user$/,
];

type Operation = {
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  security?: unknown[];
  parameters?: Array<{ in: string; name: string }>;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** Registered routes as "METHOD /path", without Fastify's automatic HEAD twins. */
function routeKeys(hidden: boolean): string[] {
  const keys = registered
    .filter((route) => route.hidden === hidden && route.method !== "HEAD")
    .map((route) => `${route.method} ${toOpenApiPath(route.url)}`);
  return [...new Set(keys)].sort();
}

function documentedKeys(document: Document): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

function operation(document: Document, key: string): Operation {
  const [method = "", path = ""] = key.split(" ");
  const found = document.paths[path]?.[method.toLowerCase()];
  if (!found) throw new Error(`${key} is not in the OpenAPI document`);
  return found;
}

/** Statuses documented as the Problem schema under the media type errors really use. */
function problemStatuses(op: Operation): number[] {
  return Object.entries(op.responses)
    .filter(
      ([, response]) =>
        response.content?.["application/problem+json"]?.schema?.$ref ===
        "#/components/schemas/Problem",
    )
    .map(([status]) => Number(status));
}

async function servedDocument(): Promise<Document> {
  const response = await t.app.inject({ url: "/openapi.json" });
  expect(response.statusCode).toBe(200);
  expect(response.headers["content-type"]).toMatch(/^application\/json/);
  return response.json<Document>();
}

describe("GET /openapi.json", () => {
  it("serves an OpenAPI 3.1 document equal to the app's own", async () => {
    const document = await servedDocument();
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document).toEqual(JSON.parse(JSON.stringify(t.app.swagger())));
  });

  it("captured the app's routes, including every route the contract names", () => {
    expect(registered.length).toBeGreaterThan(knownRoutes.length);
    expect(routeKeys(false)).toEqual(expect.arrayContaining(knownRoutes));
  });

  it("documents every registered route, and only registered ones", async () => {
    const document = await servedDocument();
    expect(documentedKeys(document)).toEqual(routeKeys(false));
  });

  it("hides only the document itself, the docs UI and the auth passthrough (and its one refusal)", () => {
    for (const key of routeKeys(true)) {
      const path = key.split(" ")[1] ?? "";
      expect(
        hiddenAllowed.some((pattern) => pattern.test(path)),
        `${key} is hidden`,
      ).toBe(true);
    }
  });

  it("lists at least one 4xx problem+json answer on every API route", async () => {
    const document = await servedDocument();
    const operational = / \/(healthz|readyz|metrics)$/;
    for (const key of routeKeys(false).filter((route) => !operational.test(route))) {
      const statuses = problemStatuses(operation(document, key));
      expect(
        statuses.some((status) => status >= 400 && status < 500),
        `${key} documents no 4xx Problem`,
      ).toBe(true);
      expect(statuses, key).toContain(400);
    }
    expect(problemStatuses(operation(document, "GET /readyz"))).toContain(503);
    expect(problemStatuses(operation(document, "GET /metrics"))).toEqual([401, 500]);
    expect(Object.keys(operation(document, "GET /healthz").responses)).toContain("200");
  });

  it("marks every /v1 route as needing credentials, with its scope and path parameters", async () => {
    const document = await servedDocument();
    for (const key of routeKeys(false).filter((route) => route.includes(" /v1/"))) {
      const op = operation(document, key);
      const route = registered.find(
        (entry) => `${entry.method} ${toOpenApiPath(entry.url)}` === key,
      );
      const scope = route?.scope;
      const signedIn = [{ bearerAuth: [] }, { sessionCookie: [] }];
      expect(scope, key).toBeDefined();
      expect(op.security, key).toEqual(
        scope === "session"
          ? signedIn
          : [...signedIn, { apiKey: [scope, ...(route?.extraScopes ?? [])] }],
      );
      expect(problemStatuses(op), key).toContain(401);
      // 403: an API key without the scope, or a cookie from a foreign Origin.
      expect(problemStatuses(op), key).toContain(403);
      const pathParams = [...key.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const documented = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      expect(documented.sort(), key).toEqual(pathParams.sort());
    }
  });
});

describe("GET /docs", () => {
  it("redirects to /docs/, which serves the HTML reference and its script", async () => {
    const redirect = await t.app.inject({ url: "/docs" });
    expect([301, 302, 307, 308]).toContain(redirect.statusCode);
    expect(redirect.headers.location).toBe("/docs/");

    const page = await t.app.inject({ url: String(redirect.headers.location) });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toMatch(/<html/i);
    const script = /<script[^>]+src="([^"]+)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await t.app.inject({ url: new URL(script ?? "", "http://x/docs/").pathname });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["content-type"]).toMatch(/javascript/);
  });
});
