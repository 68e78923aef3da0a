import { APIError, BASE_ERROR_CODES } from "better-auth";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectProblem, type Problem } from "../../../test/tasks-helpers.ts";
import { openDatabase } from "../db/pool.ts";
import { DomainError } from "./errors.ts";
import { toDomainError } from "./problem.ts";

const secret = "select password_hash from secret_table where token = 'hunter2'";

const t = useTestApp({
  configure: (app) => {
    // Test-only routes that fail the way a bug or a broken query would.
    app.get("/test/boom", async () => {
      throw new Error(secret);
    });
    app.get("/test/sql", async () => {
      await t.database.pool.query("select secret_column from missing_secret_table");
      return { unreachable: true };
    });
  },
});

describe("error answers", () => {
  it("answers 400 malformed_json for a body that is not JSON", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...user.headers, "content-type": "application/json" },
      payload: '{"title": "unterminated',
    });
    expectProblem(response, 400, "malformed_json");
  });

  it("treats an empty body sent as application/json as no body", async () => {
    const user = await signUp(t.app);
    const created = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: user.headers,
      payload: { title: "Bodiless completion" },
    });
    const { id } = created.json<{ id: string }>();
    const completed = await t.app.inject({
      method: "POST",
      url: `/v1/tasks/${id}/complete`,
      headers: { ...user.headers, "content-type": "application/json" },
      payload: "",
    });
    expect(completed.statusCode).toBe(200);
    const missing = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...user.headers, "content-type": "application/json" },
      payload: "",
    });
    const body = expectProblem(missing, 400, "validation_failed");
    expect(body.errors?.[0]?.path).toBe("body");
  });

  it("answers 400 malformed_json on the public auth routes too", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-up/email",
      headers: { "content-type": "application/json" },
      payload: "{nope",
    });
    expectProblem(response, 400, "malformed_json");
  });

  it("names the first 20 field errors and counts the rest, however many keys a body has", async () => {
    const user = await signUp(t.app);
    const body: Record<string, unknown> = { title: "Flood" };
    for (let i = 0; i < 30_000; i++) body[`k${i}`] = 1;
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...user.headers, "content-type": "application/json" },
      payload: body,
    });
    const problem = expectProblem(response, 400, "validation_failed");
    expect(problem.errors).toHaveLength(20);
    expect(problem.errors?.[0]).toEqual({ path: "k0", message: "unknown field" });
    expect(problem.detail).toMatch(/^k0: unknown field; .*; and 29980 more$/);
    // Before: a 2 MB answer naming all 30,000.
    expect(response.body.length).toBeLessThan(2_000);
  });

  it("answers 404 not_found for an unknown route", async () => {
    const response = await t.app.inject({ url: "/v1/nothing-here?x=1" });
    const body = expectProblem(response, 404, "not_found");
    expect(body.detail).toContain("/v1/nothing-here");
  });

  it("answers 405 method_not_allowed with an Allow header for a known path", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({ method: "PUT", url: "/v1/tasks", headers: user.headers });
    expectProblem(response, 405, "method_not_allowed");
    const allow = String(response.headers.allow).split(", ");
    expect(allow).toEqual(expect.arrayContaining(["GET", "POST"]));
    expect(allow).not.toContain("PUT");

    const item = await t.app.inject({
      method: "POST",
      url: "/v1/categories/019a0000-0000-7000-8000-000000000000",
    });
    expectProblem(item, 405, "method_not_allowed");
    expect(String(item.headers.allow).split(", ")).toEqual(
      expect.arrayContaining(["GET", "PATCH", "DELETE"]),
    );
  });

  it("answers 404, not 405, for a path that only looks like a known one", async () => {
    const response = await t.app.inject({ method: "PUT", url: "/openapiXjson" });
    expectProblem(response, 404, "not_found");
    expect(response.headers.allow).toBeUndefined();
  });

  it.each([
    ["an undecodable path", "/v1/tasks/%E0%A4%A"],
    ["an invalid percent-escape", `/v1/tasks/%ZZ${"b".repeat(150)}`],
    ["a path parameter over 200 characters", `/v1/tasks/${"a".repeat(5_000)}`],
  ])("answers 400 problem+json naming the path, with a request id, for %s", async (_case, url) => {
    const response = await t.app.inject({ url, headers: { "x-request-id": "router-check" } });
    const body = expectProblem(response, 400, "validation_failed");
    expect(body.requestId).toBe("router-check");
    expect(body.errors?.map((entry) => entry.path)).toEqual(["path"]);
    // The answer does not echo the URL back (a 5,000-character one used to be).
    expect(body.detail).not.toContain("aaaa");
    expect(body.detail).not.toContain("bbbb");
    expect(response.body.length).toBeLessThan(500);
  });

  it.each([
    ["utf-16", "application/json; charset=utf-16"],
    ["latin1, quoted", 'application/json;Charset="ISO-8859-1"'],
  ])(
    "answers 415 for a JSON body declared in %s, and takes UTF-8 declared any way",
    async (_case, contentType) => {
      const user = await signUp(t.app);
      const send = (type: string) =>
        t.app.inject({
          method: "POST",
          url: "/v1/tasks",
          headers: { ...user.headers, "content-type": type },
          payload: JSON.stringify({ title: "Grüße" }),
        });
      const refused = expectProblem(await send(contentType), 415, "unsupported_media_type");
      expect(refused.detail).toMatch(/must be UTF-8/);
      for (const utf8 of ["application/json; charset=UTF-8", 'application/json; charset="utf8"']) {
        const response = await send(utf8);
        expect(response.statusCode, utf8).toBe(201);
        expect(response.json<{ title: string }>().title).toBe("Grüße");
      }
    },
  );

  it("answers 415 unsupported_media_type for a text/plain body", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...user.headers, "content-type": "text/plain" },
      payload: "Buy milk",
    });
    expectProblem(response, 415, "unsupported_media_type");
  });

  it("answers 413 payload_too_large for a body over 1 MiB", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...user.headers, "content-type": "application/json" },
      payload: JSON.stringify({ title: "big", description: "x".repeat(1024 * 1024) }),
    });
    expectProblem(response, 413, "payload_too_large");
  });

  it("answers 500 internal without the message, a stack or SQL for a thrown error", async () => {
    for (const url of ["/test/boom", "/test/sql"]) {
      const response = await t.app.inject({ url });
      const body = expectProblem(response, 500, "internal");
      expect(Object.keys(body).sort()).toEqual(
        ["code", "detail", "requestId", "status", "title", "type"].sort(),
      );
      expect(response.body).not.toMatch(/secret|select|stack|\bat \S+ \(|\.ts:\d+/i);
    }
  });
});

describe("request ids", () => {
  it("sends X-Request-Id on success, on errors and on 404s, unique per request", async () => {
    const ok = await t.app.inject({ url: "/healthz" });
    const unauthenticated = await t.app.inject({ url: "/v1/me" });
    const missing = await t.app.inject({ url: "/nope" });
    const ids = [ok, unauthenticated, missing].map((response) => response.headers["x-request-id"]);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(3);
    expect(unauthenticated.json<Problem>().requestId).toBe(ids[1]);
  });

  it("echoes a sane incoming X-Request-Id", async () => {
    const id = "trace-abc_123:4.5";
    const response = await t.app.inject({ url: "/v1/me", headers: { "x-request-id": id } });
    expect(response.headers["x-request-id"]).toBe(id);
    expect(response.json<Problem>().requestId).toBe(id);
  });

  it.each([
    ["too long", "a".repeat(129)],
    ["with spaces and markup", "<script>alert(1)</script> x"],
    ["with a newline escape attempt", "abc%0d%0aSet-Cookie:x"],
  ])("replaces an incoming X-Request-Id that is %s", async (_case, id) => {
    const response = await t.app.inject({ url: "/healthz", headers: { "x-request-id": id } });
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-request-id"]).not.toBe(id);
    expect(response.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("toDomainError", () => {
  it("keeps a DomainError as it is", () => {
    const error = new DomainError("conflict", "taken", {
      errors: [{ path: "name", message: "x" }],
    });
    expect(toDomainError(error)).toBe(error);
  });

  it("hides the message of an unexpected error", () => {
    const mapped = toDomainError(new Error(`secret SQL ${secret}`));
    expect(mapped.code).toBe("internal");
    expect(mapped.status).toBe(500);
    expect(mapped.message).not.toContain("secret");
    expect(mapped.message).not.toContain("select");
  });

  it("maps Postgres errors by SQLSTATE without echoing their text", () => {
    const postgres = (code: string) =>
      Object.assign(new Error(`relation in ${secret}`), { code, severity: "ERROR" });
    const cases: Array<[string, string]> = [
      ["23505", "conflict"],
      ["23503", "invalid_reference"],
      ["22001", "validation_failed"],
      ["40001", "conflict"],
      ["57014", "unavailable"],
      ["57P01", "unavailable"],
      ["08006", "unavailable"],
      ["42P01", "internal"],
    ];
    for (const [sqlState, code] of cases) {
      const direct = toDomainError(postgres(sqlState));
      const wrapped = toDomainError(new Error("Failed query", { cause: postgres(sqlState) }));
      for (const mapped of [direct, wrapped]) {
        expect(mapped.code, sqlState).toBe(code);
        expect(mapped.message).not.toContain("secret");
      }
    }
  });

  it("answers 503 with Retry-After when the database cannot be reached", async () => {
    // What node-postgres really throws when nothing listens (port 1).
    const unreachable = await openDatabase({
      databaseUrl: "postgres://postgres@127.0.0.1:1/none",
      poolSize: 1,
    });
    const thrown = await unreachable.db.execute(sql`select 1`).then(
      () => undefined,
      (error: unknown) => error,
    );
    await unreachable.close();
    const died = new Error("Connection terminated unexpectedly");
    // better-auth's session lookup wraps what failed (the stream's credential check).
    const sessionLookup = APIError.from(
      "INTERNAL_SERVER_ERROR",
      BASE_ERROR_CODES.FAILED_TO_GET_SESSION,
      {
        cause: new Error("Failed query", { cause: thrown }),
      },
    );
    for (const error of [thrown, died, new Error("Failed query", { cause: died }), sessionLookup]) {
      const mapped = toDomainError(error);
      expect(mapped.code, String(error)).toBe("unavailable");
      expect(mapped.headers).toEqual({ "retry-after": "5" });
    }
  });
});
