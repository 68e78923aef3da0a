import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

/**
 * What a LISTEN subscriber hears: each payload on its channel, and whether it
 * can hear at all. A subscriber that is `down` may be missing notifications
 * and must act as if anything could have changed.
 */
export type ListenHandlers = {
  message: (payload: string) => void;
  up: () => void;
  down: () => void;
};

export type Listener = { close: () => Promise<void> };

type Log = { warn: (object: object, message: string) => void };

const channelName = /^[a-z_][a-z0-9_]*$/;

function assertChannel(channel: string): void {
  if (!channelName.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
}

/** Embedded PGlite delivers notifications in-process; it cannot lose its connection. */
export async function listenPglite(
  pglite: PGlite,
  channel: string,
  handlers: ListenHandlers,
): Promise<Listener> {
  assertChannel(channel);
  const unsubscribe = await pglite.listen(channel, handlers.message);
  handlers.up();
  // UNLISTEN fails once the database is closed; there is nothing left to stop then.
  return { close: () => unsubscribe().catch(() => {}) };
}

/**
 * A Postgres server: one dedicated connection outside the pool (LISTEN needs
 * a session that stays put; it does not work through a transaction-pooling
 * proxy). When it drops, the subscriber hears `down` at once and the
 * connection is retried with backoff (0.5 s doubling to 30 s); `up` follows
 * once LISTEN is in place again.
 */
export async function listenPostgres(
  connectionString: string,
  channel: string,
  handlers: ListenHandlers,
  log: Log,
): Promise<Listener> {
  assertChannel(channel);
  let current: pg.Client | undefined;
  let closed = false;
  let delayMs = 500;
  let timer: NodeJS.Timeout | undefined;

  const retryLater = () => {
    if (closed) return;
    timer = setTimeout(() => void connect(), delayMs);
    timer.unref();
    delayMs = Math.min(delayMs * 2, 30_000);
  };

  const connect = async () => {
    const client = new pg.Client({
      connectionString,
      application_name: "taskpilot-listen",
      keepAlive: true,
    });
    // An 'error' is followed by 'end'; 'end' is where the loss is handled.
    client.on("error", () => {});
    client.on("notification", (message) => {
      if (message.channel === channel) handlers.message(message.payload ?? "");
    });
    client.on("end", () => {
      if (current !== client) return;
      current = undefined;
      handlers.down();
      log.warn({ channel }, "lost the LISTEN connection; reconnecting");
      retryLater();
    });
    try {
      await client.connect();
      await client.query(`listen ${channel}`);
    } catch (error) {
      client.end().catch(() => {});
      log.warn({ err: error, channel }, "could not LISTEN; retrying");
      retryLater();
      return;
    }
    if (closed) {
      await client.end().catch(() => {});
      return;
    }
    current = client;
    delayMs = 500;
    handlers.up();
  };

  await connect();
  return {
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const client = current;
      current = undefined;
      await client?.end().catch(() => {});
    },
  };
}
