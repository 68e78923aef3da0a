import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  type Activity,
  createTask,
  expectProblem,
  expectValidationError,
  type Page,
  personalWorkspaceId,
  sortedStatuses,
} from "../../../test/tasks-helpers.ts";
import type { ApiKey, CreatedApiKey } from "./contracts.ts";
import { apiKeys } from "./schema.ts";
import { createApiKey, keyHeaders } from "./test-helpers.ts";

const t = useTestApp();

function listKeys(user: TestUser, query = "") {
  return t.app.inject({ url: `/v1/api-keys${query}`, headers: user.headers });
}

function revoke(user: TestUser, id: string) {
  return t.app.inject({ method: "DELETE", url: `/v1/api-keys/${id}`, headers: user.headers });
}

function withKey(
  key: CreatedApiKey | string,
  method: "GET" | "POST",
  url: string,
  payload?: object,
) {
  return t.app.inject({ method, url, headers: keyHeaders(key), ...(payload ? { payload } : {}) });
}

function expectRejectedKey(response: Awaited<ReturnType<typeof withKey>>) {
  expectProblem(response, 401, "unauthenticated");
  expect(response.headers["www-authenticate"]).toBe(
    'Bearer realm="taskpilot", error="invalid_token"',
  );
}

describe("POST /v1/api-keys", () => {
  it("answers 201 with the key, shown once, and stores only its SHA-256", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: user.headers,
      payload: { name: "  backup script ", scopes: ["tasks:read", "tasks:write", "tasks:read"] },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers["cache-control"]).toBe("no-store");
    const created = response.json<CreatedApiKey>();
    expect(created).toEqual({
      id: expect.any(String),
      key: expect.stringMatching(/^tp_[A-Za-z0-9_-]{43}$/),
      name: "backup script",
      start: created.key.slice(0, 8),
      scopes: ["tasks:read", "tasks:write"],
      workspaceId: null,
      createdAt: t.clock.now().toISOString(),
      lastUsedAt: null,
      expiresAt: null,
    });
    const [row] = await t.database.db.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    expect(row?.keyHash).toBe(createHash("sha256").update(created.key).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.key);
  });

  it("keeps the key out of the database also when the request carries an Idempotency-Key", async () => {
    const user = await signUp(t.app);
    const send = () =>
      t.app.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: { ...user.headers, "idempotency-key": "mint-once" },
        payload: { name: "retried", scopes: ["tasks:read"] },
      });
    const first = await send();
    expect(first.statusCode, first.body).toBe(201);
    const { key } = first.json<CreatedApiKey>();
    const stored = await t.database.db.execute(
      sql`select * from idempotency_keys where key = 'mint-once'`,
    );
    expect(stored.rows).toHaveLength(1);
    expect(JSON.stringify(stored.rows)).not.toContain(key);
    const replay = await send();
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.headers["cache-control"]).toBe("no-store");
    expect(replay.json<CreatedApiKey>().key).toBe(key);
  });

  it("gives every key its own secret", async () => {
    const user = await signUp(t.app);
    const first = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    const second = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    expect(first.key).not.toBe(second.key);
  });

  it("sets the expiry expiresInDays after now, on the app clock", async () => {
    const user = await signUp(t.app);
    const created = await createApiKey(t.app, user, { scopes: ["tasks:read"], expiresInDays: 30 });
    expect(created.expiresAt).toBe(
      new Date(t.clock.now().getTime() + 30 * 24 * 60 * 60 * 1000).toISOString(),
    );
  });

  it.each([
    ["an empty name", { name: " ", scopes: ["tasks:read"] }, "name"],
    ["no scopes", { name: "n", scopes: [] }, "scopes"],
    ["missing scopes", { name: "n" }, "scopes"],
    ["an unknown scope", { name: "n", scopes: ["admin"] }, "scopes"],
    ["the session pseudo-scope", { name: "n", scopes: ["session"] }, "scopes"],
    ["zero days", { name: "n", scopes: ["tasks:read"], expiresInDays: 0 }, "expiresInDays"],
    ["366 days", { name: "n", scopes: ["tasks:read"], expiresInDays: 366 }, "expiresInDays"],
    ["part of a day", { name: "n", scopes: ["tasks:read"], expiresInDays: 1.5 }, "expiresInDays"],
    ["days as text", { name: "n", scopes: ["tasks:read"], expiresInDays: "7" }, "expiresInDays"],
    [
      "a workspaceId that is no UUID",
      { name: "n", scopes: ["tasks:read"], workspaceId: "x" },
      "workspaceId",
    ],
    ["an owner in the body", { name: "n", scopes: ["tasks:read"], userId: "someone" }, "userId"],
    [
      "a hash in the body",
      { name: "n", scopes: ["tasks:read"], keyHash: "0".repeat(64) },
      "keyHash",
    ],
  ])("answers 400 for %s, naming the field", async (_case, payload, field) => {
    const user = await signUp(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: user.headers,
      payload,
    });
    expectValidationError(response, field);
  });

  it("answers 422 naming workspaceId for a workspace the user is not in", async () => {
    const user = await signUp(t.app);
    const stranger = await signUp(t.app);
    for (const workspaceId of [
      await personalWorkspaceId(t.app, stranger),
      "01900000-0000-7000-8000-000000000000",
    ]) {
      const response = await t.app.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: user.headers,
        payload: { name: "n", scopes: ["tasks:read"], workspaceId },
      });
      const problem = expectProblem(response, 422, "invalid_reference");
      expect(problem.errors?.map((entry) => entry.path)).toEqual(["workspaceId"]);
    }
  });

  it("keeps a user at 100 keys, also when several are created at the same moment", async () => {
    const user = await signUp(t.app);
    // 96 keys straight into the table, then eight creations at once for the last four slots.
    await t.database.db.insert(apiKeys).values(
      Array.from({ length: 96 }, (_, index) => ({
        id: uuidv7(),
        userId: user.id,
        name: `seeded ${index}`,
        start: "tp_seed",
        keyHash: createHash("sha256").update(`seed ${user.id} ${index}`).digest("hex"),
        scopes: ["tasks:read"],
        createdAt: new Date(),
      })),
    );
    const create = () =>
      t.app.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: user.headers,
        payload: { name: "parallel", scopes: ["tasks:read"] },
      });
    const answers = await Promise.all(Array.from({ length: 8 }, create));
    expect(sortedStatuses(answers)).toEqual([201, 201, 201, 201, 409, 409, 409, 409]);
    const refused = answers.find((answer) => answer.statusCode === 409);
    expect(expectProblem(refused as NonNullable<typeof refused>, 409, "conflict").detail).toBe(
      "You have 100 API keys; revoke one first",
    );
    const stored = await t.database.db.select().from(apiKeys).where(eq(apiKeys.userId, user.id));
    expect(stored).toHaveLength(100);
    const created = answers.find((answer) => answer.statusCode === 201);
    const revoked = await revoke(user, (created as NonNullable<typeof created>).json<ApiKey>().id);
    expect(revoked.statusCode).toBe(204);
    expect((await create()).statusCode).toBe(201);
  });

  it("records the creation in the user's activity", async () => {
    const user = await signUp(t.app);
    const created = await createApiKey(t.app, user, { name: "ci", scopes: ["tasks:read"] });
    const activity = await t.app.inject({ url: "/v1/me/activity", headers: user.headers });
    const [latest] = activity.json<Page<Activity>>().data;
    expect(latest).toMatchObject({
      type: "api_key.created",
      actor: { type: "user", id: user.id },
      entity: { type: "api_key", id: created.id, title: "ci" },
      changes: { scopes: ["tasks:read"] },
    });
  });
});

describe("GET /v1/api-keys", () => {
  it("lists my keys newest first, never the key itself", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await createApiKey(t.app, other, { scopes: ["tasks:read"] });
    const older = await createApiKey(t.app, user, { name: "older", scopes: ["tasks:read"] });
    const newer = await createApiKey(t.app, user, { name: "newer", scopes: ["ai:use"] });
    const response = await listKeys(user);
    expect(response.statusCode).toBe(200);
    const page = response.json<Page<ApiKey>>();
    const { key: _newerKey, ...newerView } = newer;
    const { key: _olderKey, ...olderView } = older;
    expect(page).toEqual({ data: [newerView, olderView], nextCursor: null });
    expect(response.body).not.toContain(newer.key);
    expect(response.body).not.toContain(older.key);
  });

  it("pages with a cursor", async () => {
    const user = await signUp(t.app);
    const keys = [];
    for (let i = 0; i < 3; i += 1)
      keys.push(await createApiKey(t.app, user, { scopes: ["tasks:read"] }));
    const first = (await listKeys(user, "?limit=2")).json<Page<ApiKey>>();
    expect(first.data.map((key) => key.id)).toEqual([keys[2]?.id, keys[1]?.id]);
    const second = (await listKeys(user, `?limit=2&cursor=${first.nextCursor}`)).json<
      Page<ApiKey>
    >();
    expect(second).toEqual({
      data: [expect.objectContaining({ id: keys[0]?.id })],
      nextCursor: null,
    });
    expectValidationError(await listKeys(user, "?cursor=nonsense"), "cursor");
    expectValidationError(await listKeys(user, "?limit=0"), "limit");
  });
});

describe("DELETE /v1/api-keys/{id}", () => {
  it("answers 204, and the key stops working at once", async () => {
    const user = await signUp(t.app);
    const created = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    expect((await withKey(created, "GET", "/v1/tasks")).statusCode).toBe(200);
    const response = await revoke(user, created.id);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe("");
    expectRejectedKey(await withKey(created, "GET", "/v1/tasks"));
    expect((await listKeys(user)).json<Page<ApiKey>>().data).toEqual([]);
    const activity = await t.app.inject({ url: "/v1/me/activity", headers: user.headers });
    expect(activity.json<Page<Activity>>().data[0]).toMatchObject({
      type: "api_key.revoked",
      entity: { type: "api_key", id: created.id },
    });
  });

  it("answers 404 for a revoked key, a missing one and another user's", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    const mine = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    const theirs = await createApiKey(t.app, other, { scopes: ["tasks:read"] });
    await revoke(user, mine.id);
    for (const id of [mine.id, theirs.id, "01900000-0000-7000-8000-000000000000"]) {
      expectProblem(await revoke(user, id), 404, "not_found");
    }
    expect((await withKey(theirs, "GET", "/v1/tasks")).statusCode).toBe(200);
    expectValidationError(await revoke(user, "not-a-uuid"), "id");
  });
});

describe("x-api-key on /v1", () => {
  it("acts for the key's owner within its scopes", async () => {
    const user = await signUp(t.app, "Key Owner");
    const task = await createTask(t.app, user, { title: "Mine" });
    const reader = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    const me = await withKey(reader, "GET", "/v1/me");
    expect(me.statusCode).toBe(200);
    expect(me.json<{ id: string }>().id).toBe(user.id);
    expect((await withKey(reader, "GET", `/v1/tasks/${task.id}`)).statusCode).toBe(200);
  });

  it("answers 403 naming the missing scope on a write with a tasks:read key", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Read only" });
    const reader = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    for (const [method, url, payload] of [
      ["POST", "/v1/tasks", { title: "Nope" }],
      ["POST", `/v1/tasks/${task.id}/complete`, undefined],
      ["POST", "/v1/categories", { name: "Nope" }],
    ] as const) {
      const problem = expectProblem(await withKey(reader, method, url, payload), 403, "forbidden");
      expect(problem.detail).toContain('"tasks:write"');
    }
    const writer = await createApiKey(t.app, user, { scopes: ["tasks:write"] });
    expect(
      expectProblem(await withKey(writer, "GET", "/v1/tasks"), 403, "forbidden").detail,
    ).toContain('"tasks:read"');
  });

  it("writes as the owner and leaves an apiKey trail", async () => {
    const user = await signUp(t.app, "Automator");
    const writer = await createApiKey(t.app, user, { scopes: ["tasks:read", "tasks:write"] });
    const created = await withKey(writer, "POST", "/v1/tasks", { title: "From cron" });
    expect(created.statusCode, created.body).toBe(201);
    const task = created.json<{ id: string; createdBy: string }>();
    expect(task.createdBy).toBe(user.id);
    const activity = await withKey(writer, "GET", `/v1/tasks/${task.id}/activity`);
    expect(activity.json<Page<Activity>>().data[0]).toMatchObject({
      type: "task.created",
      actor: { type: "apiKey", id: user.id, name: "Automator" },
    });
  });

  it("answers 403 on routes only a signed-in user may call, whatever the key's scopes", async () => {
    const user = await signUp(t.app);
    const key = await createApiKey(t.app, user, {
      scopes: ["tasks:read", "tasks:write", "ai:use", "workspaces:admin", "webhooks:manage"],
    });
    const requests = [
      {
        method: "POST" as const,
        url: "/v1/api-keys",
        payload: { name: "n", scopes: ["tasks:read"] },
      },
      { method: "GET" as const, url: "/v1/api-keys" },
      { method: "DELETE" as const, url: `/v1/api-keys/${key.id}` },
      { method: "PATCH" as const, url: "/v1/me", payload: { name: "Hijacked" } },
    ];
    for (const request of requests) {
      const response = await t.app.inject({ ...request, headers: keyHeaders(key) });
      expectProblem(response, 403, "forbidden");
    }
    expect((await withKey(key, "GET", "/v1/tasks")).statusCode).toBe(200);
  });

  it("answers 401 for keys that are not ours, without falling back to other credentials", async () => {
    const user = await signUp(t.app);
    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      payload: { email: user.email, password: "correct horse battery staple" },
    });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
    const unknown = `tp_${"A".repeat(43)}`;
    for (const presented of [unknown, "garbage", "", `${unknown}x`]) {
      expectRejectedKey(await withKey(presented, "GET", "/v1/tasks"));
      for (const headers of [user.headers, { cookie }]) {
        const response = await t.app.inject({
          url: "/v1/tasks",
          headers: { ...headers, "x-api-key": presented },
        });
        expectRejectedKey(response);
      }
    }
  });

  it("answers 401 once the key has expired (app clock)", async () => {
    const user = await signUp(t.app);
    const key = await createApiKey(t.app, user, { scopes: ["tasks:read"], expiresInDays: 1 });
    const before = t.clock.now();
    try {
      t.clock.set(new Date(new Date(key.expiresAt ?? 0).getTime() - 1));
      expect((await withKey(key, "GET", "/v1/tasks")).statusCode).toBe(200);
      t.clock.set(new Date(key.expiresAt ?? 0));
      expectRejectedKey(await withKey(key, "GET", "/v1/tasks"));
    } finally {
      t.clock.set(before);
    }
  });

  it("records lastUsedAt at most once a minute", async () => {
    const user = await signUp(t.app);
    const key = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    const lastUsed = async () =>
      (await listKeys(user)).json<Page<ApiKey>>().data.find((entry) => entry.id === key.id)
        ?.lastUsedAt;
    const before = t.clock.now();
    try {
      await withKey(key, "GET", "/v1/tasks");
      expect(await lastUsed()).toBe(before.toISOString());
      t.clock.advance(59_000);
      await withKey(key, "GET", "/v1/tasks");
      expect(await lastUsed()).toBe(before.toISOString());
      t.clock.advance(1_000);
      await withKey(key, "GET", "/v1/tasks");
      expect(await lastUsed()).toBe(t.clock.now().toISOString());
    } finally {
      t.clock.set(before);
    }
  });
});
