/**
 * The HTTP floor: the least any HTTP service must do for the read scenarios.
 * A bare Fastify server (no plugins, no schemas, logger off) that resolves
 * the bearer token with the baseline's in-memory caches and lookups, sends
 * exactly the baseline's statements and answers `JSON.stringify` of the rows.
 * Whatever the API does beyond this is the API's own cost.
 */
import type { Server } from "node:http";
import Fastify, { type FastifyReply } from "fastify";
import type pg from "pg";
import {
  authenticate,
  type BaselineSessionCache,
  readList,
  readMe,
  readTask,
  UnknownTokenError,
} from "./baseline.ts";

export type FloorServer = { url: string; server: Server; close: () => Promise<void> };

/** Listens on 127.0.0.1 at a free port; `sessions` stays the caller's, so it can outlive one server. */
export async function startFloor(
  pool: pg.Pool,
  sessions: BaselineSessionCache,
): Promise<FloorServer> {
  const app = Fastify({ logger: false });

  /** The bearer token's user, undefined when there is no token or it is unknown. */
  const userOf = async (authorization: string | undefined): Promise<string | undefined> => {
    if (!authorization?.startsWith("Bearer ")) return undefined;
    try {
      return (await authenticate(pool, sessions, authorization.slice(7))).userId;
    } catch (error) {
      if (error instanceof UnknownTokenError) return undefined;
      throw error;
    }
  };

  /** 401 without a user, 404 without rows, else 200 with the rows as JSON. */
  const answer = async (
    authorization: string | undefined,
    reply: FastifyReply,
    read: (userId: string) => Promise<unknown>,
  ) => {
    const userId = await userOf(authorization);
    if (userId === undefined) return reply.code(401).send();
    const rows = await read(userId);
    if (rows === undefined) return reply.code(404).send();
    return reply.type("application/json; charset=utf-8").send(JSON.stringify(rows));
  };

  app.get<{ Querystring: { priority?: string } }>("/v1/tasks", (request, reply) =>
    answer(request.headers.authorization, reply, (userId) =>
      readList(pool, userId, request.query.priority !== undefined),
    ),
  );
  app.get<{ Params: { id: string } }>("/v1/tasks/:id", (request, reply) =>
    answer(request.headers.authorization, reply, (userId) =>
      readTask(pool, userId, request.params.id),
    ),
  );
  app.get("/v1/me", (request, reply) =>
    answer(request.headers.authorization, reply, (userId) => readMe(pool, userId)),
  );

  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    server: app.server,
    close: () => app.close(),
  };
}
