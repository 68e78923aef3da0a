import { setTimeout } from "node:timers/promises";
import { DomainError, preconditionFailed } from "./errors.ts";

/**
 * What a request's `If-Match` pinned: the versions its tags name, any one of
 * which matches (empty when every tag is one we never issued, so none does),
 * any version (`*`), or nothing.
 */
export type ExpectedVersion = readonly number[] | "any" | undefined;

/**
 * A verb's read found a version other than the one `If-Match` pinned: 412.
 * Called once the resource is found and the caller may change it: a request
 * that fails without its preconditions (404, 403) ignores them (RFC 9110,
 * 13.2.1).
 */
export function checkVersion(expected: ExpectedVersion, version: number): void {
  if (typeof expected === "object" && !expected.includes(version)) {
    throw preconditionFailed();
  }
}

/**
 * A verb's versioned write (`... where id = $1 and version = $read`) matched
 * no row: another request changed the row between this verb's read and its
 * write, and the transaction is rolled back. `retryLostUpdates` decides what
 * the client hears; should one escape it, it is a 409 that says to retry.
 */
export class LostUpdate extends DomainError {
  /** What happened, for the client's problem: "The task changed while you deleted it". */
  readonly happened: string;

  constructor(happened: string) {
    super("conflict", `${happened}; retry`);
    this.happened = happened;
  }
}

/**
 * Rounds before giving up. Between rounds the loser waits a random time up
 * to 2, 4, 8... 512 ms ("full jitter"), so writers that collided spread out
 * instead of colliding again (without the wait only 9 or 10 of 24
 * simultaneous PATCHes of one task landed, the rest got 409). Measured on
 * the machine's Postgres, 40 rounds of 24 at once: with 8 rounds 25 of 960
 * gave up (a CI run saw one of 12 give up), with 10 none did; 48 at once
 * still loses 3 of 960.
 */
const maxAttempts = 10;

/**
 * Runs a read-modify-write verb, deciding what a lost race means. A client
 * that pinned a version with `If-Match` asked for the change only on that
 * version, which is gone: 412. A client that pinned none (or `*`) asked for
 * the change on whatever is current, so the verb runs again from its read:
 * two people editing different fields of a task at once both succeed, and a
 * second "complete" finds the task completed and answers as for any repeat.
 */
export async function retryLostUpdates<T>(
  expected: ExpectedVersion,
  verb: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await verb();
    } catch (error) {
      if (!(error instanceof LostUpdate)) throw error;
      if (typeof expected === "object") {
        throw preconditionFailed(error.happened);
      }
      if (attempt >= maxAttempts) throw error;
      await setTimeout(Math.random() * 2 ** attempt);
    }
  }
}
