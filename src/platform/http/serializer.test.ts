import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { taskPageSchema, type taskSchema } from "../../modules/tasks/contracts.ts";
import { compileStringify, serializerCompiler, serializerFallbacks } from "./serializer.ts";

const t = useTestApp({
  configure: (app) => {
    // A handler bug: an answer that breaks its own schema.
    app.get(
      "/test/broken-answer",
      { schema: { response: { 200: z.object({ count: z.number().int() }) } } },
      async () => ({ count: 1.5 }),
    );
  },
});

const task: z.output<typeof taskSchema> = {
  id: "0190c5a0-0000-7000-8000-000000000001",
  workspaceId: "0190c5a0-0000-7000-8000-000000000002",
  title: 'Call "the dentist" \u2713 \u2028',
  description: null,
  status: "open",
  priority: "high",
  categoryId: "0190c5a0-0000-7000-8000-000000000004",
  tags: ["home", "quick"],
  dueAt: "2026-11-27T20:00:00.000Z",
  allDay: false,
  recurrence: "FREQ=WEEKLY;BYDAY=MO",
  parentId: null,
  assigneeId: null,
  position: 1.5,
  completedAt: null,
  nextOccurrenceId: null,
  createdBy: "0190c5a0-0000-7000-8000-000000000003",
  createdAt: "2026-11-27T20:00:00.000Z",
  updatedAt: "2026-11-27T20:00:00.123Z",
  version: 3,
};

describe("compiled response serialization", () => {
  it("writes what zod's encoding writes, nulls and escapes included", () => {
    const stringify = compileStringify(taskPageSchema);
    if (!stringify) throw new Error("the task page schema did not compile");
    const page = {
      data: [task, { ...task, description: "two\nlines", dueAt: null }],
      nextCursor: null,
    };
    expect(JSON.parse(stringify(page))).toEqual(z.encode(taskPageSchema, page));
  });

  it("keeps properties named like JSON Schema keywords", () => {
    const schema = z.object({ format: z.string(), pattern: z.string().nullable() });
    const stringify = compileStringify(schema);
    expect(stringify?.({ format: "csv", pattern: null })).toBe('{"format":"csv","pattern":null}');
  });

  it("drops properties the schema does not name, so internals never leak", () => {
    const stringify = compileStringify(taskPageSchema);
    const leaky = { ...task, passwordHash: "secret", deletedAt: "2026-01-01T00:00:00.000Z" };
    const text = stringify?.({ data: [leaky], nextCursor: null }) ?? "";
    expect(text).not.toContain("passwordHash");
    expect(text).not.toContain("deletedAt");
    expect(JSON.parse(text).data[0]).toEqual(task);
  });

  it("compiles every route's response schemas (none falls back to zod's encoding)", () => {
    expect(t.app.printRoutes().length).toBeGreaterThan(0);
    expect(serializerFallbacks()).toEqual([]);
  });

  it("answers 500 problem+json, without the bad value, when an answer breaks its schema (check on)", async () => {
    const response = await t.app.inject({ method: "GET", url: "/test/broken-answer" });
    const body = expectProblem(response, 500, "internal");
    expect(JSON.stringify(body)).not.toContain("1.5");
  });

  it("serializes without validating when the check is off (production)", async () => {
    const app = Fastify();
    app.setSerializerCompiler(serializerCompiler({ check: false }));
    app.get(
      "/answer",
      { schema: { response: { 200: z.object({ name: z.string(), count: z.number() }) } } },
      async () => ({ name: "Ada", count: 2, secret: "never written" }),
    );
    const response = await app.inject({ method: "GET", url: "/answer" });
    await app.close();
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('{"name":"Ada","count":2}');
  });
});
