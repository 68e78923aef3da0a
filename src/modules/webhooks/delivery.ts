import type { FastifyBaseLogger } from "fastify";
import type { JobWithMetadata, PgBoss } from "pg-boss";
import type { Counter } from "prom-client";
import type { Context } from "../../platform/context.ts";
import type { Sealer } from "../../platform/crypto/sealed.ts";
import type { Database } from "../../platform/db/pool.ts";
import { type Attempt, sendDelivery } from "./send.ts";
import {
  countFailedDelivery,
  deliveryForAttempt,
  recordAttempt,
  resetFailureStreak,
} from "./service.ts";

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
  db: Database;
  settings: DeliverySettings;
  log: FastifyBaseLogger;
  attempts: Counter<"outcome">;
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
 * One attempt at one delivery; false when pg-boss should try again. Success,
 * or a failure with no retry left, settles the delivery row; a failure with
 * retries left records itself and answers false, so pg-boss schedules the
 * next attempt. A delivery whose webhook was deleted, or paused, is not sent.
 */
async function attempt(
  job: JobWithMetadata<{ deliveryId: string }>,
  options: WorkerOptions,
): Promise<boolean> {
  const { db, settings } = options;
  const delivery = await deliveryForAttempt(db, job.data.deliveryId);
  if (delivery?.status !== "pending") return true;
  if (!delivery.active) {
    await recordAttempt(db, delivery.id, {
      status: "failed",
      error: "the webhook was paused; not sent",
      counted: 0,
    });
    return true;
  }
  let secret: string;
  try {
    secret = settings.box.open(delivery.secret);
  } catch {
    // Sealed under another AUTH_SECRET: no retry can help.
    await recordAttempt(db, delivery.id, { status: "failed", error: unreadableSecret, counted: 0 });
    return true;
  }
  const result = await sendDelivery({
    url: delivery.url,
    body: delivery.body,
    secret,
    eventType: delivery.eventType,
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
  const recorded = {
    responseStatus: result.status,
    error: result.ok ? null : result.error,
    durationMs: result.durationMs,
  };
  if (result.ok) {
    await recordAttempt(db, delivery.id, { status: "succeeded", ...recorded });
    await resetFailureStreak(db, delivery.webhookId);
    return true;
  }
  await recordAttempt(db, delivery.id, { status: last ? "failed" : "pending", ...recorded });
  if (!last) return false;
  const ctx = {
    actor: { type: "system", name: "webhook delivery" },
    db,
    requestId: job.id,
    now: settings.now,
    log: options.log,
  } satisfies Context;
  if (await countFailedDelivery(ctx, delivery.webhookId, settings.disableAfter)) {
    options.log.warn(
      { webhookId: delivery.webhookId },
      "webhook turned off after repeated failures",
    );
  }
  return true;
}
