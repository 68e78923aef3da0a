import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUp, type TestUser, useSecondInstance, useTestApp } from "../../../test/harness.ts";
import { createTask, expectProblem, expectValidationError } from "../../../test/tasks-helpers.ts";
import type { Activity } from "../activity/contracts.ts";
import { call, createWorkspace, invite, join } from "../workspaces/test-helpers.ts";

const t = useTestApp({ events: { pollMs: 40, heartbeatMs: 250, maxPerUser: 3 } });
let baseUrl = "";
beforeAll(async () => {
  baseUrl = await t.app.listen({ port: 0, host: "127.0.0.1" });
});

type Received =
  | { kind: "activity"; id: string; activity: Activity }
  | { kind: "problem"; problem: { status: number; code: string; detail: string } };

/**
 * A real EventSource (the `eventsource` package, the WHATWG client) on
 * loopback, sending `headers` with every request it makes, reconnects
 * included. Collects what arrives; `next` waits for the next one.
 */
class Follower {
  readonly source: EventSource;
  readonly received: Received[] = [];
  readonly connectionErrors: Array<{ code?: number | undefined }> = [];
  #read = 0;
  #waiters: Array<() => void> = [];

  constructor(url: string, headers: Record<string, string>) {
    this.source = new EventSource(`${baseUrl}${url}`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
    });
    this.source.addEventListener("activity", (event) => {
      this.#push({ kind: "activity", id: event.lastEventId, activity: JSON.parse(event.data) });
    });
    this.source.addEventListener("error", (event) => {
      const data = (event as unknown as { data?: string }).data;
      if (data) this.#push({ kind: "problem", problem: JSON.parse(data) });
      else this.connectionErrors.push({ code: event.code });
    });
  }

  opened(): Promise<void> {
    if (this.source.readyState === EventSource.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.source.addEventListener("open", () => resolve(), { once: true });
      this.source.addEventListener(
        "error",
        (event) => {
          if (!(event as unknown as { data?: string }).data) {
            reject(new Error(`could not connect: ${event.code} ${event.message}`));
          }
        },
        { once: true },
      );
    });
  }

  #push(item: Received) {
    this.received.push(item);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The next thing received, within `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.received.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing arrived within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const item = this.received[this.#read++];
    if (!item) throw new Error("unreachable");
    return item;
  }

  async nextActivity(timeoutMs?: number): Promise<{ id: string; activity: Activity }> {
    const item = await this.next(timeoutMs);
    if (item.kind !== "activity") throw new Error(`expected activity, got ${JSON.stringify(item)}`);
    return item;
  }

  close() {
    this.source.close();
  }
}

const open: Follower[] = [];
afterAll(() => {
  for (const follower of open) follower.close();
});

async function follow(user: TestUser | Record<string, string>, url = "/v1/events") {
  const headers = "headers" in user ? (user.headers as Record<string, string>) : user;
  const follower = new Follower(url, headers);
  open.push(follower);
  await follower.opened();
  return follower;
}

async function newTask(user: TestUser, title: string, workspaceId?: string) {
  return createTask(t.app, user, { title, ...(workspaceId ? { workspaceId } : {}) });
}

async function createKey(user: TestUser, body: Record<string, unknown>): Promise<string> {
  const response = await call(t.app, user, "POST", "/v1/api-keys", body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ key: string }>().key;
}

describe("GET /v1/events", () => {
  it("streams each change as an activity event with a resumable id, from the moment it opens", async () => {
    const user = await signUp(t.app, "Ada");
    await newTask(user, "Before the stream");
    const follower = await follow(user);
    const task = await newTask(user, "Write the report");
    const done = await call(t.app, user, "POST", `/v1/tasks/${task.id}/complete`);
    expect(done.statusCode, done.body).toBe(200);

    const created = await follower.nextActivity();
    expect(created.activity).toMatchObject({
      type: "task.created",
      actor: { type: "user", id: user.id, name: "Ada" },
      entity: { type: "task", id: task.id, title: "Write the report" },
    });
    expect(created.id).toMatch(/^\d+-[0-9a-f-]{36}$/);
    expect(created.id.endsWith(created.activity.id)).toBe(true);
    const completed = await follower.nextActivity();
    expect(completed.activity).toMatchObject({ type: "task.completed", entity: { id: task.id } });
    expect(completed.id).not.toBe(created.id);
  });

  it("resumes after Last-Event-ID with exactly what came after it, in order", async () => {
    const user = await signUp(t.app);
    const first = await follow(user);
    await newTask(user, "one");
    const seen = await first.nextActivity();
    first.close();
    for (const title of ["two", "three", "four"]) await newTask(user, title);

    const resumed = await follow({ ...user.headers, "last-event-id": seen.id });
    const titles = [];
    for (let index = 0; index < 3; index++) {
      titles.push((await resumed.nextActivity()).activity.entity.title);
    }
    expect(titles).toEqual(["two", "three", "four"]);
    // Nothing twice and nothing else: the next event is the next change.
    await newTask(user, "five");
    expect((await resumed.nextActivity()).activity.entity.title).toBe("five");
  });

  it("takes the place to resume from the query for a first connection; the header wins", async () => {
    const user = await signUp(t.app);
    const first = await follow(user);
    await newTask(user, "a");
    const a = await first.nextActivity();
    await newTask(user, "b");
    const b = await first.nextActivity();
    await newTask(user, "c");
    await first.nextActivity();
    first.close();

    const byQuery = await follow(user, `/v1/events?lastEventId=${encodeURIComponent(a.id)}`);
    expect((await byQuery.nextActivity()).activity.entity.title).toBe("b");
    byQuery.close();
    const both = await follow(
      { ...user.headers, "last-event-id": b.id },
      `/v1/events?lastEventId=${encodeURIComponent(a.id)}`,
    );
    expect((await both.nextActivity()).activity.entity.title).toBe("c");
  });

  it("lets a real EventSource reconnect by itself without losing or repeating events", async () => {
    const user = await signUp(t.app);
    const follower = await follow(user);
    await newTask(user, "before the drop");
    await follower.nextActivity();
    // Cut every connection under the client; it reconnects with Last-Event-ID.
    t.app.server.closeAllConnections();
    await newTask(user, "while reconnecting");
    expect((await follower.nextActivity(10_000)).activity.entity.title).toBe("while reconnecting");
    await newTask(user, "after");
    expect((await follower.nextActivity()).activity.entity.title).toBe("after");
    expect(follower.connectionErrors.length).toBeGreaterThan(0);
  });
});

describe("who sees what", () => {
  it("shows what members can read to every member, invitations only to admins, nothing to outsiders", async () => {
    const owner = await signUp(t.app, "Owner");
    const viewer = await signUp(t.app, "Viewer");
    const joining = await signUp(t.app, "Joining");
    const outsider = await signUp(t.app, "Outsider");
    const team = await createWorkspace(t.app, owner, "Team");
    await join(t.app, owner, team.id, viewer, "viewer");

    const asOwner = await follow(owner);
    const asViewer = await follow(viewer);
    const asOutsider = await follow(outsider);
    await join(t.app, owner, team.id, joining, "member");
    const task = await newTask(owner, "Team task", team.id);
    // The outsider's own change proves its stream was live all along.
    await newTask(outsider, "Outsider's own");

    const types = async (follower: Follower, count: number) => {
      const seen = [];
      for (let index = 0; index < count; index++) {
        seen.push((await follower.nextActivity()).activity);
      }
      return seen.map((activity) => `${activity.type} ${activity.entity.title ?? ""}`.trim());
    };
    expect(await types(asOwner, 3)).toEqual([
      `member.invited ${joining.email}`,
      "member.joined Joining",
      "task.created Team task",
    ]);
    expect(await types(asViewer, 2)).toEqual(["member.joined Joining", "task.created Team task"]);
    expect(await types(asOutsider, 1)).toEqual(["task.created Outsider's own"]);
    expect(task.workspaceId).toBe(team.id);
  });

  it("replays nothing from before the caller joined, whatever Last-Event-ID says", async () => {
    const owner = await signUp(t.app);
    const team = await createWorkspace(t.app, owner, "History");
    const secret = await newTask(owner, "Acquisition", team.id);
    const patched = await call(t.app, owner, "PATCH", `/v1/tasks/${secret.id}`, {
      description: "confidential: the offer",
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const deleted = await call(t.app, owner, "DELETE", `/v1/tasks/${secret.id}`);
    expect(deleted.statusCode, deleted.body).toBe(204);

    const late = await signUp(t.app, "Late");
    await join(t.app, owner, team.id, late, "viewer");
    const follower = await follow(
      { ...late.headers, "last-event-id": "1-00000000-0000-0000-0000-000000000000" },
      `/v1/events?workspaceId=${team.id}`,
    );
    await newTask(owner, "After you joined", team.id);
    // Their own joining is the first thing they see there.
    expect((await follower.nextActivity()).activity).toMatchObject({
      type: "member.joined",
      entity: { id: late.id },
    });
    expect((await follower.nextActivity()).activity.entity.title).toBe("After you joined");
  });

  it("narrows to one workspace on request, and answers 404 for a workspace you cannot see", async () => {
    const owner = await signUp(t.app);
    const team = await createWorkspace(t.app, owner, "Narrow");
    const follower = await follow(owner, `/v1/events?workspaceId=${team.id}`);
    await newTask(owner, "Personal");
    await newTask(owner, "In the team", team.id);
    expect((await follower.nextActivity()).activity.entity.title).toBe("In the team");

    const stranger = await signUp(t.app);
    const response = await call(t.app, stranger, "GET", `/v1/events?workspaceId=${team.id}`);
    expectProblem(response, 404, "not_found");
  });

  it("gives a workspace-bound API key its workspace only, and task events only without workspaces:admin", async () => {
    const owner = await signUp(t.app);
    const team = await createWorkspace(t.app, owner, "Keyed");
    const key = await createKey(owner, {
      name: "feed",
      scopes: ["tasks:read"],
      workspaceId: team.id,
    });
    const follower = await follow({ "x-api-key": key });
    await newTask(owner, "Personal, not for the key");
    await invite(t.app, owner, team.id, "later@example.com", "viewer");
    await newTask(owner, "Team, for the key", team.id);
    expect((await follower.nextActivity()).activity.entity.title).toBe("Team, for the key");

    const narrow = await createKey(owner, { name: "no read", scopes: ["ai:use"] });
    const refused = await t.app.inject({ url: "/v1/events", headers: { "x-api-key": narrow } });
    expectProblem(refused, 403, "forbidden");
  });

  it("stops showing a workspace the moment its member is removed", async () => {
    const owner = await signUp(t.app);
    const leaving = await signUp(t.app);
    const team = await createWorkspace(t.app, owner, "Leaving");
    await join(t.app, owner, team.id, leaving, "member");
    const everything = await follow(leaving);
    const narrowed = await follow(leaving, `/v1/events?workspaceId=${team.id}`);
    await newTask(owner, "Seen before removal", team.id);
    expect((await everything.nextActivity()).activity.entity.title).toBe("Seen before removal");
    expect((await narrowed.nextActivity()).activity.entity.title).toBe("Seen before removal");

    const removed = await call(
      t.app,
      owner,
      "DELETE",
      `/v1/workspaces/${team.id}/members/${leaving.id}`,
    );
    expect(removed.statusCode, removed.body).toBe(204);
    await newTask(owner, "After removal", team.id);
    await newTask(leaving, "Own task");
    // Told why the workspace went quiet, then nothing more from it.
    expect((await everything.nextActivity()).activity).toMatchObject({
      type: "member.removed",
      workspaceId: team.id,
      entity: { id: leaving.id },
    });
    expect((await everything.nextActivity()).activity.entity.title).toBe("Own task");
    const ended = await narrowed.next();
    expect(ended).toMatchObject({ kind: "problem", problem: { status: 404, code: "not_found" } });
  });

  it("ends a stream whose API key is revoked", async () => {
    const owner = await signUp(t.app);
    const key = await createKey(owner, { name: "revoked soon", scopes: ["tasks:read"] });
    const follower = await follow({ "x-api-key": key });
    const keys = await call(t.app, owner, "GET", "/v1/api-keys");
    const [listed] = keys.json<{ data: Array<{ id: string }> }>().data;
    const revoked = await call(t.app, owner, "DELETE", `/v1/api-keys/${listed?.id}`);
    expect(revoked.statusCode, revoked.body).toBe(204);
    // The next keep-alive (every 250 ms here) checks the key again. The
    // revocation's own event (the owner's change outside any workspace) comes
    // first only if it settled before that check: on a busy shared server
    // another transaction can hold it back past it, so either order is right.
    let item = await follower.next();
    if (item.kind === "activity") {
      expect(item.activity).toMatchObject({ type: "api_key.revoked", workspaceId: null });
      item = await follower.next();
    }
    expect(item).toMatchObject({
      kind: "problem",
      problem: { status: 401, code: "unauthenticated" },
    });
  });
});

describe("bad requests", () => {
  it("answers 400 naming Last-Event-ID or lastEventId for an id this feed never issued", async () => {
    const user = await signUp(t.app);
    for (const value of [
      "nope",
      "1-not-a-uuid",
      `99999999999999999999999-${crypto.randomUUID()}`,
      `18446744073709551616-${crypto.randomUUID()}`,
      // Ahead of every transaction so far: from another copy of the database.
      `1000000000000000-${crypto.randomUUID()}`,
    ]) {
      const response = await call(t.app, user, "GET", "/v1/events", undefined, {
        "last-event-id": value,
      });
      expectValidationError(response, "Last-Event-ID");
    }
    const byQuery = await call(t.app, user, "GET", "/v1/events?lastEventId=1-2");
    expectValidationError(byQuery, "lastEventId");
    const unknown = await call(t.app, user, "GET", "/v1/events?since=yesterday");
    expectValidationError(unknown, "since");
    const badWorkspace = await call(t.app, user, "GET", "/v1/events?workspaceId=42");
    expectValidationError(badWorkspace, "workspaceId");
  });

  it("answers HEAD with the stream's headers at once, holding no stream", async () => {
    const user = await signUp(t.app);
    for (let index = 0; index < 5; index++) {
      const response = await t.app.inject({
        method: "HEAD",
        url: "/v1/events",
        headers: user.headers,
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
      expect(response.body).toBe("");
    }
    // Five HEADs later the user may still open a stream.
    const follower = await follow(user);
    expect(follower.source.readyState).toBe(EventSource.OPEN);
  });

  it("answers 401 without credentials", async () => {
    const response = await t.app.inject({ url: "/v1/events" });
    expectProblem(response, 401, "unauthenticated");
  });

  it("answers 429 with Retry-After past the open streams a user may hold", async () => {
    const user = await signUp(t.app);
    const gauge = async () => {
      const text = (await t.app.inject({ url: "/metrics" })).body;
      return Number(/^taskpilot_event_streams (\d+)$/m.exec(text)?.[1]);
    };
    const before = await gauge();
    for (let index = 0; index < 3; index++) await follow(user);
    expect(await gauge()).toBe(before + 3);
    const response = await fetch(`${baseUrl}/v1/events`, { headers: user.headers });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.json()).toMatchObject({ code: "rate_limited" });
  });
});

describe("shutting down", () => {
  const second = useSecondInstance(t, { events: { pollMs: 40 } });

  it("ends the streams it serves, so closing does not wait on them", async () => {
    const user = await signUp(t.app);
    const address = await second.app.listen({ port: 0, host: "127.0.0.1" });
    const response = await fetch(`${address}/v1/events`, { headers: user.headers });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    expect(new TextDecoder().decode((await reader?.read())?.value)).toContain(": connected");
    await second.app.close();
    let ended = false;
    while (!ended) ended = (await reader?.read())?.done ?? true;
    expect(ended).toBe(true);
  });
});
