import type { Actor } from "../../platform/auth/actor.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { DomainError } from "../../platform/http/errors.ts";
import type { EventStream } from "../../platform/http/event-stream.ts";
import {
  type FeedAudience,
  type FeedMark,
  type FeedPosition,
  feedPage,
  followedAudience,
  formatPosition,
  startingNow,
} from "./feed.ts";
import type { FeedSubscriber } from "./hub.ts";

const pageSize = 100;

export type FollowerOptions = {
  db: Executor;
  actor: Actor;
  /** The audience read when the request came in (it proved the workspace visible). */
  audience: FeedAudience;
  /** Follow this workspace only. */
  only: string | undefined;
  /** Whether the stream's credential still holds (checked at every keep-alive). */
  stillValid: () => Promise<boolean>;
  heartbeatMs: number;
  /** How long a client may leave sent events unread before it is cut off. */
  stallMs: number;
};

/** While catching up, the credential is checked again once this long has passed. */
const recheckMs = 1_000;

/**
 * One open stream: woken by the hub when something it may show settles, it
 * sends every page after its place that its actor may see at that moment.
 * Every `heartbeatMs` it sends a keep-alive, checks its credential and reads
 * again (which also catches workspaces joined in ways that wake nobody).
 * While it works through a backlog it checks the credential again before a
 * page once `recheckMs` have passed since the last check, so a revoked key
 * stops within about a second and a page. A
 * client that leaves what was sent unread for `stallMs`, or is still behind
 * at shutdown, is cut off rather than waited for.
 */
export class Follower implements FeedSubscriber {
  readonly userId: string;
  readonly #options: FollowerOptions;
  #interest: Set<string>;
  #dirty = true;
  #heartbeatDue = false;
  readonly #closing = new AbortController();
  #checkedAt = Date.now();
  /** For a stream that started now: the snapshot whose committed events it skips. */
  #seen: string | undefined;
  #nudge: (() => void) | undefined;

  constructor(options: FollowerOptions) {
    this.#options = options;
    this.userId = options.audience.userId;
    this.#interest = workspaceIds(options.audience);
  }

  wants = (mark: FeedMark): boolean =>
    mark.actorId === this.userId ||
    (mark.workspaceId !== null && this.#interest.has(mark.workspaceId));

  wake(): void {
    this.#dirty = true;
    this.#poke();
  }

  close(): void {
    this.#closing.abort();
    this.#poke();
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /**
   * Streams from after `resume`, or from now. Call after subscribing to the
   * hub, so whatever settles after the starting place wakes it.
   */
  async run(stream: EventStream, resume: FeedPosition | undefined): Promise<void> {
    const heartbeat = setInterval(() => {
      this.#heartbeatDue = true;
      this.#poke();
    }, this.#options.heartbeatMs);
    heartbeat.unref();
    stream.signal.addEventListener("abort", () => this.#poke());
    try {
      let position = resume;
      if (!position) {
        const now = await startingNow(this.#options.db);
        position = now.position;
        this.#seen = now.seen;
      }
      stream.comment("connected");
      while (!this.#closed && !stream.signal.aborted) {
        if (this.#heartbeatDue) {
          this.#heartbeatDue = false;
          await this.#checkCredential();
          stream.comment("keep-alive");
          this.#dirty = true;
        }
        if (this.#dirty) {
          this.#dirty = false;
          position = await this.#deliver(stream, position);
          continue;
        }
        await new Promise<void>((resolve) => {
          this.#nudge = resolve;
        });
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Sends every page after `from` the actor may see now; returns the new place. */
  async #deliver(stream: EventStream, from: FeedPosition): Promise<FeedPosition> {
    const { db, actor, only } = this.#options;
    let position = from;
    for (;;) {
      if (Date.now() - this.#checkedAt >= recheckMs) await this.#checkCredential();
      const audience = await followedAudience(db, actor, only);
      this.#interest = workspaceIds(audience);
      const page = await feedPage(db, audience, position, pageSize, this.#seen);
      for (const event of page) {
        if (this.#closed || stream.signal.aborted) return position;
        const sent = stream.send("activity", event.activity, formatPosition(event.position));
        position = event.position;
        if (!sent && !(await this.#drained(stream))) {
          stream.destroy();
          this.#closing.abort();
          return position;
        }
      }
      if (page.length < pageSize) return position;
    }
  }

  async #checkCredential(): Promise<void> {
    if (!(await this.#options.stillValid())) {
      throw new DomainError("unauthenticated", "This stream's credential is no longer valid");
    }
    this.#checkedAt = Date.now();
  }

  /** False when the client has not taken what was sent within `stallMs`, or the server closes. */
  async #drained(stream: EventStream): Promise<boolean> {
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(this.#options.stallMs),
    ]);
    if (signal.aborted) return false;
    const gaveUp = new Promise<false>((resolve) => {
      signal.addEventListener("abort", () => resolve(false), { once: true });
    });
    return Promise.race([stream.drained().then(() => true), gaveUp]);
  }

  #poke(): void {
    const resolve = this.#nudge;
    this.#nudge = undefined;
    resolve?.();
  }
}

function workspaceIds(audience: FeedAudience): Set<string> {
  return new Set(audience.workspaces.map((workspace) => workspace.id));
}
