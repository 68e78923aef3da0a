import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import type { Actor } from "../../platform/auth/actor.ts";
import type { EventStream } from "../../platform/http/event-stream.ts";
import { audienceOf, feedPage } from "./feed.ts";
import { Follower } from "./follower.ts";

/**
 * A stream's behaviour towards a client that does not keep up, which real
 * sockets make slow and nondeterministic to reproduce: the connection is
 * played by a scripted EventStream whose buffer is "full" after `room`
 * events, until the test lets it drain (or never does).
 */
const t = useTestApp();

class ScriptedConnection implements EventStream {
  readonly sent: Array<{ title: string | null }> = [];
  readonly signal = new AbortController().signal;
  readonly started = true;
  destroyed = false;
  #release: (() => void) | undefined;
  #room: number;

  constructor(room: number) {
    this.#room = room;
  }

  send = (_event: string, data: unknown): boolean => {
    this.sent.push({ title: (data as { entity: { title: string | null } }).entity.title });
    return this.sent.length < this.#room;
  };
  comment = (): boolean => true;
  drained = () =>
    new Promise<void>((resolve) => {
      this.#release = resolve;
    });
  /** The client reads everything: what waits for `drained` goes on. */
  drain(room = Number.POSITIVE_INFINITY) {
    this.#room = room;
    this.#release?.();
  }
  destroy = () => {
    this.destroyed = true;
  };
  get waiting() {
    return this.#release !== undefined;
  }
}

async function followerFor(user: TestUser, options: { stallMs?: number; valid?: () => boolean }) {
  const actor = (await t.app.resolveCredential(user.headers)) as Actor;
  return new Follower({
    db: t.database.db,
    actor,
    audience: await audienceOf(t.database.db, actor),
    only: undefined,
    stillValid: async () => options.valid?.() ?? true,
    heartbeatMs: 60_000,
    stallMs: options.stallMs ?? 60_000,
  });
}

const fromTheStart = { tx: "1", id: "00000000-0000-0000-0000-000000000000" };

/**
 * Waits until the user's `count` events have settled. These followers have
 * no hub to wake them, so one whose first read came while another test's
 * transaction (on a shared server) still held the events back would sleep
 * until its heartbeat.
 */
async function settledEvents(user: TestUser, count: number): Promise<void> {
  const actor = (await t.app.resolveCredential(user.headers)) as Actor;
  const audience = await audienceOf(t.database.db, actor);
  await expect
    .poll(async () => (await feedPage(t.database.db, audience, fromTheStart, count + 1)).length, {
      timeout: 15_000,
    })
    .toBe(count);
}

describe("a client that does not keep up", () => {
  it("stops getting events within a page once its credential is revoked", async () => {
    const user = await signUp(t.app);
    for (let index = 0; index < 150; index++)
      await createTask(t.app, user, { title: `old ${index}` });
    await settledEvents(user, 150);
    let valid = true;
    const follower = await followerFor(user, { valid: () => valid });
    const connection = new ScriptedConnection(10);
    const running = follower.run(connection, fromTheStart);
    await expect.poll(() => connection.waiting, { timeout: 15_000 }).toBe(true);

    valid = false; // revoked while the client is behind
    await createTask(t.app, user, { title: "after the revocation" });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    connection.drain();

    await expect(running).rejects.toMatchObject({ code: "unauthenticated" });
    // The first page (100 events, read before the revocation) went out; nothing after it.
    expect(connection.sent.length).toBeLessThanOrEqual(100);
    expect(connection.sent.map((event) => event.title)).not.toContain("after the revocation");
  });

  it("is cut off when it leaves what was sent unread for stallMs", async () => {
    const user = await signUp(t.app);
    for (let index = 0; index < 5; index++) await createTask(t.app, user, { title: `t${index}` });
    await settledEvents(user, 5);
    const follower = await followerFor(user, { stallMs: 200 });
    const connection = new ScriptedConnection(2);
    await follower.run(connection, fromTheStart);
    expect(connection.destroyed).toBe(true);
    expect(connection.sent).toHaveLength(2);
  });

  it("is cut off at once at shutdown instead of holding the server's close", async () => {
    const user = await signUp(t.app);
    for (let index = 0; index < 5; index++) await createTask(t.app, user, { title: `t${index}` });
    await settledEvents(user, 5);
    const follower = await followerFor(user, {});
    const connection = new ScriptedConnection(2);
    const running = follower.run(connection, fromTheStart);
    await expect.poll(() => connection.waiting, { timeout: 15_000 }).toBe(true);
    follower.close();
    await running;
    expect(connection.destroyed).toBe(true);
  });
});
