import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Actor } from "../../platform/auth/actor.ts";
import { withEventStream } from "../../platform/http/event-stream.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import { assertIssued, followedAudience, parsePosition } from "./feed.ts";
import { Follower } from "./follower.ts";
import type { EventHub } from "./hub.ts";

export type EventRoutesOptions = {
  hub: EventHub;
  /** Resolves the stream's credential again, so a revoked one ends the stream. */
  resolve: (headers: Record<string, string>) => Promise<Actor | null>;
  /** How often a keep-alive comment goes out and the credential is checked. Default 15 s. */
  heartbeatMs?: number;
  /** How long a client may leave sent events unread before it is cut off. Default 30 s. */
  stallMs?: number;
};

const eventsQuerySchema = z.strictObject({
  workspaceId: z.uuid().optional().meta({ description: "Only this workspace's events" }),
  lastEventId: z
    .string()
    .max(100)
    .optional()
    .meta({
      description:
        "Resume after this event id, for a first connection that cannot send the " +
        "`Last-Event-ID` header (a browser's EventSource); the header wins when both are sent",
    }),
});

const eventsHeadersSchema = z.looseObject({
  "last-event-id": z.string().optional().meta({
    description: "Resume after this event id (what an EventSource sends when it reconnects)",
  }),
});

const streamDescription =
  "Server-sent events, one `activity` event per change, oldest first: `data` is an Activity " +
  "object (its `type` says what happened: `task.created`, `task.completed`, `member.joined`...), " +
  "`id` the place to resume after. A comment line (`: keep-alive`) every 15 s keeps proxies from " +
  "closing the connection. An `error` event (a problem object) ends the stream, e.g. when its " +
  "credential is revoked or the workspace it follows is gone.";

const credentialHeaders = ["authorization", "x-api-key", "cookie"] as const;

/** The headers that carry the stream's credential, to resolve it again. */
function credentialOf(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of credentialHeaders) {
    const value = request.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  return headers;
}

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, options) => {
  const heartbeatMs = options.heartbeatMs ?? 15_000;

  app.get("/v1/events", {
    config: { scope: "tasks:read" },
    schema: {
      tags: ["Events"],
      security,
      summary: "Follow activity as server-sent events, resumable with Last-Event-ID",
      description:
        "Every change in the workspaces you belong to, as it commits: to tasks, categories, " +
        "members and the workspace itself for every member; invitations, AI budgets and " +
        "support access for owners and admins (an API key also needs `workspaces:admin` for " +
        "those); and your own " +
        "changes outside any workspace (profile, API keys, conversations). A workspace-bound " +
        "API key sees its workspace only. Events arrive within about a second of their " +
        "commit, in an order that never changes: a client that reconnects with the last " +
        "`id` it saw gets exactly what came after it. Without one the stream starts now. " +
        "At most 5 streams per user per server instance (429).",
      querystring: eventsQuerySchema,
      headers: eventsHeadersSchema,
      response: {
        200: {
          description: "The event stream",
          content: {
            "text/event-stream": { schema: z.string().meta({ description: streamDescription }) },
          },
        },
        ...problemResponses("not_found"),
      },
    },
    handler: async (request, reply) => {
      const ctx = ctxOf(request);
      const header = request.headers["last-event-id"];
      const [field, sent] =
        typeof header === "string" && header.trim() !== ""
          ? ["Last-Event-ID", header]
          : ["lastEventId", request.query.lastEventId];
      const resume = sent === undefined ? undefined : parsePosition(sent, field);
      if (resume) await assertIssued(ctx.db, resume, field);
      const only = request.query.workspaceId;
      const audience = await followedAudience(ctx.db, ctx.actor, only);
      // HEAD gets the stream's headers, not a stream that never ends.
      if (request.method === "HEAD") {
        return reply
          .type("text/event-stream; charset=utf-8")
          .header("cache-control", "no-cache, no-transform")
          .send("");
      }
      const follower = new Follower({
        db: ctx.db,
        actor: ctx.actor,
        audience,
        only,
        stillValid: async () => (await options.resolve(credentialOf(request))) !== null,
        heartbeatMs,
        stallMs: options.stallMs ?? 30_000,
      });
      const unsubscribe = await options.hub.subscribe(follower);
      // A stream ends only on an error or at shutdown. Its connection closes
      // with it: left open and idle, it would hold a shutting-down server
      // until the keep-alive timeout.
      reply.header("connection", "close");
      try {
        return await withEventStream(request, reply, (stream) => follower.run(stream, resume));
      } finally {
        unsubscribe();
      }
    },
  });
};
