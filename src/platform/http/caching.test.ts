import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { createTask, listResponse, personalWorkspaceId } from "../../../test/tasks-helpers.ts";
import { newCategory } from "../../modules/categories/test-helpers.ts";

const t = useTestApp();

describe("HTTP caching on /v1", () => {
  it("gives a list a weak ETag and answers If-None-Match with 304 until the list changes", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Cached" });
    const first = await listResponse(t.app, user);
    expect(first.statusCode).toBe(200);
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(first.headers["cache-control"]).toBe("private, no-cache");

    const unchanged = await t.app.inject({
      url: "/v1/tasks",
      headers: { ...user.headers, "if-none-match": etag },
    });
    expect(unchanged.statusCode).toBe(304);
    expect(unchanged.body).toBe("");
    expect(unchanged.headers.etag).toBe(etag);

    // The same tag without W/ matches too: If-None-Match compares weakly.
    const strongForm = etag.replace(/^W\//, "");
    const alsoUnchanged = await t.app.inject({
      url: "/v1/tasks",
      headers: { ...user.headers, "if-none-match": `"other", ${strongForm}` },
    });
    expect(alsoUnchanged.statusCode).toBe(304);

    await createTask(t.app, user, { title: "New" });
    const changed = await t.app.inject({
      url: "/v1/tasks",
      headers: { ...user.headers, "if-none-match": etag },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  it("keeps the version ETag of a single resource", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Versioned" });
    const read = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    expect(read.headers.etag).toMatch(/^"1(\.|")/);
    expect(read.headers["cache-control"]).toBe("private, no-cache");
  });

  it("tags other reads (the profile) and leaves non-GET answers untagged", async () => {
    const user = await signUp(t.app);
    const profile = await t.app.inject({ url: "/v1/me", headers: user.headers });
    expect(profile.headers.etag).toMatch(/^W\//);
    const revalidated = await t.app.inject({
      url: "/v1/me",
      headers: { ...user.headers, "if-none-match": String(profile.headers.etag) },
    });
    expect(revalidated.statusCode).toBe(304);

    const problem = await t.app.inject({ url: "/v1/tasks?limit=0", headers: user.headers });
    expect(problem.statusCode).toBe(400);
    expect(problem.headers.etag).toBeUndefined();
    expect(problem.headers["cache-control"]).toBe("private, no-cache");
  });

  it("answers 304 on every GET whose documented answers include it", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Cached" });
    const category = await newCategory(t.app, user, "Cached");
    const chat = await t.app.inject({
      method: "POST",
      url: "/v1/chat",
      headers: user.headers,
      payload: { message: "list my tasks" },
    });
    expect(chat.statusCode, chat.body).toBe(200);
    const webhook = await t.app.inject({
      method: "POST",
      url: "/v1/webhooks",
      headers: user.headers,
      payload: { url: "https://hooks.example.com/cached", events: ["*"] },
    });
    expect(webhook.statusCode, webhook.body).toBe(201);
    const ids: Record<string, string> = {
      "/v1/webhooks/": webhook.json<{ id: string }>().id,
      "/v1/tasks/": task.id,
      "/api/{user_id}/tasks/": task.id,
      "/v1/categories/": category.id,
      "/v1/workspaces/": await personalWorkspaceId(t.app, user),
      "/v1/conversations/": chat.json<{ conversationId: string }>().conversationId,
    };
    const queries: Record<string, string> = { "/v1/search": "?q=cached" };
    type Item = { get?: { responses: Record<string, unknown> } };
    const document = (await t.app.inject({ url: "/openapi.json" })).json<{
      paths: Record<string, Item>;
    }>();
    const documented = Object.entries(document.paths)
      .filter(([, item]) => item.get?.responses["304"])
      .map(([path]) => path);
    expect(documented).toEqual(expect.arrayContaining(["/v1/me", "/v1/api-keys", "/v1/search"]));
    for (const path of documented) {
      const url =
        path.replace("{user_id}", user.id).replace(/^(.*?\/)\{id\}/, (_whole, prefix: string) => {
          const id = ids[prefix.replace(user.id, "{user_id}")];
          expect(id, path).toBeDefined();
          return `${prefix}${id}`;
        }) + (queries[path] ?? "");
      const first = await t.app.inject({ url, headers: user.headers });
      expect(first.statusCode, `${path}: ${first.body}`).toBe(200);
      const again = await t.app.inject({
        url,
        headers: { ...user.headers, "if-none-match": String(first.headers.etag) },
      });
      expect(again.statusCode, path).toBe(304);
    }
  });
});
