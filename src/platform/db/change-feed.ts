import type { DatabaseHandle } from "./pool.ts";

/** The channel the triggers of migration 0009 notify on. */
export const changesChannel = "taskpilot_changes";

/**
 * Something that keeps rows in memory: it hears which rows changed
 * (`kind`: user, session, workspace; `id`), and whether it can hear at all.
 * After `down` it may have missed changes and must serve nothing until `up`.
 */
export type ChangeSubscriber = {
  changed: (kind: string, id: string) => void;
  up: () => void;
  down: () => void;
};

export type ChangeFeed = {
  /** False while this instance may be missing changes. */
  readonly listening: boolean;
  /** Adds a subscriber; it hears `up` at once when the feed already listens. */
  subscribe: (subscriber: ChangeSubscriber) => void;
  close: () => Promise<void>;
};

type Log = { warn: (object: object, message: string) => void; info: (message: string) => void };

/**
 * The database's announcements of changed rows, for every in-memory copy in
 * this instance. Tables with a copy somewhere notify `taskpilot_changes` when
 * a row changes or goes, whoever changes it; this instance listens on one
 * connection (see listen.ts) and tells each subscriber. While that
 * connection is down every subscriber is `down`.
 */
export async function startChangeFeed(
  database: Pick<DatabaseHandle, "listen">,
  log: Log,
): Promise<ChangeFeed> {
  const subscribers: ChangeSubscriber[] = [];
  let listening = false;
  const listener = await database.listen(
    changesChannel,
    {
      message: (payload) => {
        const separator = payload.indexOf(":");
        const kind = separator > 0 ? payload.slice(0, separator) : "";
        const id = payload.slice(separator + 1);
        for (const subscriber of subscribers) subscriber.changed(kind, id);
      },
      up: () => {
        if (!listening) log.info("change feed: listening");
        listening = true;
        for (const subscriber of subscribers) subscriber.up();
      },
      down: () => {
        listening = false;
        for (const subscriber of subscribers) subscriber.down();
      },
    },
    log,
  );
  return {
    get listening() {
      return listening;
    },
    subscribe: (subscriber) => {
      subscribers.push(subscriber);
      if (listening) subscriber.up();
    },
    close: async () => {
      listening = false;
      for (const subscriber of subscribers) subscriber.down();
      await listener.close();
    },
  };
}

/**
 * The state every in-memory copy fed by the change feed shares: whether it
 * may serve (only while the feed listens), and a generation that moves on
 * every forget, so an answer read before a change and stored after it is
 * dropped. `clear` empties the copy's own store.
 */
export class NotifiedGate {
  readonly #clear: () => void;
  #serving: boolean;
  #generation = 0;

  constructor(clear: () => void, serving = false) {
    this.#clear = clear;
    this.#serving = serving;
  }

  get serving(): boolean {
    return this.#serving;
  }

  /** Take it before reading what will be stored; hand it to `accepts`. */
  get generation(): number {
    return this.#generation;
  }

  /** True when a value read at generation `since` may be stored now. */
  accepts(since: number): boolean {
    return this.#serving && since === this.#generation;
  }

  /** Call on every forget (one entry or all). */
  changed(): void {
    this.#generation++;
  }

  /** Stops serving (changes may go unheard) and forgets everything. */
  suspend(): void {
    this.#serving = false;
    this.changed();
    this.#clear();
  }

  /** Serves again, from empty: whatever changed while deaf is not kept. */
  resume(): void {
    this.changed();
    this.#clear();
    this.#serving = true;
  }
}
