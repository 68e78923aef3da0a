/**
 * Traces (OpenTelemetry). Loaded before the app with `node --import` (npm
 * start does), because the instrumentations must hook pg, ioredis, pino and
 * node:http as they load. Off, at the cost of this module alone, unless the
 * environment names an exporter: `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (OTLP over HTTP, `OTEL_TRACES_EXPORTER`
 * defaults to otlp), or `OTEL_TRACES_EXPORTER` itself (`console` for a look
 * without a collector). Every other setting is the SDK's standard
 * environment (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`,
 * `OTEL_EXPORTER_OTLP_HEADERS`, ...): no setting of ours.
 *
 * What it records: a server span per request with its handler span under
 * it (@fastify/otel, which also reads an incoming `traceparent`); a span
 * per Postgres statement (pg: the statement text, never its values) and
 * Redis command (ioredis: the command, never its arguments) made while
 * serving a request; outgoing HTTP
 * over node:http (webhook deliveries; the model vendors' SDKs use fetch,
 * which is not traced). URLs are recorded as the logs show them: secret
 * query values and reset tokens masked, and an outgoing request's path
 * dropped (a webhook's path may be its secret). Log lines written inside a
 * span carry its `trace_id` and `span_id` (pino), so a log line leads to
 * its trace. Health checks and metrics scrapes are not traced.
 */
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";
import { censor, urlForLog } from "./redact-url.ts";
import { onTracingStop } from "./trace-shutdown.ts";

/** Whether the environment asks for traces (see above). */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter) return exporter !== "none";
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** A URL's path and, when it has one, its query. */
function splitUrl(url: string): [string, string | undefined] {
  const at = url.indexOf("?");
  return at === -1 ? [url, undefined] : [url.slice(0, at), url.slice(at + 1)];
}

/** Paths no trace is made for: probes and scrapes, many per minute, each alike. */
const untraced = new Set(["/healthz", "/readyz", "/metrics"]);

async function start(): Promise<void> {
  // Hooks only the modules an instrumentation asked for, each acknowledged
  // before the app's imports run.
  const { createAddHookMessageChannel } = await import("import-in-the-middle");
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);

  const [{ NodeSDK }, { HttpInstrumentation }, { PgInstrumentation }, ioredis, pino, fastify] =
    await Promise.all([
      import("@opentelemetry/sdk-node"),
      import("@opentelemetry/instrumentation-http"),
      import("@opentelemetry/instrumentation-pg"),
      import("@opentelemetry/instrumentation-ioredis"),
      import("@opentelemetry/instrumentation-pino"),
      import("@fastify/otel"),
    ]);
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME || "taskpilot",
    instrumentations: [
      // Outgoing requests only (webhook deliveries). An incoming request's
      // server span is @fastify/otel's: node:http's was the largest single
      // cost of tracing in a CPU profile, about a third of it (it parses
      // every request's URL into a WHATWG URL for its attributes). A
      // target's path may be its secret: masked as the span starts, since a
      // request that fails or gets no answer (a refused connection, a
      // timeout) never reaches applyCustomAttributesOnSpan.
      new HttpInstrumentation({
        disableIncomingRequestInstrumentation: true,
        startOutgoingSpanHook: (request) => ({
          "url.full": `${request.protocol ?? "http:"}//${request.host ?? request.hostname ?? ""}/${censor}`,
        }),
        applyCustomAttributesOnSpan: (span, request) => {
          if ("host" in request) {
            span.setAttribute("url.full", `${request.protocol}//${request.host}/${censor}`);
          }
        },
      }),
      new fastify.FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // A span per route and per hook plugin (11 on a POST) made most of a
        // request's spans; the request and handler spans remain, and a hook's
        // time is the gap between them.
        instrumentHooks: false,
        // Called with a route's pattern, and with each request's URL (query included).
        ignorePaths: (route: { url: string }) => untraced.has(splitUrl(route.url)[0]),
        // The server span of each request: named for its route, with its URL
        // as the logs show it (it recorded the URL as it came).
        requestHook: (span, request) => {
          const [path, query] = splitUrl(urlForLog(request.url));
          span.setAttribute("url.path", path);
          if (query !== undefined) span.setAttribute("url.query", query);
          span.updateName(`${request.method} ${request.routeOptions.url ?? ""}`.trimEnd());
        },
      }),
      // Statements inside a request only: a job's or a feed poller's would
      // each be a trace of its own, unconnected (and migrations made 200 at
      // every start). Pool checkouts are not spans: a wait for a connection
      // shows as the gap before the statement.
      new PgInstrumentation({
        enhancedDatabaseReporting: false,
        requireParentSpan: true,
        ignoreConnectSpans: true,
      }),
      new ioredis.IORedisInstrumentation({
        dbStatementSerializer: (command) => command,
        requireParentSpan: true,
      }),
      new pino.PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  // main.ts sends the spans still buffered once the server and pool are closed.
  onTracingStop(() => sdk.shutdown());
  await waitForAllMessagesAcknowledged();
}

// Piscina's worker threads inherit --import; tracing belongs to the main thread.
if (isMainThread && tracingWanted(process.env)) await start();
