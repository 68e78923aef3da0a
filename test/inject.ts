import type { App } from "../src/app.ts";

type InjectOptions = import("fastify").InjectOptions;
type Response = Awaited<ReturnType<App["inject"]>>;

/**
 * `app.inject` for suites that call every route, `GET /v1/events` included:
 * an event stream never ends, so its answer is the status, the headers and
 * the first chunk (the stream then stays open on the server until the app
 * closes, which ends every stream). Any other answer is read whole.
 */
export async function injectOnce(app: App, options: InjectOptions): Promise<Response> {
  const response = await app.inject({ ...options, payloadAsStream: true });
  const stream = response.stream();
  const chunks: Buffer[] = [];
  if (String(response.headers["content-type"]).startsWith("text/event-stream")) {
    chunks.push(await new Promise<Buffer>((resolve) => stream.once("data", resolve)));
    stream.destroy();
  } else {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  }
  const rawPayload = Buffer.concat(chunks);
  const payload = rawPayload.toString("utf8");
  return Object.assign(response, {
    rawPayload,
    payload,
    body: payload,
    json: () => JSON.parse(payload),
  });
}
