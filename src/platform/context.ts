import type { FastifyBaseLogger } from "fastify";
import type { Actor } from "./auth/actor.ts";
import type { Executor } from "./db/transaction.ts";

/** What every service verb receives first. */
export type Context = {
  actor: Actor;
  db: Executor;
  requestId: string;
  now: () => Date;
  log: FastifyBaseLogger;
};

/** The same context, running inside a transaction. */
export function inTransaction(ctx: Context, db: Executor): Context {
  return { ...ctx, db };
}
