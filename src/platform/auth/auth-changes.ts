import type { ChangeFeed } from "../db/change-feed.ts";
import type { SessionCache } from "./session-cache.ts";
import type { UserCache } from "./user-cache.ts";

/**
 * Keeps this instance's session and user caches true to the database: the
 * `user` and `session` tables announce every change and deletion on the
 * change feed; a changed user drops their row and their credentials, a
 * changed session its user's credentials. While the feed is down the caches
 * serve nothing, and they start empty when it is back.
 */
export function followAuthChanges(
  feed: ChangeFeed,
  caches: { sessions: SessionCache; users: UserCache },
): void {
  const { sessions, users } = caches;
  feed.subscribe({
    changed: (kind, userId) => {
      if (kind === "user") {
        users.forget(userId);
        sessions.forgetUser(userId);
      } else if (kind === "session") {
        sessions.forgetUser(userId);
      } else if (kind !== "workspace") {
        // Not ours to interpret: assume anything changed.
        users.clear();
        sessions.clear();
      }
    },
    up: () => {
      sessions.resume();
      users.resume();
    },
    down: () => {
      sessions.suspend();
      users.suspend();
    },
  });
}
