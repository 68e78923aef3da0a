import type { Listener } from "../db/listen.ts";
import type { DatabaseHandle } from "../db/pool.ts";
import type { SessionCache } from "./session-cache.ts";
import type { UserCache } from "./user-cache.ts";

/** The channel the triggers of migration 0009 notify on. */
export const authChangesChannel = "taskpilot_auth";

type Log = {
  warn: (object: object, message: string) => void;
  info: (message: string) => void;
};

export type AuthChanges = Listener & {
  /** False while this instance may be missing changes (its caches then serve nothing). */
  readonly listening: boolean;
};

/**
 * Keeps this instance's session and user caches true to the database. The
 * `user` and `session` tables notify every change and deletion when its
 * transaction commits (whoever made it: better-auth, our verbs, psql); every
 * instance listens and drops what changed. While the listening connection is
 * down the caches serve nothing, and they start empty when it is back.
 */
export async function followAuthChanges(
  database: Pick<DatabaseHandle, "listen">,
  caches: { sessions: SessionCache; users: UserCache },
  log: Log,
): Promise<AuthChanges> {
  const { sessions, users } = caches;
  let listening = false;
  const listener = await database.listen(
    authChangesChannel,
    {
      message: (payload) => {
        const [kind, userId] = payload.split(":", 2);
        if (kind === "user" && userId) {
          users.forget(userId);
          sessions.forgetUser(userId);
        } else if (kind === "session" && userId) {
          sessions.forgetUser(userId);
        } else {
          // Not ours to interpret: assume anything changed.
          users.clear();
          sessions.clear();
        }
      },
      up: () => {
        if (!listening) log.info("auth caches: listening for changes");
        listening = true;
        sessions.resume();
        users.resume();
      },
      down: () => {
        listening = false;
        sessions.suspend();
        users.suspend();
      },
    },
    log,
  );
  return {
    get listening() {
      return listening;
    },
    close: async () => {
      listening = false;
      sessions.suspend();
      users.suspend();
      await listener.close();
    },
  };
}
