import type { FastifyBaseLogger } from "fastify";
import type { Actor } from "./auth/actor.ts";
import type { Executor } from "./db/transaction.ts";

/**
 * Long-lived services some verbs need besides the database (search and its
 * embedding model chain), created once by buildApp and handed to every
 * request's context. Modules declare their members by augmenting this
 * interface, so platform/ names none of them; each member is optional
 * because a context made outside a request (a CLI, a test) may carry none.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by module augmentation
export interface AppServices {}

/** What every service verb receives first. */
export type Context = {
  actor: Actor;
  db: Executor;
  requestId: string;
  now: () => Date;
  log: FastifyBaseLogger;
  services?: AppServices;
};

/** Who a request acts for, as log fields (verb logs and the access line). */
export function actorLogFields(actor: Actor): Record<string, string> {
  if (actor.type === "apiKey") return { userId: actor.userId, apiKeyId: actor.keyId };
  if (actor.type === "system") return { actor: "system" };
  return { userId: actor.userId };
}

/** The same context, running inside a transaction. */
export function inTransaction(ctx: Context, db: Executor): Context {
  return { ...ctx, db };
}
