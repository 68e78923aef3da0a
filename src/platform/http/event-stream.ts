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
  /**
   * Sends one event (with an `id` a reconnecting client sends back as
   * `Last-Event-ID`); the first one sends the 200 and the headers. False
   * when the client is not reading fast enough: wait for `drained()`.
   */
  send: (event: string, data: unknown, id?: string) => boolean;
  /** Sends a comment line (a keep-alive), starting the stream like `send`. */
  comment: (text: string) => boolean;
  /** Resolves once what was sent has been handed to the connection, or it closed. */
  drained: () => Promise<void>;
  /** Drops the connection at once, whatever is still unsent (a reader that stopped reading). */
  destroy: () => void;
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
  const write = (text: string): boolean => {
    if (reply.raw.destroyed) return true;
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
    return reply.raw.write(text);
  };
  const send = (event: string, data: unknown, id?: string) =>
    write(
      `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
    );
  const drained = () =>
    new Promise<void>((resolve) => {
      if (!reply.raw.writableNeedDrain || reply.raw.destroyed) return resolve();
      const done = () => {
        reply.raw.off("drain", done);
        reply.raw.off("close", done);
        resolve();
      };
      reply.raw.on("drain", done);
      reply.raw.on("close", done);
    });
  try {
    await produce({
      signal: controller.signal,
      send,
      comment: (text) => write(`: ${text}\n\n`),
      drained,
      destroy: () => reply.raw.destroy(),
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
