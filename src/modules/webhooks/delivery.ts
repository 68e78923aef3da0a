import type { FastifyBaseLogger } from "fastify";
import type pg from "pg";
import type { JobWithMetadata, PgBoss } from "pg-boss";
import type { Counter } from "prom-client";
import { v7 as uuidv7 } from "uuid";
import type { Sealer } from "../../platform/crypto/sealed.ts";
import { type Attempt, sendDelivery } from "./send.ts";

const unreadableSecret =
  "the webhook's secret cannot be read (AUTH_SECRET changed since it was made); recreate the webhook";

export const deliveryQueue = "webhook-delivery";

export type DeliverySettings = {
  allowPrivate: boolean;
  box: Sealer;
  /** Each attempt, answer included, must end within this (default 10 s). */
  timeoutMs: number;
  /**
   * Attempts after the first, and their spacing: pg-boss waits `delaySeconds`
   * and, with `backoff`, doubles it each time (with jitter) up to
   * `maxDelaySeconds`. Default: 10 retries from 30 s, capped at 6 h, which
   * spreads them over about 9 hours.
   */
  retry: { limit: number; delaySeconds: number; backoff: boolean; maxDelaySeconds: number };
  /** Deliveries that fail for good in a row before the server turns the webhook off. */
  disableAfter: number;
  /** Attempts this instance makes at once, each on its own (no batch waits for its slowest). */
  concurrency: number;
  /**
   * Of those, most for one webhook at a time, so a receiver that never
   * answers holds a few slots, not all of them, and other webhooks flow.
   */
  perWebhook: number;
  now: () => Date;
};

export const defaultDeliverySettings = {
  timeoutMs: 10_000,
  retry: { limit: 10, delaySeconds: 30, backoff: true, maxDelaySeconds: 6 * 60 * 60 },
  disableAfter: 10,
  concurrency: 10,
  perWebhook: 3,
} satisfies Partial<DeliverySettings>;

type WorkerOptions = {
  pool: pg.Pool;
  settings: DeliverySettings;
  log: FastifyBaseLogger;
  attempts: Counter<"outcome">;
};

type Loaded = {
  id: string;
  body: string;
  event_type: string;
  status: string;
  webhook_id: string;
  url: string;
  secret: string;
  active: boolean;
};

/** Creates the delivery queue with the current retry policy and starts this instance's worker. */
export async function startDeliveryWorker(boss: PgBoss, options: WorkerOptions): Promise<void> {
  const { retry } = options.settings;
  const policy = {
    retryLimit: retry.limit,
    retryDelay: retry.delaySeconds,
    retryBackoff: retry.backoff,
    // pg-boss takes a cap only with backoff.
    ...(retry.backoff ? { retryDelayMax: retry.maxDelaySeconds } : {}),
    // The attempt's own timeout plus room to record it.
    expireInSeconds: Math.ceil(options.settings.timeoutMs / 1000) + 30,
  };
  await boss.createQueue(deliveryQueue, policy);
  // createQueue keeps an existing queue as it was; the policy may have changed since.
  await boss.updateQueue(deliveryQueue, policy);
  const workOptions = {
    localConcurrency: options.settings.concurrency,
    localGroupConcurrency: options.settings.perWebhook,
    pollingIntervalSeconds: 0.5,
    // While the queue has a backlog (pg-boss's cached count), a worker that
    // got a job fetches the next at once instead of waiting for its poll.
    burstWhenReadyExceeds: 1,
    includeMetadata: true,
  } as const;
  await boss.work<{ deliveryId: string }, void, typeof workOptions>(
    deliveryQueue,
    workOptions,
    async ([job]) => {
      if (!job) return;
      // False: the attempt failed and was recorded; throwing makes pg-boss retry it.
      if (!(await attempt(job, options))) throw new Error("delivery attempt failed; retrying");
    },
  );
}

/**
 * Deliveries whose last attempt never finished: the process stopped or the
 * job expired mid-attempt, so pg-boss holds no job that could still settle
 * them. Marked failed, so they count, show, and age out like any other.
 */
export async function settleAbandoned(pool: pg.Pool): Promise<number> {
  const result = await pool.query(
    `update webhook_deliveries d set status = 'failed', completed_at = now(),
       error = 'the last attempt did not finish (the process stopped or the attempt expired)'
     where d.status = 'pending' and d.created_at < now() - interval '2 minutes'
       and not exists (select 1 from pgboss.job j
         where j.name = $1 and j.id = d.id and j.state in ('created', 'retry', 'active'))`,
    [deliveryQueue],
  );
  return result.rowCount ?? 0;
}

/**
 * One attempt at one delivery; false when pg-boss should try again. Success,
 * or a failure with no retry left, settles the delivery row; a failure with
 * retries left records itself and answers false, so pg-boss schedules the
 * next attempt. A delivery whose webhook was deleted, or paused, is not sent.
 */
async function attempt(
  job: JobWithMetadata<{ deliveryId: string }>,
  options: WorkerOptions,
): Promise<boolean> {
  const { pool, settings } = options;
  const { rows } = await pool.query<Loaded>(
    `select d.id, d.body, d.event_type, d.status, w.id as webhook_id, w.url, w.secret, w.active
     from webhook_deliveries d join webhooks w on w.id = d.webhook_id
     where d.id = $1`,
    [job.data.deliveryId],
  );
  const delivery = rows[0];
  if (delivery?.status !== "pending") return true;
  if (!delivery.active) {
    await settle(pool, delivery.id, "failed", { error: "the webhook was paused; not sent" }, 0);
    return true;
  }
  let secret: string;
  try {
    secret = settings.box.open(delivery.secret);
  } catch {
    // Sealed under another AUTH_SECRET: no retry can help.
    await settle(pool, delivery.id, "failed", { error: unreadableSecret }, 0);
    return true;
  }
  const result = await sendDelivery({
    url: delivery.url,
    body: delivery.body,
    secret,
    eventType: delivery.event_type,
    deliveryId: delivery.id,
    timeoutMs: settings.timeoutMs,
    allowPrivate: settings.allowPrivate,
    now: settings.now,
  }).catch(
    (error: unknown): Attempt => ({
      ok: false,
      status: null,
      error: `could not send: ${error instanceof Error ? error.message : String(error)}`.slice(
        0,
        500,
      ),
      durationMs: 0,
    }),
  );
  const last = job.retryCount >= job.retryLimit;
  options.attempts.inc({ outcome: result.ok ? "succeeded" : last ? "failed" : "retrying" });
  if (result.ok) {
    await settle(pool, delivery.id, "succeeded", result);
    await pool.query(
      "update webhooks set failure_streak = 0 where id = $1 and failure_streak > 0",
      [delivery.webhook_id],
    );
    return true;
  }
  await settle(pool, delivery.id, last ? "failed" : "pending", result);
  if (!last) return false;
  // One statement: count the failure, turn the webhook off at the limit,
  // and record that in the activity trail (the system's doing), so owners
  // and admins following the feed, or a webhook of theirs, learn of it.
  const reason = `turned off after ${settings.disableAfter} deliveries in a row failed every attempt`;
  const { rows: turnedOff } = await pool.query(
    `with old as (select active from webhooks where id = $1),
     counted as (
       update webhooks set failure_streak = failure_streak + 1,
         active = active and failure_streak + 1 < $2,
         disabled_reason = case when active and failure_streak + 1 >= $2
           then $3 else disabled_reason end,
         version = version + case when active and failure_streak + 1 >= $2 then 1 else 0 end
       where id = $1
       returning id, workspace_id, active
     )
     insert into activity_events (id, workspace_id, actor_type, type, entity_type, entity_id,
       entity_title, changes, created_at)
     select $4, counted.workspace_id, 'system', 'webhook.updated', 'webhook', counted.id, $5,
       jsonb_build_object('active', jsonb_build_object('from', true, 'to', false),
         'disabledReason', jsonb_build_object('from', null, 'to', $3::text)),
       now()
     from counted, old
     where old.active and not counted.active
     returning id`,
    [delivery.webhook_id, settings.disableAfter, reason, uuidv7(), new URL(delivery.url).host],
  );
  if (turnedOff.length > 0) {
    options.log.warn(
      { webhookId: delivery.webhook_id },
      "webhook turned off after repeated failures",
    );
  }
  return true;
}

async function settle(
  pool: pg.Pool,
  id: string,
  status: "pending" | "succeeded" | "failed",
  result: { status?: number | null; error?: string; durationMs?: number },
  counted = 1,
): Promise<void> {
  await pool.query(
    `update webhook_deliveries set
       attempts = attempts + $6,
       status = $2, response_status = $3, error = $4, duration_ms = $5,
       last_attempt_at = now(),
       completed_at = case when $2 = 'pending' then null else now() end
     where id = $1 and status = 'pending'`,
    [id, status, result.status ?? null, result.error ?? null, result.durationMs ?? null, counted],
  );
}
