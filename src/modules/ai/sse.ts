import type { FastifyReply, FastifyRequest } from "fastify";
import { withEventStream } from "../../platform/http/event-stream.ts";
import type { StreamOptions } from "./features.ts";

/**
 * Server-sent events for an AI answer: `delta` events while the model
 * writes, then one `done` (the whole answer, with provider, model, usage and
 * cached) or one `error` (a problem object). Headers go out with the first
 * event, so a request that fails before any output (404, 429 over budget,
 * 502 when every provider failed) still gets an ordinary problem+json answer.
 * A client that hangs up aborts the signal, which cancels the upstream call.
 */
export function answerWithEvents<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  produce: (options: StreamOptions) => Promise<T>,
): Promise<FastifyReply> {
  return withEventStream(request, reply, async ({ signal, send }) => {
    const answer = await produce({
      stream: true,
      signal,
      onDelta: (text) => send("delta", { text }),
    });
    send("done", answer);
  });
}
