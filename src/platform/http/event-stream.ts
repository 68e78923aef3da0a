import type { FastifyReply, FastifyRequest } from "fastify";
import { errorCodes } from "./errors.ts";
import { toDomainError } from "./problem.ts";

/** True when the client asked for server-sent events. */
export function wantsEventStream(request: FastifyRequest): boolean {
  return /\btext\/event-stream\b/i.test(request.headers.accept ?? "");
}

export type EventStream = {
  /** Aborted when the client hangs up before the stream ended. */
  signal: AbortSignal;
  /** Sends one event; the first one sends the 200 and the headers. */
  send: (event: string, data: unknown) => void;
  /** True once the first event went out (errors can then only be events). */
  readonly started: boolean;
};

/**
 * Server-sent events over a Fastify reply. Headers go out with the first
 * event, so a request that fails before any output still gets an ordinary
 * problem+json answer; after that, a failure becomes one `error` event
 * carrying the problem object. A client that hangs up aborts `signal`.
 */
export async function withEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  produce: (stream: EventStream) => Promise<void>,
): Promise<FastifyReply> {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableEnded) controller.abort(new Error("the client closed the connection"));
  });
  let started = false;
  const send = (event: string, data: unknown) => {
    if (reply.raw.destroyed) return;
    if (!started) {
      started = true;
      reply.hijack();
      reply.raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string | number | string[]>),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      });
    }
    reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    await produce({
      signal: controller.signal,
      send,
      get started() {
        return started;
      },
    });
  } catch (error) {
    if (!started) throw error;
    const problem = toDomainError(error);
    if (problem.status >= 500) request.log.error({ err: error }, "event stream failed");
    const { status, title } = errorCodes[problem.code];
    send("error", {
      type: `/docs/errors#${problem.code}`,
      title,
      status,
      code: problem.code,
      detail: problem.message,
      requestId: String(request.id),
    });
  }
  reply.raw.end();
  return reply;
}
