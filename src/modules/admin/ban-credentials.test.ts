import { describe, expect, it } from "vitest";
import { makeAdmin, postAuth } from "../../../test/auth-helpers.ts";
import { signUp, useSecondInstance, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "../api-keys/test-helpers.ts";

const first = useTestApp();

/**
 * A second instance on the same database, whose caches the ban through the
 * first one does not clear directly. Its user cache is off, so it reads the
 * banned row on the very next request, before the database's notification
 * reaches it; auth-changes.test.ts covers the notified caches.
 */
const second = useSecondInstance(first, { userCacheTtlMs: 0 });

describe("a ban", () => {
  it("stops the user's cached session on another instance, their JWT and their API key at once", async () => {
    const admin = await signUp(first.app, "Admin");
    await makeAdmin(first.app, admin, first.database.db);
    const target = await signUp(first.app, "Target");
    const key = await createApiKey(first.app, target, { scopes: ["tasks:read"] });
    const issued = await first.app.inject({ url: "/api/auth/token", headers: target.headers });
    const jwt = { authorization: `Bearer ${issued.json<{ token: string }>().token}` };
    const credentials = [target.headers, jwt, keyHeaders(key)];
    // Every credential works on the second instance, which now caches the session.
    for (const headers of credentials) {
      expect((await second.app.inject({ url: "/v1/tasks", headers })).statusCode).toBe(200);
    }

    const banned = await postAuth(
      first.app,
      "admin/ban-user",
      { userId: target.id },
      admin.headers,
    );
    expect(banned.statusCode, banned.body).toBe(200);
    for (const headers of credentials) {
      expectProblem(await second.app.inject({ url: "/v1/tasks", headers }), 401, "unauthenticated");
    }

    const unbanned = await postAuth(
      first.app,
      "admin/unban-user",
      { userId: target.id },
      admin.headers,
    );
    expect(unbanned.statusCode, unbanned.body).toBe(200);
    // The ban ended the sessions; the JWT and the key come back with the unban.
    for (const headers of [jwt, keyHeaders(key)]) {
      expect((await second.app.inject({ url: "/v1/tasks", headers })).statusCode).toBe(200);
    }
  });

  it("with an end date lapses at that time", async () => {
    const admin = await signUp(first.app, "Admin");
    await makeAdmin(first.app, admin, first.database.db);
    const target = await signUp(first.app, "Target");
    const key = await createApiKey(first.app, target, { scopes: ["tasks:read"] });
    const banned = await postAuth(
      first.app,
      "admin/ban-user",
      { userId: target.id, banExpiresIn: 3600 },
      admin.headers,
    );
    expect(banned.statusCode, banned.body).toBe(200);
    const asKey = () => first.app.inject({ url: "/v1/tasks", headers: keyHeaders(key) });
    expectProblem(await asKey(), 401, "unauthenticated");
    // better-auth dates the ban by the wall clock, so move the app clock past it from there.
    first.clock.set(new Date(Date.now() + 3601 * 1000));
    expect((await asKey()).statusCode).toBe(200);
  });
});
