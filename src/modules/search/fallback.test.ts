import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { createTask } from "../../../test/tasks-helpers.ts";
import { queuedJobs, search } from "./test-helpers.ts";

/**
 * A database without pgvector: the CI server (Postgres 15 has none), or an
 * embedded one opened without its optional extensions. Search must still
 * answer, as keyword search, and say so; /readyz must say why.
 */
const t = useTestApp({ database: { optionalExtensions: false } });

describe("search on a database without pgvector", () => {
  it("reports semantic search as unavailable in /readyz, with the reason", async () => {
    const response = await t.app.inject({ method: "GET", url: "/readyz" });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ status: string; features: Record<string, unknown> }>();
    expect(body.status).toBe("ready");
    expect(body.features.semanticSearch).toEqual({
      status: "unavailable",
      detail: expect.stringMatching(
        /vector extension is not installed.*answer with keyword search/,
      ),
    });
  });

  it("answers semantic and hybrid requests with keyword search and says so", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Renew passport" });
    await createTask(t.app, user, { title: "Water the plants" });
    for (const mode of ["semantic", "hybrid"]) {
      const result = await search(t.app, user, { q: "passport", mode });
      expect(result).toMatchObject({
        mode: "keyword",
        model: null,
        reason: expect.stringContaining("semantic search is unavailable"),
      });
      expect(result.data.map((hit) => hit.task.title)).toEqual(["Renew passport"]);
    }
    const keyword = await search(t.app, user, { q: "passport", mode: "keyword" });
    expect(keyword).toMatchObject({ mode: "keyword", reason: null });
  });

  it("queues no embeddings when nothing could store them", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Book a table for Friday" });
    expect(await queuedJobs(t.database.db)).toEqual([]);
  });
});
