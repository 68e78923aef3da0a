import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase } from "../../../test/harness.ts";
import type { DatabaseHandle } from "../../platform/db/pool.ts";
import {
  currentPosition,
  eventsAfter,
  feedPage,
  formatPosition,
  parsePosition,
  startingNow,
} from "./feed.ts";

/**
 * Two transactions side by side need the server: PGlite runs one at a time,
 * so there the order of commits is always the order of transaction ids.
 */
let database: DatabaseHandle & { drop: () => Promise<void>; url?: string };
const clients: pg.Client[] = [];
beforeAll(async () => {
  database = await openTestDatabase({ server: true });
});
afterAll(async () => {
  for (const client of clients) await client.end().catch(() => {});
  await database?.drop();
});

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.url });
  clients.push(client);
  await client.connect();
  return client;
}

/** One personal (workspace-less) activity row by `actorId`, on `client`'s transaction. */
function insertEvent(client: pg.Client, id: string, actorId: string) {
  return client.query(
    `insert into activity_events (id, workspace_id, actor_type, actor_id, type, entity_type, entity_id)
     values ($1, null, 'user', $2, 'profile.updated', 'user', $2)`,
    [id, actorId],
  );
}

describe("the feed's order", () => {
  it("holds back an event until every transaction that could write an earlier one has ended", async () => {
    const actorId = randomUUID();
    const start = await currentPosition(database.db);
    const slow = await connect();
    const fast = await connect();
    // The slow transaction writes first but commits last, and its event id
    // sorts after the fast one's: neither time nor id order is commit order.
    const slowId = "ffffffff-ffff-7fff-bfff-ffffffffffff";
    const fastId = "00000000-0000-7000-8000-000000000001";
    await slow.query("begin");
    await insertEvent(slow, slowId, actorId);
    await fast.query("begin");
    await insertEvent(fast, fastId, actorId);
    await fast.query("commit");

    const audience = { userId: actorId, workspaces: [], personal: true };
    // Handing out the fast event now would put the slow one behind a place a
    // client may already have passed.
    expect(await eventsAfter(database.db, start, 10)).toEqual([]);
    expect(await feedPage(database.db, audience, start, 10)).toEqual([]);

    await slow.query("commit");
    const marks = await eventsAfter(database.db, start, 10);
    expect(marks.map((mark) => mark.id)).toEqual([slowId, fastId]);
    const page = await feedPage(database.db, audience, start, 10);
    expect(page.map((event) => event.activity.id)).toEqual([slowId, fastId]);

    // Resuming after the first gives exactly the second.
    const [first] = page;
    if (!first) throw new Error("no first event");
    const resumed = await feedPage(database.db, audience, first.position, 10);
    expect(resumed.map((event) => event.activity.id)).toEqual([fastId]);
  });

  it("starts 'now' after every settled event and before every one still being written", async () => {
    const actorId = randomUUID();
    const writer = await connect();
    const before = randomUUID();
    await insertEvent(writer, before, actorId);
    await writer.query("begin");
    const during = randomUUID();
    await insertEvent(writer, during, actorId);
    const now = await currentPosition(database.db);
    await writer.query("commit");
    const audience = { userId: actorId, workspaces: [], personal: true };
    const page = await feedPage(database.db, audience, now, 10);
    expect(page.map((event) => event.activity.id)).toEqual([during]);
  });
});

describe("starting now", () => {
  it("skips what committed before, even behind a transaction still running", async () => {
    const actorId = randomUUID();
    const audience = { userId: actorId, workspaces: [], personal: true };
    const slow = await connect();
    const fast = await connect();
    await slow.query("begin");
    const running = randomUUID();
    await insertEvent(slow, running, actorId);
    // Committed before the stream opens, but after the running one began:
    // its place is after the starting place the running one holds back.
    const committed = randomUUID();
    await insertEvent(fast, committed, actorId);
    const { position, seen } = await startingNow(database.db);
    const later = randomUUID();
    await insertEvent(fast, later, actorId);
    await slow.query("commit");

    const page = await feedPage(database.db, audience, position, 10, seen);
    expect(page.map((event) => event.activity.id)).toEqual([running, later]);
    // Without the snapshot, the place alone would have shown it.
    const placeOnly = await feedPage(database.db, audience, position, 10);
    expect(placeOnly.map((event) => event.activity.id)).toContain(committed);
  });
});

describe("event ids", () => {
  it("read back what they write, and refuse anything else", () => {
    const position = { tx: "18446744073709551615", id: randomUUID() };
    expect(parsePosition(formatPosition(position), "Last-Event-ID")).toEqual(position);
    expect(parsePosition(` 007-${position.id.toUpperCase()} `, "x")).toEqual({
      tx: "7",
      id: position.id,
    });
    for (const text of ["", "7", `18446744073709551616-${position.id}`, `-1-${position.id}`]) {
      expect(() => parsePosition(text, "Last-Event-ID")).toThrow(/Last-Event-ID|event id/);
    }
  });
});
