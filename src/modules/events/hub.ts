import { Gauge, type Registry } from "prom-client";
import type { Executor } from "../../platform/db/transaction.ts";
import { DomainError } from "../../platform/http/errors.ts";
import { currentPosition, eventsAfter, type FeedMark, type FeedPosition } from "./feed.ts";

/** One open stream, as the hub sees it. */
export type FeedSubscriber = {
  userId: string;
  /** True when the event may concern this stream (it then reads its own page). */
  wants: (mark: FeedMark) => boolean;
  /** Something it may show has settled. */
  wake: () => void;
  /** The instance is shutting down: end the stream. */
  close: () => void;
};

export type EventHubOptions = {
  db: Executor;
  log: { warn: (object: object, message: string) => void };
  /** How often the instance looks for settled events while a stream is open. Default 1 s. */
  pollMs?: number;
  /** Open streams per user on this instance; one more answers 429. Default 5. */
  maxPerUser?: number;
  /** Open streams on this instance; one more answers 503. Default 1,000. */
  maxStreams?: number;
  /** Where `taskpilot_event_streams` (open streams) is reported. */
  metrics?: Registry;
};

const pollBatch = 500;

/**
 * The instance's one reader of the feed. While any stream is open it asks
 * the database every `pollMs` for events settled since it last looked (one
 * indexed query per instance, however many streams), and wakes the streams
 * each event may concern; each stream then reads its own page with its own
 * rights. Writers pay nothing for it: no trigger, no NOTIFY. An event is
 * seen within about `pollMs` of its commit, on every instance.
 */
export class EventHub {
  readonly #options: Required<Omit<EventHubOptions, "log" | "db" | "metrics">> & EventHubOptions;
  readonly #subscribers = new Set<FeedSubscriber>();
  #position: FeedPosition | undefined;
  #starting: Promise<FeedPosition> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(options: EventHubOptions) {
    this.#options = { pollMs: 1_000, maxPerUser: 5, maxStreams: 1_000, ...options };
    const subscribers = this.#subscribers;
    if (options.metrics) {
      new Gauge({
        name: "taskpilot_event_streams",
        help: "Open GET /v1/events streams on this instance",
        registers: [options.metrics],
        collect() {
          this.set(subscribers.size);
        },
      });
    }
  }

  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * Adds a stream, after fixing the place the hub reads from (so every
   * event that settles after this returns wakes it). Refuses one over the
   * limits before anything is sent. Returns the way to remove it.
   */
  async subscribe(subscriber: FeedSubscriber): Promise<() => void> {
    if (this.#closed) throw new DomainError("unavailable", "The server is shutting down");
    if (this.#subscribers.size >= this.#options.maxStreams) {
      throw new DomainError("unavailable", "Too many open event streams on this server", {
        headers: { "retry-after": "5" },
      });
    }
    let mine = 0;
    for (const other of this.#subscribers) if (other.userId === subscriber.userId) mine++;
    if (mine >= this.#options.maxPerUser) {
      throw new DomainError(
        "rate_limited",
        `At most ${this.#options.maxPerUser} event streams may be open at once`,
        { headers: { "retry-after": "5" } },
      );
    }
    if (!this.#position) {
      this.#starting ??= currentPosition(this.#options.db).finally(() => {
        this.#starting = undefined;
      });
      this.#position = await this.#starting;
    }
    this.#subscribers.add(subscriber);
    this.#schedule();
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** Ends every stream and stops polling; waits for a poll under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const subscriber of this.#subscribers) subscriber.close();
    this.#subscribers.clear();
    await this.#polling;
  }

  #schedule(): void {
    if (this.#closed || this.#timer || this.#polling) return;
    if (this.#subscribers.size === 0) {
      // Nobody listens: stop, and the next stream starts from its own "now".
      this.#position = undefined;
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#polling = this.#poll().finally(() => {
        this.#polling = undefined;
        this.#schedule();
      });
    }, this.#options.pollMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    const position = this.#position;
    if (!position || this.#subscribers.size === 0) return;
    try {
      let marks: FeedMark[];
      let from = position;
      do {
        marks = await eventsAfter(this.#options.db, from, pollBatch);
        for (const subscriber of this.#subscribers) {
          if (marks.some(subscriber.wants)) subscriber.wake();
        }
        const last = marks.at(-1);
        if (last) from = { tx: last.tx, id: last.id };
      } while (marks.length === pollBatch && !this.#closed);
      this.#position = from;
    } catch (error) {
      this.#options.log.warn({ err: error }, "event feed: could not read new events");
    }
  }
}
