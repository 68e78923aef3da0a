import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import type { FastifyBaseLogger } from "fastify";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { Poller } from "../../platform/poller.ts";
import { type FeedRow, feedColumns, feedRowColumns, settled } from "../events/feed.ts";
import { peopleOfTasks } from "../tasks/service.ts";
import { accountsByEmail } from "../workspaces/invitations.ts";
import { membersOf } from "../workspaces/service.ts";
import { concernsTask, peopleAtEachEvent, recipientsOf } from "./recipients.ts";
import { claimPlace, movePlace, writeNotifications } from "./service.ts";

export type NotifierSettings = {
  /** How often each instance looks for new events (default 1 s). */
  pollMs: number;
  now: () => Date;
};

/**
 * Whether a settled event lies after the place: the next event after it,
 * read from the feed index (the lateral join puts the place into the
 * index condition; a plain join filtered every row of the table, 61 ms
 * at 200,000 events, against 0.14 ms), settled or not.
 */
export const eventsWaiting = sql`
  select exists (
    select 1 from notifier_position p
    cross join lateral (
      select e.tx from activity_events e
      where (e.tx, e.id) > (p.position_tx, p.position_id)
      order by e.tx, e.id
      limit 1
    ) next
    where ${settled}
  ) as any`;

/** Events read per transaction. */
const pageSize = 500;

/**
 * Turns the event feed into notifications. One place in the feed for the
 * whole database (`notifier_position`, docs/adr/0005): every `pollMs` each
 * instance asks, read-only and outside a transaction, whether settled
 * events lie after it; only then does it take the place's row lock (SKIP
 * LOCKED: one instance works at a time, the others go on), read the next
 * events, write a notification for each person they concern
 * (recipients.ts) and move the place, in one transaction. A crash before
 * commit leaves the place where it was; the unique (user, event) index
 * keeps a rerun from writing twice.
 */
/** The address a member.invited event invites. */
function invitedEmail(row: FeedRow): string | undefined {
  const email = row.changes.email;
  return row.type === "member.invited" && typeof email === "string" ? email : undefined;
}

export class Notifier {
  readonly #pool: pg.Pool;
  readonly #settings: NotifierSettings;
  readonly #log: FastifyBaseLogger;
  readonly #poller: Poller;

  constructor(options: { pool: pg.Pool; settings: NotifierSettings; log: FastifyBaseLogger }) {
    this.#pool = options.pool;
    this.#settings = options.settings;
    this.#log = options.log;
    this.#poller = new Poller({
      everyMs: options.settings.pollMs,
      round: () => this.round(),
      onError: (error) => this.#log.warn({ err: error }, "notifying failed; will retry"),
    });
  }

  start(): void {
    this.#poller.start();
  }

  close(): Promise<void> {
    return this.#poller.close();
  }

  /** Works through every settled event after the place; returns the notifications written. */
  async round(): Promise<number> {
    let written = 0;
    for (;;) {
      if (this.#poller.closed) return written;
      const page = await this.#page();
      written += page.written;
      if (!page.full) return written;
    }
  }

  async #page(): Promise<{ written: number; full: boolean }> {
    const client = await this.#pool.connect();
    try {
      const db = drizzle({ client });
      // Outside a transaction: a quiet round takes no transaction id and no lock.
      const waiting = await db.execute<{ any: boolean }>(eventsWaiting);
      if (!waiting.rows[0]?.any) return { written: 0, full: false };
      await client.query("begin");
      const from = await claimPlace(db);
      if (!from) {
        // Another instance is at it.
        await client.query("commit");
        return { written: 0, full: false };
      }
      const events = await db.execute<FeedRow>(sql`
        select ${feedRowColumns}
        from (select ${feedColumns} from activity_events
          where (tx, id) > (${from.tx}::xid8, ${from.id}::uuid) and ${settled}
          order by tx, id
          limit ${pageSize}) e
        left join "user" u on u.id = e.actor_id
        order by e.tx, e.id`);
      const rows = events.rows;
      const last = rows.at(-1);
      if (!last) {
        await client.query("commit");
        return { written: 0, full: false };
      }
      const [people, members, invitees] = await Promise.all([
        peopleOfTasks(
          db,
          rows.filter((row) => concernsTask(row.type)).map((row) => row.entity_id),
        ),
        membersOf(
          db,
          rows.flatMap((row) => (row.workspace_id ? [row.workspace_id] : [])),
        ),
        accountsByEmail(
          db,
          rows.flatMap((row) => invitedEmail(row) ?? []),
        ),
      ]);
      const peopleAt = peopleAtEachEvent(rows, people);
      const due = rows.flatMap((row) => {
        const workspace = row.workspace_id ? (members.get(row.workspace_id) ?? []) : undefined;
        const recipients = recipientsOf(
          {
            type: row.type,
            actorType: row.actor_type,
            actorId: row.actor_id,
            entityId: row.entity_id,
            changes: row.changes,
          },
          {
            task: peopleAt.get(row.id),
            invitee: invitees.get(invitedEmail(row) ?? ""),
            administrators: workspace
              ?.filter((person) => person.role === "owner" || person.role === "admin")
              .map((person) => person.userId),
          },
        );
        // Only members hear of a workspace's events (a task's maker may have
        // left it), except of the end of their own membership.
        const inWorkspace = new Set(workspace?.map((person) => person.userId));
        return recipients
          .filter(
            (recipient) =>
              workspace === undefined ||
              recipient.reason === "membership" ||
              inWorkspace.has(recipient.userId),
          )
          .map((recipient) => ({
            id: uuidv7(),
            userId: recipient.userId,
            eventId: row.id,
            workspaceId: row.workspace_id,
            reason: recipient.reason,
          }));
      });
      const written = await writeNotifications(db, due, this.#settings.now());
      await movePlace(db, { tx: last.tx, id: last.id });
      await client.query("commit");
      return { written, full: rows.length === pageSize };
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
