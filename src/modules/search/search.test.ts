import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  expectProblem,
  expectValidationError,
  personalWorkspaceId,
  taskAction,
} from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "../api-keys/test-helpers.ts";
import { createWorkspace } from "../workspaces/test-helpers.ts";
import { embedPending, foundTitles, search, searchResponse } from "./test-helpers.ts";

/**
 * GET /v1/search on whatever database the suite runs on: keyword search and
 * the rules every mode shares (visibility, filters, validation). Where the
 * database has pgvector the tasks are embedded too, so hybrid and semantic
 * requests really run; on the server they fall back (fallback.test.ts).
 */
const t = useTestApp();

describe("GET /v1/search", () => {
  it("finds word forms through full text", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Book dentist appointment" });
    await createTask(t.app, user, { title: "Buy bread" });
    expect(await foundTitles(t.app, user, { q: "dentists", mode: "keyword" })).toEqual([
      "Book dentist appointment",
    ]);
  });

  it("finds titles despite a typo in the query (pg_trgm)", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Renew passport" });
    await createTask(t.app, user, { title: "Buy groceries" });
    await createTask(t.app, user, { title: "Call the electrician about the lights" });
    expect(await foundTitles(t.app, user, { q: "pasport", mode: "keyword" })).toEqual([
      "Renew passport",
    ]);
    expect(await foundTitles(t.app, user, { q: "grocries", mode: "keyword" })).toEqual([
      "Buy groceries",
    ]);
    expect(await foundTitles(t.app, user, { q: "electrcian", mode: "keyword" })).toEqual([
      "Call the electrician about the lights",
    ]);
  });

  it("ranks a title that matches the words above one that only mentions them", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, {
      title: "Errands",
      description: "pick up the dry cleaning, then the passport photos",
    });
    await createTask(t.app, user, { title: "Passport photos" });
    const result = await search(t.app, user, { q: "passport photos", mode: "keyword" });
    expect(result.data.map((hit) => hit.task.title)).toEqual(["Passport photos", "Errands"]);
    expect(result.data[0]?.score).toBeGreaterThan(result.data[1]?.score ?? 1);
  });

  it("never shows another user's tasks, in any mode", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await createTask(t.app, other, { title: "Secret surprise party plans" });
    const mine = await createTask(t.app, user, { title: "Surprise party plans" });
    await embedPending(t.app, t.clock);
    for (const mode of ["keyword", "semantic", "hybrid"]) {
      const result = await search(t.app, user, { q: "surprise party", mode });
      expect(result.data.map((hit) => hit.task.id)).toEqual([mine.id]);
    }
  });

  it("keeps a workspace-bound API key inside its workspace", async () => {
    const user = await signUp(t.app);
    const team = await createWorkspace(t.app, user, "Team");
    await createTask(t.app, user, { title: "Team offsite agenda", workspaceId: team.id });
    await createTask(t.app, user, { title: "Personal offsite packing" });
    await embedPending(t.app, t.clock);
    const key = await createApiKey(t.app, user, { scopes: ["tasks:read"], workspaceId: team.id });
    for (const mode of ["keyword", "hybrid"]) {
      const response = await searchResponse(t.app, keyHeaders(key), { q: "offsite", mode });
      expect(response.statusCode, response.body).toBe(200);
      const titles = response.json<{ data: Array<{ task: { title: string } }> }>().data;
      expect(titles.map((hit) => hit.task.title)).toEqual(["Team offsite agenda"]);
    }
    const personal = await personalWorkspaceId(t.app, user);
    const outside = await searchResponse(t.app, keyHeaders(key), {
      q: "offsite",
      workspaceId: personal,
    });
    expectProblem(outside, 404, "not_found");
  });

  it("narrows to one workspace and to a status", async () => {
    const user = await signUp(t.app);
    const team = await createWorkspace(t.app, user, "Team");
    await createTask(t.app, user, { title: "Plan the budget review", workspaceId: team.id });
    const done = await createTask(t.app, user, { title: "Draft the budget" });
    expect((await taskAction(t.app, user, done.id, "complete")).statusCode).toBe(200);
    expect(
      await foundTitles(t.app, user, { q: "budget", mode: "keyword", workspaceId: team.id }),
    ).toEqual(["Plan the budget review"]);
    expect(
      await foundTitles(t.app, user, { q: "budget", mode: "keyword", status: "completed" }),
    ).toEqual(["Draft the budget"]);
    expect(
      (await foundTitles(t.app, user, { q: "budget", mode: "keyword", limit: 1 })).length,
    ).toBe(1);
  });

  it("answers 404 for a workspace the caller does not belong to", async () => {
    const user = await signUp(t.app);
    const stranger = await signUp(t.app);
    const theirs = await createWorkspace(t.app, stranger, "Theirs");
    const response = await searchResponse(t.app, user.headers, {
      q: "anything",
      workspaceId: theirs.id,
    });
    expectProblem(response, 404, "not_found");
  });

  it("rejects a bad mode, limit, query or parameter with 400 naming the field", async () => {
    const user = await signUp(t.app);
    const ask = (params: Record<string, string | number>) =>
      searchResponse(t.app, user.headers, params);
    expectValidationError(await ask({ q: "milk", mode: "fuzzy" }), "mode");
    expectValidationError(await ask({ q: "milk", limit: 0 }), "limit");
    expectValidationError(await ask({ q: "milk", limit: 101 }), "limit");
    expectValidationError(await ask({ q: "milk", limit: "ten" }), "limit");
    expectValidationError(await ask({ q: "milk", status: "archived" }), "status");
    expectValidationError(await ask({ q: "milk", workspaceId: "mine" }), "workspaceId");
    expectValidationError(await ask({ q: "   " }), "q");
    expectValidationError(await ask({ mode: "keyword" }), "q");
    expectValidationError(await ask({ q: "x".repeat(201) }), "q");
    expect((await ask({ q: "milk", sort: "title" })).statusCode).toBe(400);
  });

  it("answers 401 without credentials", async () => {
    const response = await t.app.inject({ method: "GET", url: "/v1/search?q=milk" });
    expectProblem(response, 401, "unauthenticated");
  });
});
