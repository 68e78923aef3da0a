import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import type { Category } from "./contracts.ts";
import {
  createCategory,
  fieldPaths,
  newCategory,
  type Page,
  type Problem,
} from "./test-helpers.ts";

const t = useTestApp();

describe("categories", () => {
  it("creates a category with 201, Location and ETag, and reads it back", async () => {
    const user = await signUp(t.app);
    const response = await createCategory(t.app, user, { name: "  Work  ", color: "#3B82F6" });
    expect(response.statusCode).toBe(201);
    const created = response.json<Category>();
    expect(created).toMatchObject({ name: "Work", color: "#3b82f6", taskCount: 0 });
    expect(response.headers.location).toBe(`/v1/categories/${created.id}`);
    expect(response.headers.etag).toBeTypeOf("string");

    const read = await t.app.inject({ url: `/v1/categories/${created.id}`, headers: user.headers });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(created);
  });

  it("lists the user's categories in position order", async () => {
    const user = await signUp(t.app);
    await createCategory(t.app, user, { name: "Second", position: 2 });
    await createCategory(t.app, user, { name: "First", position: 1 });
    const response = await t.app.inject({ url: "/v1/categories", headers: user.headers });
    expect(response.statusCode).toBe(200);
    const page = response.json<Page<Category>>();
    expect(page.data.map((category) => category.name)).toEqual(["First", "Second"]);
    expect(page.nextCursor).toBeNull();
  });

  it("updates name, colour and position with PATCH", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const response = await t.app.inject({
      method: "PATCH",
      url: `/v1/categories/${category.id}`,
      headers: user.headers,
      payload: { name: "House", color: "#00FF00", position: 7 },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ name: "House", color: "#00ff00", position: 7 });
  });

  it("deletes a category with 204, after which it is gone", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const url = `/v1/categories/${category.id}`;
    const deleted = await t.app.inject({ method: "DELETE", url, headers: user.headers });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe("");
    const read = await t.app.inject({ url, headers: user.headers });
    expect(read.statusCode).toBe(404);
  });

  it("answers 409 for a duplicate name in another case, naming the field", async () => {
    const user = await signUp(t.app);
    await newCategory(t.app, user, "Errands");
    const response = await createCategory(t.app, user, { name: "ERRANDS" });
    expect(response.statusCode).toBe(409);
    const body = response.json<Problem>();
    expect(body.code).toBe("conflict");
    expect(fieldPaths(body)).toEqual(["name"]);
  });

  it("answers 409 when renaming onto another category's name in another case", async () => {
    const user = await signUp(t.app);
    await newCategory(t.app, user, "Garden");
    const other = await newCategory(t.app, user, "Garage");
    const response = await t.app.inject({
      method: "PATCH",
      url: `/v1/categories/${other.id}`,
      headers: user.headers,
      payload: { name: "garden" },
    });
    expect(response.statusCode).toBe(409);
    const body = response.json<Problem>();
    expect(body.code).toBe("conflict");
    expect(fieldPaths(body)).toEqual(["name"]);
  });

  it("lets two users use the same name in their own workspaces", async () => {
    const alice = await signUp(t.app);
    const bob = await signUp(t.app);
    await newCategory(t.app, alice, "Shared name");
    const response = await createCategory(t.app, bob, { name: "shared NAME" });
    expect(response.statusCode).toBe(201);
  });

  it.each([
    ["an empty name", { name: "   " }, "name"],
    ["a name over 100 characters", { name: "x".repeat(101) }, "name"],
    ["a colour that is not #rrggbb", { name: "Ok", color: "blue" }, "color"],
    ["an unknown field", { name: "Ok", icon: "star" }, "icon"],
    ["a missing name", {}, "name"],
  ])("answers 400 for %s, naming the field", async (_case, payload, field) => {
    const user = await signUp(t.app);
    const response = await createCategory(t.app, user, payload);
    expect(response.statusCode).toBe(400);
    const body = response.json<Problem>();
    expect(body.code).toBe("validation_failed");
    expect(fieldPaths(body)).toContain(field);
  });

  it("answers 400 naming the field when a PATCH sets an empty name or an unknown field", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const url = `/v1/categories/${category.id}`;
    const empty = await t.app.inject({
      method: "PATCH",
      url,
      headers: user.headers,
      payload: { name: "" },
    });
    expect(empty.statusCode).toBe(400);
    expect(fieldPaths(empty.json<Problem>())).toContain("name");
    const unknown = await t.app.inject({
      method: "PATCH",
      url,
      headers: user.headers,
      payload: { taskCount: 3 },
    });
    expect(unknown.statusCode).toBe(400);
    expect(fieldPaths(unknown.json<Problem>())).toContain("taskCount");
  });

  it("answers 400 for an id that is not a UUID", async () => {
    const user = await signUp(t.app);
    const response = await t.app.inject({ url: "/v1/categories/nope", headers: user.headers });
    expect(response.statusCode).toBe(400);
    expect(fieldPaths(response.json<Problem>())).toContain("id");
  });

  it("answers 404 on every route for another user's category and hides it from their list", async () => {
    const owner = await signUp(t.app);
    const stranger = await signUp(t.app);
    const category = await newCategory(t.app, owner, "Private");
    const url = `/v1/categories/${category.id}`;
    const attempts = [
      { method: "GET" as const, url },
      { method: "PATCH" as const, url, payload: { name: "Mine now" } },
      { method: "DELETE" as const, url },
    ];
    for (const attempt of attempts) {
      const response = await t.app.inject({ ...attempt, headers: stranger.headers });
      expect(response.statusCode, attempt.method).toBe(404);
      expect(response.json<Problem>().code).toBe("not_found");
    }
    const list = await t.app.inject({ url: "/v1/categories", headers: stranger.headers });
    expect(list.json<Page<Category>>().data).toEqual([]);
    const stillThere = await t.app.inject({ url, headers: owner.headers });
    expect(stillThere.json<Category>().name).toBe("Private");
  });

  it("pages through categories with limit and cursor without repeats", async () => {
    const user = await signUp(t.app);
    for (const name of ["A", "B", "C", "D", "E"]) await newCategory(t.app, user, name);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const response = await t.app.inject({
        url: `/v1/categories?limit=2${query}`,
        headers: user.headers,
      });
      expect(response.statusCode).toBe(200);
      const page = response.json<Page<Category>>();
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((category) => category.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual(["A", "B", "C", "D", "E"]);
    expect(pages).toBe(3);
  });

  it("answers 400 for a limit outside 1..100, a malformed or tampered cursor", async () => {
    const user = await signUp(t.app);
    const category = await newCategory(t.app, user);
    const tampered = (key: unknown) =>
      Buffer.from(JSON.stringify({ sort: "position", key, id: category.id })).toString("base64url");
    const queries = ["limit=0", "limit=101", "limit=abc", "cursor=%%%", "colour=red"];
    queries.push(`cursor=${tampered("abc")}`, `cursor=${tampered(null)}`);
    for (const query of queries) {
      const response = await t.app.inject({
        url: `/v1/categories?${query}`,
        headers: user.headers,
      });
      expect(response.statusCode, query).toBe(400);
    }
  });
});
