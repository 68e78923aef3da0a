import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUp, type TestUser, useSecondInstance, useTestApp } from "../../../test/harness.ts";
import { createTask, expectProblem, expectValidationError } from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "../api-keys/test-helpers.ts";
import { call, createWorkspace, join } from "../workspaces/test-helpers.ts";
import { deliveryQueue } from "./delivery.ts";
import { webhooksWaiting } from "./dispatcher.ts";
import { secretBox, verifySignature } from "./secret.ts";
import { settleAbandoned } from "./service.ts";
import { createWebhook, deliveries, deliveriesWhen, getWebhook, Receiver } from "./test-helpers.ts";

// Retries 1 s apart, two of them; a webhook turns off after two deliveries fail for good.
const t = useTestApp({
  webhooks: {
    allowPrivate: true,
    pollMs: 50,
    timeoutMs: 1_000,
    retry: { limit: 2, delaySeconds: 1, backoff: false, maxDelaySeconds: 1 },
    disableAfter: 2,
  },
});
const receiver = new Receiver();
let base = "";
let owner: TestUser;

beforeAll(async () => {
  base = await receiver.start();
  owner = await signUp(t.app, "Hook Owner");
});
afterAll(() => receiver.close());

const payloadOf = (body: string) =>
  JSON.parse(body) as {
    id: string;
    type: string;
    createdAt: string;
    workspaceId: string;
    data: { id: string; type: string; entity: { type: string; id: string; title: string } };
  };

describe("managing webhooks", () => {
  it("shows the secret once, stores it sealed, and lists the webhook without it", async () => {
    const response = await call(t.app, owner, "POST", "/v1/webhooks", {
      url: `${base}/manage`,
      events: ["task.*", "task.created"],
      description: "CI",
    });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json<{ id: string; secret: string; events: string[] }>();
    expect(response.headers.location).toBe(`/v1/webhooks/${created.id}`);
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(created.secret).toMatch(/^whsec_[\w-]{43}$/);
    expect(created.events).toEqual(["task.*", "task.created"]);

    const stored = await t.database.db.execute<{ secret: string }>(
      sql`select secret from webhooks where id = ${created.id}`,
    );
    expect(stored.rows[0]?.secret).toMatch(/^v1\./);
    expect(stored.rows[0]?.secret).not.toContain(created.secret.slice(6));

    const shown = await getWebhook(t.app, owner, created.id);
    expect(shown).toMatchObject({
      id: created.id,
      url: `${base}/manage`,
      active: true,
      description: "CI",
    });
    expect(shown).not.toHaveProperty("secret");
    const list = await call(t.app, owner, "GET", "/v1/webhooks");
    expect(list.json<{ data: Array<{ id: string }> }>().data.map((hook) => hook.id)).toContain(
      created.id,
    );
    expect(list.body).not.toContain(created.secret);
  });

  it("answers 304 to a matching If-None-Match and 412 to a stale If-Match", async () => {
    const hook = await createWebhook(t.app, owner, { url: `${base}/etag`, events: ["*"] });
    const first = await call(t.app, owner, "GET", `/v1/webhooks/${hook.id}`);
    const etag = first.headers.etag as string;
    expect(etag).toBeTruthy();
    const again = await call(t.app, owner, "GET", `/v1/webhooks/${hook.id}`, undefined, {
      "if-none-match": etag,
    });
    expect(again.statusCode).toBe(304);
    const changed = await call(
      t.app,
      owner,
      "PATCH",
      `/v1/webhooks/${hook.id}`,
      {
        description: "changed",
      },
      { "if-match": etag },
    );
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expectProblem(
      await call(t.app, owner, "DELETE", `/v1/webhooks/${hook.id}`, undefined, {
        "if-match": etag,
      }),
      412,
      "precondition_failed",
    );
  });

  it("names the field of every bad input", async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ url: "ftp://example.com/x", events: ["*"] }, "url"],
      [{ url: "not a url", events: ["*"] }, "url"],
      [{ url: "https://user:pw@example.com/x", events: ["*"] }, "url"],
      [{ url: `https://example.com/${"x".repeat(2000)}`, events: ["*"] }, "url"],
      [{ url: "https://example.com/x", events: [] }, "events"],
      [{ url: "https://example.com/x", events: ["task.exploded"] }, "events.0"],
      [{ url: "https://example.com/x", events: ["profile.updated"] }, "events.0"],
      [{ url: "https://example.com/x", events: "task.*" }, "events"],
      [{ url: "https://example.com/x" }, "events"],
      [{ events: ["*"] }, "url"],
      [
        { url: "https://example.com/x", events: ["*"], description: "d".repeat(501) },
        "description",
      ],
      [{ url: "https://example.com/x", events: ["*"], workspaceId: "nope" }, "workspaceId"],
      [{ url: "https://example.com/x", events: ["*"], secret: "mine" }, "secret"],
    ];
    for (const [body, field] of bad) {
      expectValidationError(await call(t.app, owner, "POST", "/v1/webhooks", body), field);
    }
    const hook = await createWebhook(t.app, owner, { url: `${base}/bad`, events: ["*"] });
    expectValidationError(
      await call(t.app, owner, "PATCH", `/v1/webhooks/${hook.id}`, { active: "yes" }),
      "active",
    );
    expectValidationError(
      await call(t.app, owner, "GET", `/v1/webhooks/${hook.id}/deliveries?status=lost`),
      "status",
    );
    expectValidationError(await call(t.app, owner, "GET", "/v1/webhooks/nope"), "id");
  });

  it("keeps webhooks to owners and admins of the workspace, and to keys with webhooks:manage", async () => {
    const team = await createWorkspace(t.app, owner, "Hooks team");
    const member = await signUp(t.app, "Plain member");
    const admin = await signUp(t.app, "Team admin");
    await join(t.app, owner, team.id, member, "member");
    await join(t.app, owner, team.id, admin, "admin");
    const stranger = await signUp(t.app, "Stranger");
    const hook = await createWebhook(t.app, admin, {
      url: `${base}/team`,
      events: ["*"],
      workspaceId: team.id,
    });
    const paths: Array<[Parameters<typeof call>[2], string, Record<string, unknown>?]> = [
      ["GET", `/v1/webhooks/${hook.id}`],
      ["PATCH", `/v1/webhooks/${hook.id}`, { description: "mine now" }],
      ["DELETE", `/v1/webhooks/${hook.id}`],
      ["GET", `/v1/webhooks/${hook.id}/deliveries`],
    ];
    for (const [method, url, body] of paths) {
      expectProblem(await call(t.app, stranger, method, url, body), 404, "not_found");
      expectProblem(await call(t.app, member, method, url, body), 403, "forbidden");
    }
    expectProblem(
      await call(t.app, member, "POST", "/v1/webhooks", {
        url: `${base}/team`,
        events: ["*"],
        workspaceId: team.id,
      }),
      403,
      "forbidden",
    );
    expectProblem(
      await call(t.app, stranger, "POST", "/v1/webhooks", {
        url: `${base}/team`,
        events: ["*"],
        workspaceId: team.id,
      }),
      404,
      "not_found",
    );
    expectProblem(
      await call(t.app, member, "GET", `/v1/webhooks?workspaceId=${team.id}`),
      403,
      "forbidden",
    );
    const memberList = await call(t.app, member, "GET", "/v1/webhooks");
    expect(memberList.json<{ data: Array<{ id: string }> }>().data.map((h) => h.id)).not.toContain(
      hook.id,
    );
    expect((await getWebhook(t.app, owner, hook.id)).createdBy).toBe(admin.id);

    const readKey = await createApiKey(t.app, owner, { scopes: ["tasks:read", "tasks:write"] });
    expectProblem(
      await t.app.inject({ method: "GET", url: "/v1/webhooks", headers: keyHeaders(readKey) }),
      403,
      "forbidden",
    );
    const manageKey = await createApiKey(t.app, owner, { scopes: ["webhooks:manage"] });
    const byKey = await t.app.inject({
      method: "POST",
      url: "/v1/webhooks",
      headers: keyHeaders(manageKey),
      payload: { url: `${base}/key`, events: ["task.*"], workspaceId: team.id },
    });
    expect(byKey.statusCode, byKey.body).toBe(201);
  });

  it("goes with its workspace, and is deleted once", async () => {
    const team = await createWorkspace(t.app, owner, "Short-lived");
    const hook = await createWebhook(t.app, owner, {
      url: `${base}/gone`,
      events: ["*"],
      workspaceId: team.id,
    });
    expect((await call(t.app, owner, "DELETE", `/v1/workspaces/${team.id}`)).statusCode).toBe(204);
    expectProblem(await call(t.app, owner, "GET", `/v1/webhooks/${hook.id}`), 404, "not_found");
    const other = await createWebhook(t.app, owner, { url: `${base}/gone`, events: ["*"] });
    expect((await call(t.app, owner, "DELETE", `/v1/webhooks/${other.id}`)).statusCode).toBe(204);
    expectProblem(await call(t.app, owner, "DELETE", `/v1/webhooks/${other.id}`), 404, "not_found");
  });
});

describe("delivering events", () => {
  it("POSTs each subscribed event once, signed with the webhook's secret", async () => {
    const user = await signUp(t.app, "Signed");
    const hook = await createWebhook(t.app, user, { url: `${base}/signed`, events: ["task.*"] });
    const task = await createTask(t.app, user, { title: "Ship the hooks" });
    const [request] = await receiver.waitFor("/signed", 1);
    if (!request) throw new Error("no request");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["taskpilot-event"]).toBe("task.created");
    const signature = request.headers["taskpilot-signature"] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const nowSeconds = Math.floor(t.clock.now().getTime() / 1000);
    expect(verifySignature(hook.secret, request.body, signature, nowSeconds)).toBe(true);
    expect(verifySignature(hook.secret, `${request.body} `, signature, nowSeconds)).toBe(false);
    expect(verifySignature(`${hook.secret}x`, request.body, signature, nowSeconds)).toBe(false);
    const payload = payloadOf(request.body);
    expect(payload).toMatchObject({
      type: "task.created",
      data: {
        type: "task.created",
        entity: { type: "task", id: task.id, title: "Ship the hooks" },
      },
    });
    expect(payload.id).toBe(payload.data.id);

    const [delivery] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.status === "succeeded"),
    );
    expect(delivery).toMatchObject({
      id: request.headers["taskpilot-delivery"],
      webhookId: hook.id,
      eventId: payload.id,
      eventType: "task.created",
      status: "succeeded",
      attempts: 1,
      responseStatus: 204,
      error: null,
    });
    expect(delivery?.completedAt).not.toBeNull();
    const metrics = await t.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/taskpilot_webhook_attempts_total\{outcome="succeeded"\} [1-9]/);
  });

  it("sends only the event types subscribed to, and nothing from before it was made", async () => {
    const user = await signUp(t.app, "Picky");
    const before = await createTask(t.app, user, { title: "Done before" });
    await call(t.app, user, "POST", `/v1/tasks/${before.id}/complete`);
    const hook = await createWebhook(t.app, user, {
      url: `${base}/picky`,
      events: ["task.completed"],
    });
    const task = await createTask(t.app, user, { title: "Finish me" });
    expect((await call(t.app, user, "POST", `/v1/tasks/${task.id}/complete`)).statusCode).toBe(200);
    const [request] = await receiver.waitFor("/picky", 1);
    expect(payloadOf(request?.body ?? "{}")).toMatchObject({
      type: "task.completed",
      data: { entity: { id: task.id } },
    });
    // Another round of dispatch brings nothing more.
    await createTask(t.app, user, { title: "Not completed" });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(receiver.at("/picky")).toHaveLength(1);
    expect(await deliveries(t.app, user, hook.id)).toHaveLength(1);
  });

  it("retries a failed attempt with the same delivery id and body", async () => {
    const user = await signUp(t.app, "Flaky");
    receiver.script("/flaky", 500);
    const hook = await createWebhook(t.app, user, {
      url: `${base}/flaky`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "Try again" });
    const [first, second] = await receiver.waitFor("/flaky", 2);
    expect(second?.headers["taskpilot-delivery"]).toBe(first?.headers["taskpilot-delivery"]);
    expect(second?.body).toBe(first?.body);
    const [delivery] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.status === "succeeded"),
    );
    expect(delivery).toMatchObject({ attempts: 2, responseStatus: 204, error: null });
  });

  it("gives up after the last retry, and turns the webhook off after failures in a row", async () => {
    const user = await signUp(t.app, "Broken");
    receiver.script("/broken", 500, 500, 500, 302, 302, 302);
    const hook = await createWebhook(t.app, user, {
      url: `${base}/broken`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "One" });
    const [failed] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.status === "failed"),
    );
    expect(failed).toMatchObject({
      status: "failed",
      attempts: 3,
      responseStatus: 500,
      error: "answered 500",
    });
    expect(await getWebhook(t.app, user, hook.id)).toMatchObject({ active: true });

    await createTask(t.app, user, { title: "Two" });
    const list = await deliveriesWhen(
      t.app,
      user,
      hook.id,
      (entries) => entries.filter((entry) => entry.status === "failed").length === 2,
    );
    expect(list[0]).toMatchObject({ attempts: 3, responseStatus: 302 });
    expect(list[0]?.error).toMatch(/redirects are not followed/);
    expect(receiver.at("/broken")).toHaveLength(6);
    const off = await getWebhook(t.app, user, hook.id);
    expect(off.active).toBe(false);
    expect(off.disabledReason).toMatch(/2 deliveries in a row failed/);
    const trail = await t.database.db.execute<{ actor_type: string; changes: unknown }>(
      sql`select actor_type, changes from activity_events
          where entity_id = ${hook.id} and type = 'webhook.updated'`,
    );
    expect(trail.rows).toEqual([
      {
        actor_type: "system",
        changes: {
          active: { from: true, to: false },
          disabledReason: { from: null, to: off.disabledReason },
        },
      },
    ]);

    // While it is off nothing is sent; resuming sends what happens from then on.
    await createTask(t.app, user, { title: "While off" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const resumed = await call(t.app, user, "PATCH", `/v1/webhooks/${hook.id}`, { active: true });
    expect(resumed.json()).toMatchObject({ active: true, disabledReason: null });
    await createTask(t.app, user, { title: "After" });
    const after = await receiver.waitFor("/broken", 7);
    expect(payloadOf(after[6]?.body ?? "{}").data.entity.title).toBe("After");
    const titles = receiver
      .at("/broken")
      .map((request) => payloadOf(request.body).data.entity.title);
    expect(titles).not.toContain("While off");
  });

  it("records an attempt that gets no answer in time", async () => {
    const user = await signUp(t.app, "Slow");
    receiver.script("/slow", "hang");
    const hook = await createWebhook(t.app, user, {
      url: `${base}/slow`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "Wait for it" });
    const [delivery] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.attempts >= 1),
    );
    expect(delivery?.error).toBe("no answer within 1000 ms");
    expect(delivery?.responseStatus).toBeNull();
  });

  it("stops retrying once the webhook is paused", async () => {
    const user = await signUp(t.app, "Pauser");
    receiver.script("/paused", 500);
    const hook = await createWebhook(t.app, user, {
      url: `${base}/paused`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "Paused mid-way" });
    await receiver.waitFor("/paused", 1);
    const paused = await call(t.app, user, "PATCH", `/v1/webhooks/${hook.id}`, { active: false });
    expect(paused.json()).toMatchObject({ active: false, disabledReason: null });
    const [delivery] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.status === "failed"),
    );
    expect(delivery).toMatchObject({ attempts: 1, error: "the webhook was paused; not sent" });
    expect(receiver.at("/paused")).toHaveLength(1);
  });

  it("fails, without sending, a delivery whose secret was sealed under another AUTH_SECRET", async () => {
    const user = await signUp(t.app, "Rotated");
    const hook = await createWebhook(t.app, user, {
      url: `${base}/rotated`,
      events: ["task.created"],
    });
    const foreign = secretBox("another-secret-another-secret-0123456").seal(hook.secret);
    await t.database.db.execute(sql`update webhooks set secret = ${foreign} where id = ${hook.id}`);
    await createTask(t.app, user, { title: "Unsigned" });
    const [delivery] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.status === "failed"),
    );
    expect(delivery).toMatchObject({ attempts: 0 });
    expect(delivery?.error).toMatch(/AUTH_SECRET changed/);
    expect(receiver.at("/rotated")).toHaveLength(0);
  });

  it("fails an attempt answered with a status HTTP does not have, and settles the delivery", async () => {
    const user = await signUp(t.app, "Odd status");
    receiver.script("/odd", 600, 600, 600);
    const hook = await createWebhook(t.app, user, { url: `${base}/odd`, events: ["task.created"] });
    await createTask(t.app, user, { title: "Status 600" });
    const [delivery] = await deliveriesWhen(t.app, user, hook.id, (list) =>
      list.some((entry) => entry.status === "failed"),
    );
    expect(delivery).toMatchObject({
      attempts: 3,
      responseStatus: null,
      error: "answered 600, which is not an HTTP status",
    });
  });

  it("lets a receiver that never answers hold a few attempts, not every one", async () => {
    const user = await signUp(t.app, "Stuck");
    const other = await signUp(t.app, "Unaffected");
    receiver.script("/stuck", ...Array.from({ length: 60 }, () => "hang" as const));
    const stuck = await createWebhook(t.app, user, {
      url: `${base}/stuck`,
      events: ["task.created"],
    });
    await createWebhook(t.app, other, { url: `${base}/unaffected`, events: ["task.created"] });
    await t.database.db.execute(sql`
      insert into activity_events (id, workspace_id, actor_type, type, entity_type, entity_id,
        entity_title, changes, created_at)
      select gen_random_uuid(), ${stuck.workspaceId}::uuid, 'system', 'task.created', 'task',
        gen_random_uuid(), 'Stuck ' || n, '{}'::jsonb, now()
      from generate_series(1, 20) as n`);
    await receiver.waitFor("/stuck", 3);
    await createTask(t.app, other, { title: "Goes through" });
    await receiver.waitFor("/unaffected", 1);
    // Three at a time per webhook and instance (perWebhook); the rest wait their turn.
    expect(receiver.maxOpen.get("/stuck")).toBe(3);
  });

  it("marks failed a delivery whose last attempt never finished", async () => {
    const user = await signUp(t.app, "Abandoned");
    const hook = await createWebhook(t.app, user, {
      url: `${base}/abandoned`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "Delivered" });
    await receiver.waitFor("/abandoned", 1);
    // A row whose job is gone (the process died mid-attempt, the job expired).
    await t.database.db.execute(sql`
      insert into webhook_deliveries (id, webhook_id, event_id, event_type, body, created_at)
      values (gen_random_uuid(), ${hook.id}, gen_random_uuid(), 'task.created', '{}',
        now() - interval '3 minutes')`);
    expect(await settleAbandoned(t.database.db, deliveryQueue)).toBe(1);
    const list = await deliveries(t.app, user, hook.id, "?status=failed");
    expect(list).toHaveLength(1);
    expect(list[0]?.error).toMatch(/last attempt did not finish/);
    expect(await settleAbandoned(t.database.db, deliveryQueue)).toBe(0);
  });

  it("does not send the deliveries of a deleted webhook", async () => {
    const user = await signUp(t.app, "Deleter");
    receiver.script("/deleted", 500);
    const hook = await createWebhook(t.app, user, {
      url: `${base}/deleted`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "Never retried" });
    await receiver.waitFor("/deleted", 1);
    expect((await call(t.app, user, "DELETE", `/v1/webhooks/${hook.id}`)).statusCode).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    expect(receiver.at("/deleted")).toHaveLength(1);
  });
});

describe("between events", () => {
  it("locks and writes nothing while no event is waiting", async () => {
    const user = await signUp(t.app, "Quiet");
    const hook = await createWebhook(t.app, user, {
      url: `${base}/quiet`,
      events: ["task.created"],
    });
    await createTask(t.app, user, { title: "First" });
    await receiver.waitFor("/quiet", 1);
    // A row lock or an update would change the row's xmin or xmax.
    const version = async () =>
      (
        await t.database.db.execute<{ xmin: string; xmax: string }>(
          sql`select xmin::text, xmax::text from webhooks where id = ${hook.id}`,
        )
      ).rows[0];
    const before = await version();
    // Ten of the dispatcher's rounds (pollMs 50).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await version()).toEqual(before);
    // Still dispatching.
    await createTask(t.app, user, { title: "Second" });
    await receiver.waitFor("/quiet", 2);
  });
});

describe("a backlog", () => {
  it("delivers more events than one read takes, across pages inside one transaction", {
    timeout: 90_000,
  }, async () => {
    const user = await signUp(t.app, "Backlog");
    const hook = await createWebhook(t.app, user, {
      url: `${base}/backlog`,
      events: ["task.created"],
    });
    // 250 events written by one transaction: the webhook's place moves
    // through them in pages of 100 with the same transaction id.
    await t.database.db.execute(sql`
      insert into activity_events (id, workspace_id, actor_type, type, entity_type, entity_id,
        entity_title, changes, created_at)
      select ids.id, ${hook.workspaceId}::uuid, 'system', 'task.created', 'task', ids.id,
        'Imported ' || ids.n, '{}'::jsonb, now()
      from (select n, (lpad(to_hex(n), 8, '0') || '-0000-7000-8000-000000000000')::uuid as id
            from generate_series(1, 250) as n) as ids`);
    const received = await receiver.waitFor("/backlog", 250, 60_000);
    const titles = new Set(received.map((request) => payloadOf(request.body).data.entity.title));
    expect(titles.size).toBe(250);
    const counted = await t.database.db.execute<{ count: number }>(
      sql`select count(*)::int as count from webhook_deliveries where webhook_id = ${hook.id}`,
    );
    expect(counted.rows[0]?.count).toBe(250);
  });
});

describe("with two instances", () => {
  const second = useSecondInstance(t, {
    webhooks: {
      allowPrivate: true,
      pollMs: 50,
      timeoutMs: 1_000,
      retry: { limit: 2, delaySeconds: 1, backoff: false, maxDelaySeconds: 1 },
    },
  });

  it("delivers every event exactly once while both dispatch", async () => {
    expect(second.app).toBeDefined();
    const user = await signUp(t.app, "Busy");
    const hook = await createWebhook(t.app, user, {
      url: `${base}/busy`,
      events: ["task.created"],
    });
    const titles = Array.from({ length: 20 }, (_, index) => `Task ${index}`);
    await Promise.all(titles.map((title) => createTask(t.app, user, { title })));
    const received = await receiver.waitFor("/busy", 20);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.at("/busy")).toHaveLength(20);
    const seen = received.map((request) => payloadOf(request.body).data.entity.title).sort();
    expect(seen).toEqual([...titles].sort());
    const list = await deliveriesWhen(
      t.app,
      user,
      hook.id,
      (entries) => entries.length === 20 && entries.every((entry) => entry.status === "succeeded"),
    );
    expect(new Set(list.map((entry) => entry.eventId)).size).toBe(20);
  });
});

describe("the probe each round makes", () => {
  it("reads each webhook's next event from its workspace's feed index", async () => {
    const plan = await t.database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      const result = await tx.execute<{ "QUERY PLAN": unknown }>(
        sql`explain (format json) ${webhooksWaiting("00000000-0000-0000-0000-000000000000")}`,
      );
      return JSON.stringify(result.rows[0]?.["QUERY PLAN"]);
    });
    // Without the ordered limit, the planner scanned every event after the place.
    expect(plan).toMatch(
      /"Index Name":"activity_workspace_feed_idx".*"Index Cond":"\(\(workspace_id = w\.workspace_id\) AND \(ROW\(tx, id\) > ROW\(w\.position_tx, w\.position_id\)\)\)"/,
    );
  });
});
