import { beforeEach, describe, expect, it } from "vitest";
import { aiPost } from "../../../test/fake-llm/client.ts";
import { testSettings, useAiTestApp } from "../../../test/fake-llm/harness.ts";
import { signUp, type TestUser } from "../../../test/harness.ts";
import {
  createTask,
  expectValidationError,
  personalWorkspaceId,
} from "../../../test/tasks-helpers.ts";

// AI_REDACT_PII is left at its default (on).
const t = useAiTestApp({
  settings: (fake) =>
    testSettings(fake, {
      AI_ROUTES: JSON.stringify({ summary: ["openai", "local"] }),
      AI_CACHE: false,
    }),
});

let user: TestUser;
beforeEach(async () => {
  t.fake.reset();
  user ??= await signUp(t.app);
});

function patchWorkspace(id: string, body: Record<string, unknown>, app = t.app, who = user) {
  return app.inject({
    method: "PATCH",
    url: `/v1/workspaces/${id}`,
    headers: who.headers,
    payload: body,
  });
}

async function createWorkspace(name: string): Promise<string> {
  const response = await aiPost(t.app, user, "/v1/workspaces", { name });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>().id;
}

/** What the fake vendor received for a summary of a task with an e-mail address in it. */
async function sentToVendor(workspaceId: string): Promise<string> {
  const task = await createTask(t.app, user, {
    title: "Reply to the landlord",
    description: "Write to ana.lopez@example.com about the lease",
    workspaceId,
  });
  t.fake.script("openai", { kind: "text", text: "Reply about the lease." });
  const response = await aiPost(t.app, user, `/v1/tasks/${task.id}/summary`);
  expect(response.json()).toMatchObject({ provider: "openai" });
  const [request] = t.fake.requests.splice(0);
  return request?.rawBody ?? "";
}

describe("PII redaction per workspace", () => {
  it("a workspace with redaction off sends the e-mail address; one with it on does not", async () => {
    const open = await createWorkspace("Open team");
    const redacted = await createWorkspace("Careful team");
    const response = await patchWorkspace(open, { aiRedactPii: false });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ id: open, name: "Open team", aiRedactPii: false });
    const onRequest = await patchWorkspace(redacted, { aiRedactPii: true });
    expect(onRequest.json()).toMatchObject({ aiRedactPii: true });

    const openBody = await sentToVendor(open);
    expect(openBody).toContain("ana.lopez@example.com");
    const redactedBody = await sentToVendor(redacted);
    expect(redactedBody).not.toContain("ana.lopez@example.com");
    expect(redactedBody).toContain("[email]");
  });

  it("turning redaction on applies to the very next call, though the setting was remembered", async () => {
    const workspaceId = await createWorkspace("Switching team");
    expect((await patchWorkspace(workspaceId, { aiRedactPii: false })).statusCode).toBe(200);
    // The first call remembers "off"...
    expect(await sentToVendor(workspaceId)).toContain("ana.lopez@example.com");
    expect((await patchWorkspace(workspaceId, { aiRedactPii: true })).statusCode).toBe(200);
    // ...and the change through this instance drops it before the PATCH answers.
    expect(await sentToVendor(workspaceId)).not.toContain("ana.lopez@example.com");
  });

  it("hears a setting changed behind the API (by hand in SQL, or by another instance)", async () => {
    const workspaceId = await createWorkspace("Hand-edited team");
    expect((await patchWorkspace(workspaceId, { aiRedactPii: false })).statusCode).toBe(200);
    expect(await sentToVendor(workspaceId)).toContain("ana.lopez@example.com");
    await t.database.pool.query(`update "organization" set ai_redact_pii = true where id = $1`, [
      workspaceId,
    ]);
    // The database announces the change when it commits; it arrives asynchronously.
    const deadline = Date.now() + 2_000;
    let body = await sentToVendor(workspaceId);
    while (body.includes("ana.lopez@example.com") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      body = await sentToVendor(workspaceId);
    }
    expect(body).not.toContain("ana.lopez@example.com");
    expect(body).toContain("[email]");
  });

  it("null restores the deployment's default (AI_REDACT_PII, on here)", async () => {
    const workspaceId = await personalWorkspaceId(t.app, user);
    expect((await patchWorkspace(workspaceId, { aiRedactPii: false })).statusCode).toBe(200);
    expect(await sentToVendor(workspaceId)).toContain("ana.lopez@example.com");
    const restored = await patchWorkspace(workspaceId, { aiRedactPii: null });
    expect(restored.json()).toMatchObject({ aiRedactPii: null });
    expect(await sentToVendor(workspaceId)).not.toContain("ana.lopez@example.com");
  });

  it("records the change as a workspace event and bumps the version", async () => {
    const workspaceId = await createWorkspace("Audited");
    const response = await patchWorkspace(workspaceId, { aiRedactPii: false });
    expect(response.headers.etag).toBe('"2.1.owner"');
    const events = await t.app.inject({
      method: "GET",
      url: "/v1/me/activity?limit=100",
      headers: user.headers,
    });
    expect(events.statusCode, events.body).toBe(200);
    expect(events.json<{ data: unknown[] }>().data).toContainEqual(
      expect.objectContaining({
        type: "workspace.updated",
        changes: { aiRedactPii: { from: null, to: false } },
      }),
    );
  });

  it("rejects a body without a change or with a wrong type, naming the field", async () => {
    const workspaceId = await personalWorkspaceId(t.app, user);
    expect((await patchWorkspace(workspaceId, {})).statusCode).toBe(400);
    expectValidationError(await patchWorkspace(workspaceId, { aiRedactPii: "no" }), "aiRedactPii");
  });
});

describe("PII redaction per workspace for embeddings", () => {
  // Embedded PGlite has pgvector, so a semantic search embeds its query through the vendor.
  const v = useAiTestApp({ embedded: true, settings: (fake) => testSettings(fake) });

  async function embeddedQuery(who: TestUser, workspaceId: string): Promise<string> {
    v.fake.reset();
    const q = encodeURIComponent("mail ana.lopez@example.com");
    const response = await v.app.inject({
      method: "GET",
      url: `/v1/search?q=${q}&mode=semantic&workspaceId=${workspaceId}`,
      headers: who.headers,
    });
    expect(response.statusCode, response.body).toBe(200);
    const embeds = v.fake.requests.filter((request) => request.path === "/embeddings");
    expect(embeds).toHaveLength(1);
    return JSON.stringify(embeds[0]?.body.input);
  }

  it("sends the query's e-mail address only where the workspace turned redaction off", async () => {
    const owner = await signUp(v.app);
    const workspaceId = await personalWorkspaceId(v.app, owner);
    expect(await embeddedQuery(owner, workspaceId)).not.toContain("ana.lopez@example.com");
    const off = await patchWorkspace(workspaceId, { aiRedactPii: false }, v.app, owner);
    expect(off.statusCode, off.body).toBe(200);
    expect(await embeddedQuery(owner, workspaceId)).toContain("ana.lopez@example.com");
  });
});
