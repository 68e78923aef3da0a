import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { tracingWanted } from "../src/platform/observability/tracing.ts";
import { freePort, processTestTimeoutMs, startServer, tempDir } from "./server-process.ts";

type Attribute = { key: string; value: Record<string, unknown> };
type Span = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Attribute[];
};
type Export = {
  resourceSpans: Array<{
    resource: { attributes: Attribute[] };
    scopeSpans: Array<{ scope: { name: string }; spans: Span[] }>;
  }>;
};

/**
 * An OTLP/HTTP (JSON) trace receiver on loopback: what a collector is to
 * the server, as far as the server can tell. It keeps every span posted.
 */
class Collector {
  readonly spans: Array<Span & { scope: string; service: string }> = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.url === "/v1/traces") {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as Export;
          for (const resource of body.resourceSpans) {
            const service = resource.resource.attributes.find(
              (attribute) => attribute.key === "service.name",
            )?.value.stringValue as string;
            for (const scope of resource.scopeSpans) {
              for (const span of scope.spans) {
                this.spans.push({ ...span, scope: scope.scope.name, service });
              }
            }
          }
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const attribute = (span: Span, key: string) =>
  span.attributes?.find((entry) => entry.key === key)?.value;

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("traces", { timeout: processTestTimeoutMs }, () => {
  it("are off unless an exporter is named", () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toBe(
      true,
    );
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: "console" })).toBe(true);
    expect(
      tracingWanted({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" }),
    ).toBe(false);
    expect(
      tracingWanted({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" }),
    ).toBe(false);
    expect(tracingWanted({ OTEL_SDK_DISABLED: "TRUE", OTEL_TRACES_EXPORTER: "console" })).toBe(
      false,
    );
  });

  it("follow a request from its HTTP span through its route to its SQL, mark its log lines, and are sent at shutdown", async () => {
    const collector = new Collector();
    const endpoint = await collector.start();
    cleanups.push(() => collector.close());
    const dir = tempDir("tracing");
    cleanups.push(dir.remove);
    const port = await freePort();
    const server = startServer({
      PORT: String(port),
      DATA_DIR: dir.path,
      LOG_LEVEL: "info",
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      // A busy test machine stalls the event loop at times; this test is not about shedding.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "taskpilot-under-test",
      // Nothing is sent on a timer during the test: the spans must arrive
      // through the flush at shutdown.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      // A webhook to a closed port on loopback: its delivery fails to connect.
      WEBHOOK_ALLOW_PRIVATE: "true",
    });
    cleanups.push(() => server.kill());
    await server.waitForOutput("Taskpilot is ready");
    const base = `http://127.0.0.1:${port}`;

    const signUp = await fetch(`${base}/api/auth/sign-up/email`, {
      method: "POST",
      // fetch marks itself a CORS request; better-auth then wants our own origin.
      headers: { "content-type": "application/json", origin: base },
      body: JSON.stringify({
        name: "Tracy",
        email: "tracy@example.com",
        password: "correct horse battery staple",
      }),
    });
    expect(signUp.status).toBe(200);
    const { token } = (await signUp.json()) as { token: string };
    const closedPort = await freePort();
    const hook = await fetch(`${base}/v1/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        url: `http://127.0.0.1:${closedPort}/hooks/pathsecret321`,
        events: ["task.created"],
      }),
    });
    expect(hook.status).toBe(201);
    const { id: webhookId } = (await hook.json()) as { id: string };
    const created = await fetch(`${base}/v1/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Traced" }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz?probe=1`)).status).toBe(200);
    // Secrets in URLs reach no span, as they reach no log line.
    await fetch(
      `${base}/api/auth/reset-password/resettoken123?callbackURL=%2Fx&token=querytoken456`,
    );
    await fetch(`${base}/v1/tasks?q=plans&api_key=keyvalue789`, {
      headers: { authorization: `Bearer ${token}` },
    });

    // The delivery of the task's event is tried (and fails) before shutdown.
    await expect
      .poll(
        async () => {
          const answer = await fetch(`${base}/v1/webhooks/${webhookId}/deliveries`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const page = (await answer.json()) as { data: Array<{ attempts: number }> };
          return page.data[0]?.attempts ?? 0;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBeGreaterThan(0);

    expect(collector.spans).toEqual([]);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);

    const isRequest = (span: Span) =>
      span.kind === 2 && attribute(span, "http.route")?.stringValue === "/v1/tasks";
    const request = collector.spans.find(isRequest);
    if (!request) throw new Error("no request span");
    expect(request.service).toBe("taskpilot-under-test");
    expect(request.name).toBe("POST /v1/tasks");
    expect(attribute(request, "http.response.status_code")?.intValue).toBe(201);

    // Everything the request did is in its trace: Fastify's handler, and the
    // INSERT of the task, whose values are not recorded.
    const inTrace = collector.spans.filter((span) => span.traceId === request.traceId);
    expect(
      inTrace.some((span) =>
        /insert into "tasks"/i.test(String(attribute(span, "db.query.text")?.stringValue)),
      ),
    ).toBe(true);
    expect(
      inTrace.some((span) => span.scope === "@fastify/otel" && /handler/.test(span.name)),
    ).toBe(true);
    expect(JSON.stringify(inTrace)).not.toContain('Traced"');
    // Only the spans worth their cost (bench:ab --traced): no span per Fastify
    // hook or pool checkout, and no SQL outside a request (migrations, jobs).
    expect(
      collector.spans.filter(
        (span) =>
          span.scope === "@fastify/otel" && /^(onRequest|onSend|onResponse)/.test(span.name),
      ),
    ).toEqual([]);
    expect(collector.spans.filter((span) => span.name.startsWith("pg-pool.connect"))).toEqual([]);
    const sql = collector.spans.filter((span) => span.scope.endsWith("instrumentation-pg"));
    expect(sql.length).toBeGreaterThan(0);
    expect(sql.filter((span) => !span.parentSpanId)).toEqual([]);
    const everything = JSON.stringify(collector.spans);
    // The failed delivery's span names the target's origin only.
    const delivery = collector.spans.find(
      (span) => span.kind === 3 && span.scope === "@opentelemetry/instrumentation-http",
    );
    expect(attribute(delivery as Span, "url.full")?.stringValue).toBe(
      `http://127.0.0.1/[redacted]`,
    );
    for (const secret of [
      token,
      "resettoken123",
      "querytoken456",
      "keyvalue789",
      "pathsecret321",
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).toContain("api_key=[redacted]");
    // Probes are not traced.
    expect(
      collector.spans.some((span) =>
        String(attribute(span, "url.path")?.stringValue ?? "").startsWith("/healthz"),
      ),
    ).toBe(false);

    const lines = server
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { trace_id?: string; url?: string; msg?: string });
    expect(lines.some((line) => line.trace_id === request.traceId)).toBe(true);
  });
});
