import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import type { FastifyBaseLogger } from "fastify";
import type pg from "pg";
import type { PgBoss } from "pg-boss";
import { Counter, type Registry } from "prom-client";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../../platform/db/pool.ts";
import { type Jobs, jobConnection } from "../../platform/jobs/jobs.ts";
import { Poller } from "../../platform/poller.ts";
import { type FeedRow, feedColumns, feedRowColumns, settled, toFeedEvent } from "../events/feed.ts";
import { subscribes } from "./contracts.ts";
import { type DeliverySettings, deliveryQueue, startDeliveryWorker } from "./delivery.ts";
import { type DueDelivery, movePlaces, settleAbandoned, writeDeliveries } from "./service.ts";

export type DispatcherSettings = DeliverySettings & {
  /** How often each instance looks for new events (default 1 s). */
  pollMs: number;
};

type Claimed = {
  id: string;
  workspace_id: string;
  events: string[];
  position_tx: string;
  position_id: string;
};

/**
 * Active webhooks after `afterId` whose workspace has a settled event after
 * their place: each one's next event, read from the workspace's feed index
 * (`order by ... limit 1` keeps the place in the index condition; a bare
 * EXISTS let the planner scan every event after the place), settled or not.
 */
export function webhooksWaiting(afterId: string) {
  return sql`
    select w.id from webhooks w
    where w.active and w.id > ${afterId}::uuid
      and exists (
        select 1 from (
          select tx from activity_events
          where workspace_id = w.workspace_id and (tx, id) > (w.position_tx, w.position_id)
          order by tx, id
          limit 1
        ) next
        where ${settled})
    order by w.id
    limit ${webhooksPerRound}`;
}

/** Webhooks claimed per transaction, and events read per webhook per round. */
const webhooksPerRound = 50;
const eventsPerWebhook = 100;

/**
 * Turns the event feed into deliveries. Each webhook keeps its own place in
 * the feed (docs/adr/0005); every `pollMs`, each instance first looks,
 * without locking or writing anything, for active webhooks with settled
 * events after their place. Only when there are some does it open a
 * transaction: it claims those no other instance holds (FOR NO KEY UPDATE
 * SKIP LOCKED), reads each one's events after its place, writes a delivery
 * row and a pg-boss job for every event it subscribed to and moves its
 * place past every event it read. A crash before commit leaves the place
 * where it was, and the unique (webhook, event) index keeps a second run
 * from delivering twice. A quiet round takes no transaction id: one would
 * hold back the server-wide horizon every event stream waits on (feed.ts),
 * and the row locks would write each webhook's page every round.
 *
 * The job queue and the delivery worker start once the database holds any
 * webhook, on every instance, so an app without webhooks never installs
 * pg-boss's schema.
 */
export class WebhookDispatcher {
  readonly #pool: pg.Pool;
  readonly #db: Database;
  readonly #jobs: Jobs;
  readonly #settings: DispatcherSettings;
  readonly #log: FastifyBaseLogger;
  readonly #attempts: Counter<"outcome">;
  #boss: PgBoss | undefined;
  #lastSweep = 0;
  readonly #poller: Poller;

  constructor(options: {
    pool: pg.Pool;
    db: Database;
    jobs: Jobs;
    settings: DispatcherSettings;
    log: FastifyBaseLogger;
    metrics: Registry;
  }) {
    this.#pool = options.pool;
    this.#db = options.db;
    this.#jobs = options.jobs;
    this.#settings = options.settings;
    this.#log = options.log;
    this.#poller = new Poller({
      everyMs: options.settings.pollMs,
      round: () => this.round(),
      onError: (error) => this.#log.warn({ err: error }, "webhook dispatch failed; will retry"),
    });
    this.#attempts = new Counter({
      name: "taskpilot_webhook_attempts_total",
      help: "Webhook delivery attempts by this instance: succeeded, retrying (failed, to be tried again) or failed (no attempt left)",
      labelNames: ["outcome"] as const,
      registers: [options.metrics],
    });
  }

  start(): void {
    this.#poller.start();
  }

  close(): Promise<void> {
    return this.#poller.close();
  }

  /** One pass over every active webhook; returns how many deliveries it queued. */
  async round(): Promise<number> {
    const boss = await this.#ready();
    if (!boss) return 0;
    if (Date.now() - this.#lastSweep > 60_000) {
      this.#lastSweep = Date.now();
      const abandoned = await settleAbandoned(this.#db, deliveryQueue);
      if (abandoned > 0)
        this.#log.warn({ abandoned }, "webhook deliveries abandoned mid-attempt marked failed");
    }
    let queued = 0;
    let afterId = "00000000-0000-0000-0000-000000000000";
    for (;;) {
      if (this.#poller.closed) return queued;
      const page = await this.#dispatchPage(boss, afterId);
      queued += page.queued;
      // A webhook with more waiting than one read takes goes again at once.
      if (page.full) continue;
      if (page.lastId === null) return queued;
      afterId = page.lastId;
    }
  }

  async #ready(): Promise<PgBoss | undefined> {
    if (this.#boss) return this.#boss;
    const { rows } = await this.#pool.query<{ any: boolean }>(
      "select exists (select 1 from webhooks) as any",
    );
    if (!rows[0]?.any || this.#poller.closed) return undefined;
    const boss = await this.#jobs.start();
    await startDeliveryWorker(boss, {
      db: this.#db,
      settings: this.#settings,
      log: this.#log,
      attempts: this.#attempts,
    });
    this.#boss = boss;
    return boss;
  }

  async #dispatchPage(
    boss: PgBoss,
    afterId: string,
  ): Promise<{ queued: number; lastId: string | null; full: boolean }> {
    const client = await this.#pool.connect();
    try {
      const db = drizzle({ client });
      // Outside a transaction: a read-only statement takes no transaction id.
      const waiting = await db.execute<{ id: string }>(webhooksWaiting(afterId));
      const ids = waiting.rows.map((row) => row.id);
      if (ids.length === 0) return { queued: 0, lastId: null, full: false };
      const lastId = ids.length < webhooksPerRound ? null : (ids.at(-1) ?? null);
      await client.query("begin");
      // Positions are read again under the lock: another instance may have moved them.
      const claimed = await db.execute<Claimed>(sql`
        select id, workspace_id, events, position_tx::text as position_tx, position_id
        from webhooks
        where active and id = any(${sql.param(ids)}::uuid[])
        order by id
        for no key update skip locked`);
      const hooks = claimed.rows;
      if (hooks.length === 0) {
        await client.query("commit");
        return { queued: 0, lastId, full: false };
      }
      const events = await db.execute<FeedRow & { webhook_id: string }>(sql`
        select w.id as webhook_id, ${feedRowColumns}
        from unnest(${sql.param(hooks.map((hook) => hook.id))}::uuid[],
          ${sql.param(hooks.map((hook) => hook.workspace_id))}::uuid[],
          ${sql.param(hooks.map((hook) => hook.position_tx))}::xid8[],
          ${sql.param(hooks.map((hook) => hook.position_id))}::uuid[]) as w(id, workspace_id, tx, event_id)
        cross join lateral (
          select ${feedColumns} from activity_events
          where workspace_id = w.workspace_id
            and (tx, id) > (w.tx, w.event_id) and ${settled}
          order by tx, id
          limit ${eventsPerWebhook}
        ) e
        left join "user" u on u.id = e.actor_id
        order by w.id, e.tx, e.id`);
      const byHook = new Map(hooks.map((hook) => [hook.id, hook]));
      const due: DueDelivery[] = [];
      const moved = new Map<string, { tx: string; id: string }>();
      const read = new Map<string, number>();
      for (const row of events.rows) {
        const hook = byHook.get(row.webhook_id);
        if (!hook) continue;
        moved.set(hook.id, { tx: row.tx, id: row.id });
        read.set(hook.id, (read.get(hook.id) ?? 0) + 1);
        if (!subscribes(hook.events, row.type)) continue;
        const { activity } = toFeedEvent(row);
        const body = JSON.stringify({
          id: activity.id,
          type: activity.type,
          createdAt: activity.createdAt,
          workspaceId: activity.workspaceId,
          data: activity,
        });
        due.push({ id: uuidv7(), webhookId: hook.id, eventId: row.id, eventType: row.type, body });
      }
      const written = await writeDeliveries(db, due);
      // Grouped by webhook: a worker runs at most `perWebhook` of one webhook at once.
      const jobs = written.map((delivery) => ({
        id: delivery.id,
        data: { deliveryId: delivery.id },
        group: { id: delivery.webhookId },
      }));
      if (jobs.length > 0) await boss.insert(deliveryQueue, jobs, { db: jobConnection(client) });
      await movePlaces(db, moved);
      await client.query("commit");
      const full = [...read.values()].some((count) => count >= eventsPerWebhook);
      return { queued: jobs.length, lastId, full };
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
