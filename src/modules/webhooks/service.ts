import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { actingUser, workspaceRestriction } from "../../platform/auth/actor.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import type { Sealer } from "../../platform/crypto/sealed.ts";
import { type Executor, withTransaction } from "../../platform/db/transaction.ts";
import { conflict, notFound, validationFailed } from "../../platform/http/errors.ts";
import { checkVersion, type ExpectedVersion } from "../../platform/http/lost-update.ts";
import { decodeCursor, type Page, toPage } from "../../platform/http/pagination.ts";
import { diffChanges, recordActivity } from "../activity/service.ts";
import { membershipsOf } from "../workspaces/membership.ts";
import { allows, assertAllowed } from "../workspaces/permissions.ts";
import { member } from "../workspaces/schema.ts";
import { personalWorkspaceId, roleIn } from "../workspaces/service.ts";
import { checkUrl } from "./address.ts";
import type {
  CreatedWebhook,
  CreateWebhookInput,
  Delivery,
  ListDeliveriesQuery,
  ListWebhooksQuery,
  UpdateWebhookInput,
  Webhook,
} from "./contracts.ts";
import { webhookDeliveries, webhooks } from "./schema.ts";
import { newWebhookSecret } from "./secret.ts";

/** What the verbs need from the deployment. */
export type WebhookSettings = {
  /** http:// and private, loopback and link-local targets (development and tests only). */
  allowPrivate: boolean;
  box: Sealer;
};

type WebhookRow = typeof webhooks.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** More than this many webhooks in one workspace is a mistake, not a design. */
const maxPerWorkspace = 25;

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    url: row.url,
    description: row.description,
    events: row.events,
    active: row.active,
    disabledReason: row.disabledReason,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    webhookId: row.webhookId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    responseStatus: row.responseStatus,
    error: row.error,
    durationMs: row.durationMs,
    createdAt: row.createdAt.toISOString(),
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

/** The URL as stored (checkUrl's form); a 400 naming `url` when it may not be used. */
function usableUrl(text: string, settings: WebhookSettings): string {
  const checked = checkUrl(text, settings.allowPrivate);
  if (checked.problem !== null) throw validationFailed("url", checked.problem);
  return checked.url;
}

/** The webhook's label in the activity trail: its host, never its path (it may hold a token). */
const titleOf = (url: string) => new URL(url).host;

/**
 * A webhook the caller may manage, locked for the change when `lock`:
 * 404 unless they belong to its workspace, 403 below admin.
 */
async function findManaged(ctx: Context, id: string, lock = false): Promise<WebhookRow> {
  const query = ctx.db
    .select({ row: webhooks, role: member.role })
    .from(webhooks)
    .innerJoin(
      member,
      and(eq(member.organizationId, webhooks.workspaceId), membershipsOf(ctx.actor)),
    )
    .where(eq(webhooks.id, id));
  const [found] = lock ? await query.for("update", { of: webhooks }) : await query;
  if (!found) throw notFound("Webhook");
  assertAllowed(found.role, "webhook.manage");
  return found.row;
}

export async function createWebhook(
  ctx: Context,
  input: CreateWebhookInput,
  settings: WebhookSettings,
): Promise<CreatedWebhook> {
  const me = actingUser(ctx.actor);
  const url = usableUrl(input.url, settings);
  const workspaceId =
    input.workspaceId ?? workspaceRestriction(ctx.actor) ?? (await personalWorkspaceId(ctx));
  const secret = newWebhookSecret();
  const id = uuidv7();
  const row = await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    // Like a task: a workspace the caller is not in does not exist for them (404).
    assertAllowed(await roleIn(txCtx, workspaceId), "webhook.manage");
    // Serialises creations in the workspace, so the count below holds.
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`webhooks:${workspaceId}`}, 0))`,
    );
    const [counted] = await tx
      .select({ count: sql<number>`count(*)`.mapWith(Number) })
      .from(webhooks)
      .where(eq(webhooks.workspaceId, workspaceId));
    if ((counted?.count ?? 0) >= maxPerWorkspace) {
      throw conflict(`A workspace has at most ${maxPerWorkspace} webhooks; delete one first`);
    }
    const now = ctx.now();
    const [inserted] = await tx
      .insert(webhooks)
      .values({
        id,
        workspaceId,
        url,
        description: input.description || null,
        events: input.events,
        secret: settings.box.seal(secret),
        createdBy: me.userId,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (!inserted) throw new Error("insert returned no row");
    await recordActivity(txCtx, {
      type: "webhook.created",
      workspaceId,
      entity: { type: "webhook", id, title: titleOf(url) },
      changes: { events: input.events },
    });
    return inserted;
  });
  return { ...toWebhook(row), secret };
}

/** Webhooks of the workspaces the caller administers, oldest first. */
export async function listWebhooks(ctx: Context, query: ListWebhooksQuery): Promise<Page<Webhook>> {
  const roles = await ctx.db
    .select({ id: member.organizationId, role: member.role })
    .from(member)
    .where(
      and(
        membershipsOf(ctx.actor),
        query.workspaceId ? eq(member.organizationId, query.workspaceId) : undefined,
      ),
    );
  if (query.workspaceId) {
    const [only] = roles;
    if (!only) throw notFound("Workspace");
    assertAllowed(only.role, "webhook.manage");
  }
  const managed = roles.filter((row) => allows(row.role, "webhook.manage")).map((row) => row.id);
  if (managed.length === 0) return { data: [], nextCursor: null };
  const cursor = decodeCursor(query.cursor, "id");
  const rows = await ctx.db
    .select()
    .from(webhooks)
    .where(
      and(
        inArray(webhooks.workspaceId, managed),
        cursor ? sql`${webhooks.id} > ${cursor.id}` : undefined,
      ),
    )
    .orderBy(webhooks.id)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toWebhook, (row) => ({ sort: "id", key: null, id: row.id }));
}

export async function getWebhook(ctx: Context, id: string) {
  const row = await findManaged(ctx, id);
  return { webhook: toWebhook(row), version: row.version };
}

export async function updateWebhook(
  ctx: Context,
  id: string,
  input: UpdateWebhookInput,
  settings: WebhookSettings,
  expected?: ExpectedVersion,
) {
  const url = input.url === undefined ? undefined : usableUrl(input.url, settings);
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const current = await findManaged(txCtx, id, true);
    checkVersion(expected, current.version);
    const next = {
      url,
      events: input.events,
      description: input.description === undefined ? undefined : input.description || null,
      active: input.active,
    };
    const changes = diffChanges(
      {
        url: current.url,
        events: current.events,
        description: current.description,
        active: current.active,
      },
      next,
    );
    if (Object.keys(changes).length === 0) return;
    const resumed = input.active === true && !current.active;
    await tx
      .update(webhooks)
      .set({
        ...(next.url !== undefined ? { url: next.url } : {}),
        ...(next.events !== undefined ? { events: next.events } : {}),
        ...(next.description !== undefined ? { description: next.description } : {}),
        ...(next.active !== undefined ? { active: next.active } : {}),
        // Resuming starts from now: what happened while paused is not sent.
        ...(resumed
          ? {
              disabledReason: null,
              failureStreak: 0,
              positionTx: sql`pg_current_xact_id()`,
              positionId: sql`'00000000-0000-0000-0000-000000000000'::uuid`,
            }
          : {}),
        ...(input.active === false ? { disabledReason: null } : {}),
        version: sql`${webhooks.version} + 1`,
        updatedAt: ctx.now(),
      })
      .where(eq(webhooks.id, id));
    if (changes.url) changes.url = { from: titleOf(current.url), to: titleOf(url ?? current.url) };
    await recordActivity(txCtx, {
      type: "webhook.updated",
      workspaceId: current.workspaceId,
      entity: { type: "webhook", id, title: titleOf(url ?? current.url) },
      changes,
    });
  });
  return getWebhook(ctx, id);
}

/** Deletes a webhook; its pending deliveries go with it and are not sent. */
export async function deleteWebhook(ctx: Context, id: string, expected?: ExpectedVersion) {
  await withTransaction(ctx.db, async (tx) => {
    const txCtx = inTransaction(ctx, tx);
    const current = await findManaged(txCtx, id, true);
    checkVersion(expected, current.version);
    await tx.delete(webhooks).where(eq(webhooks.id, id));
    await recordActivity(txCtx, {
      type: "webhook.deleted",
      workspaceId: current.workspaceId,
      entity: { type: "webhook", id, title: titleOf(current.url) },
    });
  });
}

/** A webhook's deliveries, newest first. */
export async function listDeliveries(
  ctx: Context,
  id: string,
  query: ListDeliveriesQuery,
): Promise<Page<Delivery>> {
  await findManaged(ctx, id);
  const cursor = decodeCursor(query.cursor, "delivery");
  const rows = await ctx.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, id),
        query.status ? eq(webhookDeliveries.status, query.status) : undefined,
        cursor ? lt(webhookDeliveries.id, cursor.id) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toDelivery, (row) => ({
    sort: "delivery",
    key: null,
    id: row.id,
  }));
}

const retentionMs = 30 * 24 * 60 * 60 * 1000;

/** Housekeeping: deliveries settled more than 30 days ago. */
export async function purgeOldDeliveries(db: Executor, now: Date): Promise<number> {
  const removed = await db
    .delete(webhookDeliveries)
    .where(lt(webhookDeliveries.completedAt, new Date(now.getTime() - retentionMs)))
    .returning({ id: webhookDeliveries.id });
  return removed.length;
}

/*
 * The dispatcher's and the delivery worker's writes. They act for no one (no
 * route reaches them), so they take an executor, or a system context where
 * a change lands in the activity trail; every write to the webhook tables
 * stays in this file.
 */

export type DueDelivery = {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  body: string;
};

/**
 * Writes the deliveries of one dispatch; one that exists already (a rerun
 * after a lost commit answer) is skipped. Returns those written, to queue.
 */
export async function writeDeliveries(
  db: Executor,
  due: DueDelivery[],
): Promise<Array<{ id: string; webhookId: string }>> {
  if (due.length === 0) return [];
  return db
    .insert(webhookDeliveries)
    .values(due.map((delivery) => ({ ...delivery, createdAt: sql`now()` })))
    .onConflictDoNothing({ target: [webhookDeliveries.webhookId, webhookDeliveries.eventId] })
    .returning({ id: webhookDeliveries.id, webhookId: webhookDeliveries.webhookId });
}

/** Moves each webhook's place in the feed past the last event it read. */
export async function movePlaces(
  db: Executor,
  places: Map<string, { tx: string; id: string }>,
): Promise<void> {
  if (places.size === 0) return;
  const moves = [...places];
  await db.execute(sql`
    update webhooks set position_tx = m.tx, position_id = m.event_id
    from unnest(${sql.param(moves.map(([webhookId]) => webhookId))}::uuid[],
      ${sql.param(moves.map(([, place]) => place.tx))}::xid8[],
      ${sql.param(moves.map(([, place]) => place.id))}::uuid[]) as m(id, tx, event_id)
    where webhooks.id = m.id`);
}

/** A delivery as an attempt needs it, with its webhook. */
export async function deliveryForAttempt(db: Executor, id: string) {
  const [found] = await db
    .select({
      id: webhookDeliveries.id,
      body: webhookDeliveries.body,
      eventType: webhookDeliveries.eventType,
      status: webhookDeliveries.status,
      webhookId: webhooks.id,
      url: webhooks.url,
      secret: webhooks.secret,
      active: webhooks.active,
    })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(eq(webhookDeliveries.id, id));
  return found;
}

export type AttemptRecord = {
  /** "pending" while retries are left. */
  status: "pending" | "succeeded" | "failed";
  responseStatus?: number | null;
  error?: string | null;
  durationMs?: number;
  /** Whether a request was made (0 for a delivery failed without sending). */
  counted?: 0 | 1;
};

/** Records an attempt on a delivery that is still pending; a settled one is left alone. */
export async function recordAttempt(
  db: Executor,
  id: string,
  attempt: AttemptRecord,
): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + ${attempt.counted ?? 1}`,
      status: attempt.status,
      responseStatus: attempt.responseStatus ?? null,
      error: attempt.error ?? null,
      durationMs: attempt.durationMs ?? null,
      lastAttemptAt: sql`now()`,
      completedAt: attempt.status === "pending" ? null : sql`now()`,
    })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, "pending")));
}

/** A delivery got through: the webhook's run of failures is over. */
export async function resetFailureStreak(db: Executor, webhookId: string): Promise<void> {
  await db
    .update(webhooks)
    .set({ failureStreak: 0 })
    .where(and(eq(webhooks.id, webhookId), sql`${webhooks.failureStreak} > 0`));
}

/**
 * A delivery failed every attempt: counts it, and at `disableAfter` in a row
 * turns the webhook off, recording that in the activity trail as the
 * system's doing (owners and admins following the feed, or a webhook of
 * theirs, learn of it). True when this call turned it off.
 */
export async function countFailedDelivery(
  ctx: Context,
  webhookId: string,
  disableAfter: number,
): Promise<boolean> {
  return withTransaction(ctx.db, async (tx) => {
    const [current] = await tx
      .select()
      .from(webhooks)
      .where(eq(webhooks.id, webhookId))
      .for("no key update");
    if (!current) return false;
    const streak = current.failureStreak + 1;
    const turnOff = current.active && streak >= disableAfter;
    const reason = `turned off after ${disableAfter} deliveries in a row failed every attempt`;
    await tx
      .update(webhooks)
      .set({
        failureStreak: streak,
        ...(turnOff
          ? {
              active: false,
              disabledReason: reason,
              version: current.version + 1,
              updatedAt: ctx.now(),
            }
          : {}),
      })
      .where(eq(webhooks.id, webhookId));
    if (turnOff) {
      await recordActivity(inTransaction(ctx, tx), {
        type: "webhook.updated",
        workspaceId: current.workspaceId,
        entity: { type: "webhook", id: webhookId, title: titleOf(current.url) },
        changes: {
          active: { from: true, to: false },
          disabledReason: { from: null, to: reason },
        },
      });
    }
    return turnOff;
  });
}

/**
 * Deliveries whose last attempt never finished: the process stopped or the
 * job expired mid-attempt, so pg-boss holds no job that could still settle
 * them. Marked failed, so they count, show, and age out like any other.
 */
export async function settleAbandoned(db: Executor, queue: string): Promise<number> {
  const settled = await db.execute(sql`
    update webhook_deliveries d set status = 'failed', completed_at = now(),
      error = 'the last attempt did not finish (the process stopped or the attempt expired)'
    where d.status = 'pending' and d.created_at < now() - interval '2 minutes'
      and not exists (select 1 from pgboss.job j
        where j.name = ${queue} and j.id = d.id and j.state in ('created', 'retry', 'active'))`);
  return settled.rowCount ?? 0;
}
