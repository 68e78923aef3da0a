import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import Fastify, { type FastifyInstance } from "fastify";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase, TestClock } from "../../../../test/harness.ts";
import { expectProblem } from "../../../../test/tasks-helpers.ts";
import { sealer } from "../../crypto/sealed.ts";
import type { DatabaseHandle } from "../../db/pool.ts";
import { registerProblemHandlers } from "../problem.ts";
import { registerIdempotency } from "./plugin.ts";

/** A gate a handler waits at until the test opens it. */
function gate() {
  let open: () => void = () => {};
  let entered: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    entered = resolve;
  });
  return { open, opened, entered, reached };
}

/**
 * The plugin on a bare Fastify app with a real database: routes that fail
 * or hang on demand, which the real API has no reason to offer.
 */
describe("the idempotency plugin", () => {
  const clock = new TestClock("2026-03-01T12:00:00Z");
  const gates: Array<ReturnType<typeof gate>> = [];
  let database: DatabaseHandle & { drop: () => Promise<void> };
  let app: FastifyInstance;
  let attempts = 0;
  const userId = uuidv7();

  beforeAll(async () => {
    database = await openTestDatabase();
    app = Fastify();
    registerProblemHandlers(app);
    app.decorateRequest("ctx", null);
    app.addHook("onRequest", async (request, reply) => {
      reply.header("x-request-id", request.id);
      request.ctx = {
        actor: {
          type: "user",
          via: "session",
          userId,
          name: "Test",
          email: "test@example.com",
          timezone: "UTC",
        },
        db: database.db,
        requestId: String(request.id),
        now: clock.now,
        log: request.log,
      };
    });
    registerIdempotency(app, {
      db: database.db,
      now: clock.now,
      abandonedAfterMs: 60_000,
      sealer: sealer("a".repeat(32), "idempotent answers v1"),
    });
    app.post("/secret", async (_request, reply) =>
      reply
        .code(201)
        .header("cache-control", "no-store")
        .send({ secret: `shown-once-${randomUUID()}` }),
    );
    app.post("/flaky", async (_request, reply) => {
      attempts += 1;
      if (attempts === 1) throw new Error("the first attempt fails on our side");
      return reply.code(201).send({ attempt: attempts });
    });
    app.post("/gated", async (_request, reply) => {
      const waiting = gates.shift();
      if (waiting) {
        waiting.entered();
        await waiting.opened;
      }
      return reply.code(201).send({ id: randomUUID() });
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (url: string, key: string) =>
    app.inject({ method: "POST", url, headers: { "idempotency-key": key }, payload: { n: 1 } });

  it("keeps an answer that shows a secret once (no-store) sealed, and replays it", async () => {
    const key = randomUUID();
    const first = await post("/secret", key);
    expect(first.statusCode).toBe(201);
    const { secret } = first.json<{ secret: string }>();
    const stored = await database.db.execute<{ body: string; sealed: boolean }>(
      sql`select body, sealed from idempotency_keys where key = ${key}`,
    );
    expect(stored.rows[0]?.sealed).toBe(true);
    expect(stored.rows[0]?.body).not.toContain(secret);
    const replay = await post("/secret", key);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.headers["cache-control"]).toBe("no-store");
    expect(replay.json()).toEqual({ secret });

    // Sealed under a secret since rotated: a 409 naming the header, never the text.
    await database.db.execute(
      sql`update idempotency_keys set body = ${sealer("b".repeat(32), "idempotent answers v1").seal("{}")} where key = ${key}`,
    );
    const lost = await post("/secret", key);
    expectProblem(lost, 409, "conflict");
  });

  it("does not keep a 5xx answer: the retry runs the request again", async () => {
    const key = randomUUID();
    expectProblem(await post("/flaky", key), 500, "internal");
    const retry = await post("/flaky", key);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    expect(retry.json()).toEqual({ attempt: 2 });
    const again = await post("/flaky", key);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual({ attempt: 2 });
  });

  it("answers 409 with Retry-After while the first request is still running", async () => {
    const key = randomUUID();
    const first = gate();
    gates.push(first);
    const running = post("/gated", key);
    await first.reached;

    const concurrent = await post("/gated", key);
    expectProblem(concurrent, 409, "idempotency_key_in_use");
    expect(concurrent.headers["retry-after"]).toBe("1");

    first.open();
    const done = await running;
    expect(done.statusCode).toBe(201);
    const replay = await post("/gated", key);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json()).toEqual(done.json());
  });

  it("hands a claim whose request never finished to the next retry once it is old", async () => {
    const key = randomUUID();
    const stuck = gate();
    gates.push(stuck);
    const abandoned = post("/gated", key);
    await stuck.reached;
    expectProblem(await post("/gated", key), 409, "idempotency_key_in_use");

    clock.advance(60_001);
    const takeover = await post("/gated", key);
    expect(takeover.statusCode).toBe(201);
    expect(takeover.headers["idempotent-replayed"]).toBeUndefined();
    stuck.open();
    await abandoned;
  });
});
