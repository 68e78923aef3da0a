import {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import pino, { type DestinationStream, type Logger } from "pino";
import { actorLogFields } from "../context.ts";
import { censor, urlForLog } from "./redact-url.ts";

export { urlForLog };

/**
 * Where the server's log lines go (`npm start`: stdout). pino's own
 * destination, asynchronous: a line is handed to a write that runs off the
 * main thread, and the lines logged while it runs go out together in the
 * next one. The synchronous default made one write(2) per request on the
 * event loop, 5.8% of the server's CPU on GET /v1/tasks/{id} (bench profile,
 * 2026-12-05). pino flushes what is buffered when the process exits, on
 * `process.exit` and fatal errors too; only a kill -9 or a power cut can
 * lose the last lines.
 */
export function logDestination(dest: string | number = 1): DestinationStream {
  return pino.destination({ dest, sync: false });
}

/** pino options: JSON lines, request ids, and nothing secret on disk. */
export function loggerOptions(level: string): FastifyServerOptions["logger"] {
  return {
    level,
    serializers: { req: requestForLog },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        "*.password",
        "*.token",
        "*.secret",
      ],
      censor,
    },
  };
}

/**
 * Fastify's request fields, with the URL's secrets masked: an OAuth
 * callback's `code` and `state`, a verification link's `token`, a reset
 * link's path token. Headers are not logged at all.
 */
function requestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: urlForLog(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * One access line per request. Fastify writes two at info (incoming, then
 * completed), and each is a write to stdout: on this project's 2-core VM the
 * pair was about a fifth of GET /v1/tasks/{id}'s server CPU. The arrival is
 * logged at debug; the answer once, with method, URL, status and time.
 *
 * A successful answer's line holds only fields this file serializes
 * (request fields with a masked URL, status, time, who asked), so it goes through a
 * child of the app's logger without the redaction paths: pino's wildcard
 * redaction cost about as much as the rest of the line (about 3 µs of 6 per
 * line here). An error's line carries the error, so it keeps them.
 */
export class AccessLog extends LogController {
  #plain: FastifyBaseLogger | undefined;

  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const responseTime = reply.elapsedTime;
    if (error) {
      reply.log.error({ req: request, res: reply, responseTime, err: error }, "request errored");
      return;
    }
    if (!(reply.log as Logger).isLevelEnabled("info")) return;
    this.#plain ??= request.server.log.child({}, { redact: { paths: [], censor } });
    const actor = request.ctx ? actorLogFields(request.ctx.actor) : undefined;
    this.#plain.info(
      { reqId: request.id, ...actor, req: request, res: reply, responseTime },
      "request completed",
    );
  }
}
