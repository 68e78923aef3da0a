import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";

const t = useTestApp();

async function scrape(app: App, headers: Record<string, string> = {}): Promise<string> {
  const response = await app.inject({ url: "/metrics", headers });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  return response.body;
}

/** The value of one series in Prometheus's text format, undefined when it is absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

const answers = (labels: Record<string, string>) =>
  ["http_request_duration_seconds_count", labels] as const;

describe("GET /metrics", () => {
  it("counts answers by method, route pattern and status, never by path", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Counted" });
    const before = await scrape(t.app);
    const read = { method: "GET", route: "/v1/tasks/:id", status_code: "200" };
    const missing = { method: "GET", route: "/v1/tasks/:id", status_code: "404" };
    const unmatched = { method: "GET", route: "unmatched", status_code: "404" };
    for (let round = 0; round < 3; round++) {
      await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    }
    await t.app.inject({ url: `/v1/tasks/${crypto.randomUUID()}`, headers: user.headers });
    for (const path of ["/nowhere", `/nowhere/${crypto.randomUUID()}`]) {
      await t.app.inject({ url: path });
    }
    const after = await scrape(t.app);
    const grew = (labels: Record<string, string>) =>
      (sample(after, ...answers(labels)) ?? 0) - (sample(before, ...answers(labels)) ?? 0);
    expect(grew(read)).toBe(3);
    expect(grew(missing)).toBe(1);
    expect(grew(unmatched)).toBe(2);
    // Ids never become labels.
    expect(after).not.toContain(task.id);
    expect(after).not.toContain("/nowhere");
    const sum = sample(after, "http_request_duration_seconds_sum", read) ?? 0;
    expect(sum).toBeGreaterThan(0);
    expect(sample(after, "http_request_duration_seconds_bucket", { ...read, le: "+Inf" })).toBe(
      sample(after, ...answers(read)),
    );
  });

  it("shows the database pool and the process", async () => {
    const text = await scrape(t.app);
    for (const state of ["idle", "in_use"]) {
      expect(sample(text, "taskpilot_db_pool_connections", { state })).toBeGreaterThanOrEqual(0);
    }
    expect(sample(text, "taskpilot_db_pool_waiting")).toBe(0);
    expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
  });

  it("counts model calls as the ledger records them", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Summarise me", description: "Twice" });
    const labels = { feature: "summary", provider: "local", outcome: "ok" };
    const before = sample(await scrape(t.app), "taskpilot_ai_calls_total", labels) ?? 0;
    const summary = await t.app.inject({
      method: "POST",
      url: `/v1/tasks/${task.id}/summary`,
      headers: user.headers,
      payload: {},
    });
    expect(summary.statusCode, summary.body).toBe(200);
    expect(summary.json<{ provider: string }>().provider).toBe("local");
    const after = await scrape(t.app);
    expect(sample(after, "taskpilot_ai_calls_total", labels)).toBe(before + 1);
    const input = { feature: "summary", provider: "local", direction: "input" };
    expect(sample(after, "taskpilot_ai_tokens_total", input)).toBeGreaterThan(0);
  });

  it("is open to any scrape when no METRICS_TOKEN is set, and documented without credentials", async () => {
    const document = (await t.app.inject({ url: "/openapi.json" })).json<{
      paths: Record<string, { get?: { security?: unknown; responses: Record<string, unknown> } }>;
    }>();
    const operation = document.paths["/metrics"]?.get;
    expect(Object.keys(operation?.responses ?? {}).sort()).toEqual(["200", "401", "500"]);
    expect(operation?.security).toBeUndefined();
    await scrape(t.app);
  });
});

describe("GET /metrics with METRICS_TOKEN", () => {
  const token = "metrics-token-0123456789";
  const guarded = useTestApp({ metricsToken: token });

  it("answers 401 problem+json without the token or with another, 200 with it", async () => {
    for (const authorization of [
      undefined,
      "Bearer wrong-token-0123456789",
      token,
      `Basic ${token}`,
    ]) {
      const response = await guarded.app.inject({
        url: "/metrics",
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(response.statusCode, authorization).toBe(401);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.headers["www-authenticate"]).toBe('Bearer realm="metrics"');
      expect(response.body).not.toContain(token);
    }
    const text = await scrape(guarded.app, { authorization: `Bearer ${token}` });
    expect(sample(text, "taskpilot_db_pool_waiting")).toBe(0);
  });
});
