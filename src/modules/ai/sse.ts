import type { FastifyReply, FastifyRequest } from "fastify";
import { errorCodes } from "../../platform/http/errors.ts";
import { toDomainError } from "../../platform/http/problem.ts";
import type { StreamOptions } from "./features.ts";

/** True when the client asked for server-sent events. */
export function wantsEventStream(request: FastifyRequest): boolean {
  return /\btext\/event-stream\b/i.test(request.headers.accept ?? "");
}

/**
 * Server-sent events for an AI answer: `delta` events while the model
 * writes, then one `done` (the whole answer, with provider, model, usage and
 * cached) or one `error` (a problem object). Headers go out with the first
 * event, so a request that fails before any output (404, 429 over budget,
 * 502 when every provider failed) still gets an ordinary problem+json answer.
 * A client that hangs up aborts the signal, which cancels the upstream call.
 */
export async function answerWithEvents<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  produce: (options: StreamOptions) => Promise<T>,
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
    const answer = await produce({
      stream: true,
      signal: controller.signal,
      onDelta: (text) => send("delta", { text }),
    });
    send("done", answer);
  } catch (error) {
    if (!started) throw error;
    const problem = toDomainError(error);
    if (problem.status >= 500) request.log.error({ err: error }, "AI stream failed");
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
