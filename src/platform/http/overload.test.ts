import { describe, expect, it, vi } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";

describe("load shedding", () => {
  const t = useTestApp({
    // Any heap is over one byte: the app is overloaded from its first sample on.
    overload: {
      maxEventLoopDelayMs: 0,
      maxHeapUsedBytes: 1,
      maxRssBytes: 0,
      maxEventLoopUtilization: 0,
      retryAfterSeconds: 7,
      sampleIntervalMs: 10,
    },
  });

  it("answers 503 unavailable with Retry-After at once instead of queueing", async () => {
    await vi.waitFor(() => expect(t.app.isUnderPressure()).toBe(true), { interval: 10 });
    const started = Date.now();
    const response = await t.app.inject({ url: "/v1/tasks" });
    expect(Date.now() - started).toBeLessThan(1_000);
    expectProblem(response, 503, "unavailable");
    expect(response.headers["retry-after"]).toBe("7");
    // Readiness sheds too, so a load balancer stops sending traffic here...
    expectProblem(await t.app.inject({ url: "/readyz" }), 503, "unavailable");
    // ...while liveness still answers, so nobody restarts a process that is only busy.
    expect((await t.app.inject({ url: "/healthz" })).statusCode).toBe(200);
  });
});

describe("database waits", () => {
  const t = useTestApp({
    database: { poolSize: 1, poolTimeoutMs: 200, statementTimeoutMs: 150 },
    configure: (app) => {
      app.get("/test/database", { schema: { hide: true } }, async () => {
        const result = await t.database.pool.query<{ statement_timeout: string }>(
          "show statement_timeout",
        );
        return { statementTimeout: result.rows[0]?.statement_timeout };
      });
      app.get("/test/cancelled", { schema: { hide: true } }, async () => {
        await t.database.pool.query(
          "do $$ begin raise exception 'cancelled' using errcode = 'query_canceled'; end $$",
        );
        return {};
      });
    },
  });

  it("answers 503 with Retry-After when no connection frees up in time, instead of hanging", async () => {
    const held = await t.database.pool.connect();
    try {
      const started = Date.now();
      const response = await t.app.inject({ url: "/test/database" });
      expect(Date.now() - started).toBeLessThan(3_000);
      expectProblem(response, 503, "unavailable");
      expect(response.headers["retry-after"]).toBe("1");
    } finally {
      held.release();
    }
    expect((await t.app.inject({ url: "/test/database" })).statusCode).toBe(200);
  });

  it("answers 503 on an authenticated route too", async () => {
    const user = await signUp(t.app);
    expect((await t.app.inject({ url: "/v1/me", headers: user.headers })).statusCode).toBe(200);
    const held = await t.database.pool.connect();
    try {
      const response = await t.app.inject({ url: "/v1/me", headers: user.headers });
      expectProblem(response, 503, "unavailable");
    } finally {
      held.release();
    }
  });

  it("maps a cancelled statement (statement_timeout) to 503", async () => {
    const response = await t.app.inject({ url: "/test/cancelled" });
    expectProblem(response, 503, "unavailable");
    expect(response.headers["retry-after"]).toBe("1");
  });

  it("sets statement_timeout on every server connection; PGlite has none", async () => {
    const response = await t.app.inject({ url: "/test/database" });
    const expected = t.database.kind === "postgres" ? "150ms" : "0";
    expect(response.json()).toEqual({ statementTimeout: expected });
  });
});
