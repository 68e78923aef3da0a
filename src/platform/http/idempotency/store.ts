import { and, eq, isNull, lt } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import type { Executor } from "../../db/transaction.ts";
import { idempotencyKeys } from "./schema.ts";

/** What a key is scoped to: the same key on another route or principal is another key. */
export type KeyScope = { principal: string; method: string; path: string; key: string };

export type StoredResponse = {
  status: number;
  headers: Record<string, string>;
  body: string | null;
  /** `body` is sealed and must be opened before it is replayed. */
  sealed: boolean;
};

export type Claim =
  | { kind: "claimed"; id: string }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "in_flight" }
  | { kind: "reused" };

function scopeIs(scope: KeyScope) {
  return and(
    eq(idempotencyKeys.principal, scope.principal),
    eq(idempotencyKeys.method, scope.method),
    eq(idempotencyKeys.path, scope.path),
    eq(idempotencyKeys.key, scope.key),
  );
}

/**
 * Claims a key for one attempt, or says why not. The insert is the lock:
 * of any number of concurrent first requests exactly one inserts the row,
 * the others find it. A claim older than `staleBefore` belonged to an
 * attempt that died (process crash) and may be taken over.
 */
export async function claimKey(
  db: Executor,
  scope: KeyScope,
  fingerprint: string,
  now: Date,
  staleBefore: Date,
): Promise<Claim> {
  // A released key (the first attempt failed with a 5xx) can vanish between
  // the insert and the read: then the insert is simply tried again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await db
      .insert(idempotencyKeys)
      .values({ id: uuidv7(), ...scope, fingerprint, createdAt: now, lockedAt: now })
      .onConflictDoNothing()
      .returning({ id: idempotencyKeys.id });
    if (inserted[0]) return { kind: "claimed", id: inserted[0].id };
    const [row] = await db.select().from(idempotencyKeys).where(scopeIs(scope));
    if (!row) continue;
    if (row.fingerprint !== fingerprint) return { kind: "reused" };
    if (row.status !== null) {
      return {
        kind: "replay",
        response: {
          status: row.status,
          headers: row.headers ?? {},
          body: row.body,
          sealed: row.sealed,
        },
      };
    }
    if (row.lockedAt >= staleBefore) return { kind: "in_flight" };
    const [taken] = await db
      .update(idempotencyKeys)
      .set({ lockedAt: now })
      .where(
        and(
          eq(idempotencyKeys.id, row.id),
          isNull(idempotencyKeys.status),
          eq(idempotencyKeys.lockedAt, row.lockedAt),
        ),
      )
      .returning({ id: idempotencyKeys.id });
    return taken ? { kind: "claimed", id: taken.id } : { kind: "in_flight" };
  }
  return { kind: "in_flight" };
}

/** Records the answer of the attempt holding the claim; retries replay it. */
export async function saveResponse(db: Executor, id: string, response: StoredResponse) {
  await db
    .update(idempotencyKeys)
    .set({
      status: response.status,
      headers: response.headers,
      body: response.body,
      sealed: response.sealed,
    })
    .where(eq(idempotencyKeys.id, id));
}

/** Gives a claimed key back (the attempt failed on our side), so a retry runs again. */
export async function releaseKey(db: Executor, id: string) {
  await db.delete(idempotencyKeys).where(eq(idempotencyKeys.id, id));
}

/** Deletes keys created before `cutoff`; returns how many went. */
export async function purgeIdempotencyKeys(db: Executor, cutoff: Date): Promise<number> {
  const result = await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, cutoff));
  return result.rowCount ?? 0;
}
