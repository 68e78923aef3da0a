import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../../test/harness.ts";
import {
  expectProblem,
  expectValidationError,
  listTitles,
  type Task,
} from "../../../../test/tasks-helpers.ts";
import type { App } from "../../../app.ts";
import { idempotencyRetentionMs } from "./plugin.ts";
import { purgeIdempotencyKeys } from "./store.ts";

const t = useTestApp();

function post(
  app: App,
  user: TestUser,
  url: string,
  payload: Record<string, unknown>,
  key: string | undefined,
) {
  return app.inject({
    method: "POST",
    url,
    headers: { ...user.headers, ...(key === undefined ? {} : { "idempotency-key": key }) },
    payload,
  });
}

describe("Idempotency-Key on POST", () => {
  it("replays the first answer for the same key and body, with Idempotent-Replayed", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const first = await post(t.app, user, "/v1/tasks", { title: "Pay rent" }, key);
    expect(first.statusCode).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();

    // Key order in the body is no difference.
    const retry = await post(t.app, user, "/v1/tasks", { title: "Pay rent" }, key);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json<Task>()).toEqual(first.json<Task>());
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.headers["content-type"]).toBe(first.headers["content-type"]);
    expect(retry.headers["x-request-id"]).not.toBe(first.headers["x-request-id"]);

    expect(await listTitles(t.app, user)).toEqual(["Pay rent"]);
  });

  it("treats bodies that differ only in key order as the same request", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    await post(t.app, user, "/v1/tasks", { title: "Order", priority: "high" }, key);
    const retry = await post(t.app, user, "/v1/tasks", { priority: "high", title: "Order" }, key);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(await listTitles(t.app, user)).toEqual(["Order"]);
  });

  it("answers 422 idempotency_key_reused for the same key with another body", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    await post(t.app, user, "/v1/tasks", { title: "First" }, key);
    const reused = await post(t.app, user, "/v1/tasks", { title: "Second" }, key);
    const problem = expectProblem(reused, 422, "idempotency_key_reused");
    expect(problem.errors?.[0]?.path).toBe("Idempotency-Key");
    expect(await listTitles(t.app, user)).toEqual(["First"]);
  });

  it("keeps a 4xx answer too: the retry gets the same 400", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const first = await post(t.app, user, "/v1/tasks", { title: "" }, key);
    expectValidationError(first, "title");
    const retry = await post(t.app, user, "/v1/tasks", { title: "" }, key);
    expect(retry.statusCode).toBe(400);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());
  });

  it("scopes a key to its principal and its route", async () => {
    const alice = await signUp(t.app);
    const bob = await signUp(t.app);
    const key = randomUUID();
    expect((await post(t.app, alice, "/v1/tasks", { title: "Same" }, key)).statusCode).toBe(201);
    const bobs = await post(t.app, bob, "/v1/tasks", { title: "Same" }, key);
    expect(bobs.statusCode).toBe(201);
    expect(bobs.headers["idempotent-replayed"]).toBeUndefined();
    const category = await post(t.app, alice, "/v1/categories", { name: "Same" }, key);
    expect(category.statusCode).toBe(201);
    expect(category.headers["idempotent-replayed"]).toBeUndefined();
    expect(await listTitles(t.app, bob)).toEqual(["Same"]);
  });

  it("leaves POSTs without a key and other methods alone", async () => {
    const user = await signUp(t.app);
    await post(t.app, user, "/v1/tasks", { title: "Twice" }, undefined);
    const again = await post(t.app, user, "/v1/tasks", { title: "Twice" }, undefined);
    expect(again.headers["idempotent-replayed"]).toBeUndefined();
    expect(await listTitles(t.app, user)).toEqual(["Twice", "Twice"]);

    const task = again.json<Task>();
    const key = randomUUID();
    for (const title of ["Patched once", "Patched twice"]) {
      const patch = await t.app.inject({
        method: "PATCH",
        url: `/v1/tasks/${task.id}`,
        headers: { ...user.headers, "idempotency-key": key },
        payload: { title },
      });
      expect(patch.statusCode).toBe(200);
      expect(patch.headers["idempotent-replayed"]).toBeUndefined();
    }
  });

  it("replays on the compat surface too, and the document says so on every POST but better-auth's", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const url = `/api/${user.id}/tasks`;
    const first = await post(t.app, user, url, { title: "Compat" }, key);
    expect(first.statusCode, first.body).toBe(201);
    const retry = await post(t.app, user, url, { title: "Compat" }, key);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());
    expect(await listTitles(t.app, user)).toEqual(["Compat"]);

    type Operation = {
      parameters?: Array<{ in: string; name: string }>;
      responses: Record<string, unknown>;
    };
    const document = (await t.app.inject({ url: "/openapi.json" })).json<{
      paths: Record<string, { post?: Operation }>;
    }>();
    const posts = Object.entries(document.paths).filter(([, item]) => item.post);
    const documented = posts
      .filter(([, item]) =>
        item.post?.parameters?.some((p) => p.in === "header" && p.name === "idempotency-key"),
      )
      .map(([path]) => path);
    const expected = posts.map(([path]) => path).filter((path) => !path.startsWith("/api/auth/"));
    expect(documented.sort()).toEqual(expected.sort());
    expect(expected).toEqual(expect.arrayContaining(["/v1/tasks", "/api/{user_id}/tasks", "/mcp"]));
    for (const path of expected) {
      expect(Object.keys(document.paths[path]?.post?.responses ?? {}), path).toEqual(
        expect.arrayContaining(["409", "422"]),
      );
    }
  });

  it.each([
    ["empty", ""],
    ["too long", "k".repeat(256)],
    ["not printable ASCII", "clé-\u00e9"],
  ])("rejects a key that is %s with 400 naming the header", async (_case, key) => {
    const user = await signUp(t.app);
    const response = await post(t.app, user, "/v1/tasks", { title: "Never" }, key);
    expectValidationError(response, "Idempotency-Key");
    expect(await listTitles(t.app, user)).toEqual([]);
  });

  it("accepts a key of 255 printable characters", async () => {
    const user = await signUp(t.app);
    const key = `${"k".repeat(250)} ~!@#`;
    expect((await post(t.app, user, "/v1/tasks", { title: "Long key" }, key)).statusCode).toBe(201);
    const retry = await post(t.app, user, "/v1/tasks", { title: "Long key" }, key);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
  });

  it("does not store anything for an unauthenticated request", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { "idempotency-key": randomUUID() },
      payload: { title: "Anonymous" },
    });
    expectProblem(response, 401, "unauthenticated");
  });

  it("creates exactly one resource from twenty parallel requests with one key", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post(t.app, user, "/v1/tasks", { title: "Once" }, key)),
    );
    const fresh = responses.filter(
      (response) => response.statusCode === 201 && !response.headers["idempotent-replayed"],
    );
    const replayed = responses.filter((response) => response.headers["idempotent-replayed"]);
    const inFlight = responses.filter((response) => response.statusCode === 409);
    expect(fresh).toHaveLength(1);
    expect(replayed.length + inFlight.length).toBe(19);
    for (const response of inFlight) {
      expectProblem(response, 409, "idempotency_key_in_use");
      expect(response.headers["retry-after"]).toBe("1");
    }
    for (const response of replayed) expect(response.json()).toEqual(fresh[0]?.json());
    expect(await listTitles(t.app, user)).toEqual(["Once"]);
  });

  it("forgets keys after 24 hours, when the purge removes them", async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    await post(t.app, user, "/v1/tasks", { title: "Yesterday" }, key);
    const dayBefore = new Date(t.clock.now().getTime() - idempotencyRetentionMs);
    expect(await purgeIdempotencyKeys(t.database.db, dayBefore)).toBe(0);
    expectProblem(
      await post(t.app, user, "/v1/tasks", { title: "Today" }, key),
      422,
      "idempotency_key_reused",
    );

    t.clock.advance(idempotencyRetentionMs + 1);
    try {
      const cutoff = new Date(t.clock.now().getTime() - idempotencyRetentionMs);
      expect(await purgeIdempotencyKeys(t.database.db, cutoff)).toBeGreaterThanOrEqual(1);
      const reusedLater = await post(t.app, user, "/v1/tasks", { title: "Today" }, key);
      expect(reusedLater.statusCode).toBe(201);
      expect(reusedLater.headers["idempotent-replayed"]).toBeUndefined();
    } finally {
      t.clock.advance(-(idempotencyRetentionMs + 1));
    }
  });
});
