import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import type { Activity } from "../activity/contracts.ts";
import type { Task } from "../tasks/contracts.ts";
import type { Profile } from "./contracts.ts";

// 22:30 UTC on 10 March is 11:30 on 11 March in Auckland (UTC+13 in March).
const now = "2025-03-10T22:30:00.000Z";
const t = useTestApp({ now });

type Page<T> = { data: T[]; nextCursor: string | null };
type Problem = { code: string; errors?: Array<{ path: string }> };

async function getMe(user: TestUser, query = "") {
  return t.app.inject({ url: `/v1/me${query}`, headers: user.headers });
}

async function patchMe(user: TestUser, payload: Record<string, unknown>) {
  return t.app.inject({ method: "PATCH", url: "/v1/me", headers: user.headers, payload });
}

function newTask(user: TestUser, payload: Record<string, unknown>): Promise<Task> {
  return createTask(t.app, user, payload);
}

async function act(user: TestUser, method: "POST" | "DELETE", url: string) {
  const response = await t.app.inject({ method, url, headers: user.headers });
  expect(response.statusCode).toBeLessThan(300);
}

describe("GET /v1/me", () => {
  it("describes the user, their personal workspace, zero stats and their activity", async () => {
    t.clock.set(now);
    const user = await signUp(t.app, "Ada Lovelace");
    const response = await getMe(user);
    expect(response.statusCode).toBe(200);
    const profile = response.json<Profile>();
    expect(profile).toMatchObject({
      id: user.id,
      email: user.email,
      name: "Ada Lovelace",
      image: null,
      timezone: "UTC",
      stats: { open: 0, overdue: 0, dueToday: 0, completedLast7Days: 0 },
      recentActivity: [],
    });
    expect(Number.isNaN(Date.parse(profile.createdAt))).toBe(false);
    expect(profile.workspaces).toEqual([
      { id: expect.any(String), name: "Personal", role: "owner" },
    ]);
  });

  it("computes stats from a fixed clock in the user's own time zone", async () => {
    t.clock.set("2025-03-02T12:00:00.000Z");
    const user = await signUp(t.app);
    const stranger = await signUp(t.app);
    expect((await patchMe(user, { timezone: "Pacific/Auckland" })).statusCode).toBe(200);

    // Completed nine days before "now": outside the 7-day window.
    const old = await newTask(user, { title: "Long done" });
    await act(user, "POST", `/v1/tasks/${old.id}/complete`);

    t.clock.set(now);
    // Auckland's "today" runs 2025-03-10T11:00Z .. 2025-03-11T11:00Z.
    await newTask(user, { title: "Due early today, overdue", dueAt: "2025-03-10T12:00:00Z" });
    await newTask(user, { title: "Due tonight in Auckland", dueAt: "2025-03-11T05:00:00Z" });
    await newTask(user, { title: "Due tomorrow in Auckland", dueAt: "2025-03-11T12:00:00Z" });
    await newTask(user, { title: "Overdue since yesterday", dueAt: "2025-03-09T10:00:00Z" });
    await newTask(user, { title: "Whenever" });
    const done = await newTask(user, { title: "Done today", dueAt: "2025-03-10T12:00:00Z" });
    await act(user, "POST", `/v1/tasks/${done.id}/complete`);
    const trashed = await newTask(user, { title: "Trashed", dueAt: "2025-03-09T10:00:00Z" });
    await act(user, "DELETE", `/v1/tasks/${trashed.id}`);
    await newTask(stranger, { title: "Not mine", dueAt: "2025-03-09T10:00:00Z" });

    const profile = (await getMe(user)).json<Profile>();
    expect(profile.timezone).toBe("Pacific/Auckland");
    expect(profile.stats).toEqual({ open: 5, overdue: 2, dueToday: 2, completedLast7Days: 1 });
  });

  it("lists recent activity newest first, bounded by activityLimit", async () => {
    t.clock.set(now);
    const user = await signUp(t.app);
    for (const title of ["First", "Second", "Third"]) {
      await newTask(user, { title });
      t.clock.advance(1000);
    }
    const profile = (await getMe(user, "?activityLimit=2")).json<Profile>();
    expect(profile.recentActivity.map((event) => event.entity.title)).toEqual(["Third", "Second"]);
    expect(profile.recentActivity[0]).toMatchObject({
      type: "task.created",
      actor: { type: "user", id: user.id },
      entity: { type: "task" },
    });
  });

  it("accepts activityLimit 0 (no activity) and 100, and answers 400 for 101 or -1", async () => {
    const user = await signUp(t.app);
    await newTask(user, { title: "Something happened" });
    const none = await getMe(user, "?activityLimit=0");
    expect(none.statusCode).toBe(200);
    expect(none.json<Profile>().recentActivity).toEqual([]);
    expect((await getMe(user, "?activityLimit=100")).json<Profile>().recentActivity).toHaveLength(
      1,
    );
    for (const limit of ["101", "-1", "two", "", "1e1", "05"]) {
      const response = await getMe(user, `?activityLimit=${limit}`);
      expect(response.statusCode, limit).toBe(400);
      const body = response.json<Problem>();
      expect(body.code).toBe("validation_failed");
      expect(body.errors?.map((entry) => entry.path)).toContain("activityLimit");
    }
  });

  it("answers 401 without credentials", async () => {
    const response = await t.app.inject({ url: "/v1/me" });
    expect(response.statusCode).toBe(401);
  });
});

describe("PATCH /v1/me", () => {
  it("changes name, time zone and image and returns the updated profile", async () => {
    const user = await signUp(t.app, "Before");
    const response = await patchMe(user, {
      name: "  After  ",
      timezone: "America/New_York",
      image: "https://example.com/me.png",
    });
    expect(response.statusCode).toBe(200);
    expect(response.json<Profile>()).toMatchObject({
      name: "After",
      timezone: "America/New_York",
      image: "https://example.com/me.png",
    });
    const cleared = await patchMe(user, { image: null });
    expect(cleared.json<Profile>()).toMatchObject({ image: null, name: "After" });
  });

  it("stores a time zone in the tz database's spelling whatever the case sent", async () => {
    const user = await signUp(t.app);
    const response = await patchMe(user, { timezone: "europe/berlin" });
    expect(response.statusCode).toBe(200);
    expect(response.json<Profile>().timezone).toBe("Europe/Berlin");
  });

  it.each([
    ["an unknown time zone", { timezone: "Mars/Olympus_Mons" }, "timezone"],
    ["a time zone over 64 characters", { timezone: `Europe/${"x".repeat(58)}` }, "timezone"],
    ["an empty name", { name: " " }, "name"],
    ["a name over 100 characters", { name: "n".repeat(101) }, "name"],
    ["an image that is not an http(s) URL", { image: "javascript:alert(1)" }, "image"],
    ["a field that cannot be changed", { email: "new@example.com" }, "email"],
  ])("answers 400 for %s, naming the field", async (_case, payload, field) => {
    const user = await signUp(t.app);
    const response = await patchMe(user, payload);
    expect(response.statusCode).toBe(400);
    const body = response.json<Problem>();
    expect(body.code).toBe("validation_failed");
    expect(body.errors?.map((entry) => entry.path)).toContain(field);
  });

  it("records profile.updated with the changed fields only", async () => {
    t.clock.set(now);
    const user = await signUp(t.app, "Old name");
    await patchMe(user, { name: "New name", timezone: "UTC" });
    const page = (await t.app.inject({ url: "/v1/me/activity", headers: user.headers })).json<
      Page<Activity>
    >();
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({
      type: "profile.updated",
      actor: { type: "user", id: user.id, name: "New name" },
      entity: { type: "user", id: user.id, title: "New name" },
      changes: { name: { from: "Old name", to: "New name" } },
      workspaceId: null,
      createdAt: now,
    });
    expect(page.data[0]?.changes).not.toHaveProperty("timezone");
  });

  it("records nothing when nothing changes", async () => {
    const user = await signUp(t.app, "Same");
    expect((await patchMe(user, { name: "Same" })).statusCode).toBe(200);
    const page = (await t.app.inject({ url: "/v1/me/activity", headers: user.headers })).json<
      Page<Activity>
    >();
    expect(page.data).toEqual([]);
  });
});

describe("GET /v1/me/activity", () => {
  it("pages newest first with limit and cursor and shows only the user's own events", async () => {
    t.clock.set(now);
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await newTask(other, { title: "Someone else's" });
    for (const title of ["One", "Two", "Three"]) {
      t.clock.advance(60_000);
      await newTask(user, { title });
    }
    t.clock.advance(60_000);
    await patchMe(user, { name: "Renamed" });

    const titles: string[] = [];
    const types: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const response = await t.app.inject({
        url: `/v1/me/activity?limit=2${query}`,
        headers: user.headers,
      });
      expect(response.statusCode).toBe(200);
      const page = response.json<Page<Activity>>();
      titles.push(...page.data.map((event) => event.entity.title ?? ""));
      types.push(...page.data.map((event) => event.type));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(types).toEqual(["profile.updated", "task.created", "task.created", "task.created"]);
    expect(titles).toEqual(["Renamed", "Three", "Two", "One"]);
    expect(pages).toBe(2);
  });

  it("answers 400 for a limit over 100 or a cursor from elsewhere or tampered with", async () => {
    const user = await signUp(t.app);
    const tooMany = await t.app.inject({ url: "/v1/me/activity?limit=101", headers: user.headers });
    expect(tooMany.statusCode).toBe(400);
    const cursor = (sort: string, key: unknown) =>
      Buffer.from(JSON.stringify({ sort, key, id: user.id })).toString("base64url");
    const cursors = [cursor("position", 1), cursor("createdAt", "soon"), cursor("createdAt", null)];
    for (const bad of cursors) {
      const response = await t.app.inject({
        url: `/v1/me/activity?cursor=${bad}`,
        headers: user.headers,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json<Problem>().errors?.map((entry) => entry.path)).toEqual(["cursor"]);
    }
  });
});
