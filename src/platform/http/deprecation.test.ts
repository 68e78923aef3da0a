import { describe, expect, it } from "vitest";
import { z } from "zod";
import { useTestApp } from "../../../test/harness.ts";
import { deprecationHeaders } from "./deprecation.ts";

const deprecated = {
  since: "2026-01-15",
  sunset: "2027-06-30",
  link: "https://example.com/docs/migrations#old-tasks",
};

const t = useTestApp({
  configure: (app) => {
    app.get("/v1/old-tasks", {
      config: { deprecated, scope: "tasks:read" },
      schema: {
        tags: ["Tasks"],
        summary: "The old way to list tasks",
        response: { 200: z.object({ data: z.array(z.string()) }) },
      },
      handler: async () => ({ data: [] }),
    });
  },
});

describe("deprecated routes", () => {
  it("answer with Deprecation, Sunset and a Link to the migration notes", async () => {
    const response = await t.app.inject({ url: "/v1/old-tasks" });
    expect(response.statusCode).toBe(200);
    expect(response.headers.deprecation).toBe(`@${Date.parse("2026-01-15T00:00:00Z") / 1000}`);
    expect(response.headers.sunset).toBe("Wed, 30 Jun 2027 23:59:59 GMT");
    expect(response.headers.link).toBe(
      '<https://example.com/docs/migrations#old-tasks>; rel="deprecation"; type="text/html"',
    );
  });

  it("are marked deprecated in the OpenAPI document, and only they are", async () => {
    const document = t.app.swagger() as {
      paths: Record<string, Record<string, { deprecated?: boolean }>>;
    };
    expect(document.paths["/v1/old-tasks"]?.get?.deprecated).toBe(true);
    expect(document.paths["/v1/tasks"]?.get?.deprecated).toBeUndefined();
  });

  it("leave other routes without the headers", async () => {
    const response = await t.app.inject({ url: "/healthz" });
    expect(response.headers.deprecation).toBeUndefined();
    expect(response.headers.sunset).toBeUndefined();
  });
});

describe("deprecationHeaders", () => {
  it("needs only the day the deprecation started", () => {
    expect(deprecationHeaders({ since: "2026-02-01" })).toEqual({
      deprecation: `@${Date.parse("2026-02-01T00:00:00Z") / 1000}`,
    });
  });

  it.each([["2026-13-01"], ["2026-02-30"], ["June 2026"], ["2026-06-30T00:00:00Z"]])(
    "refuses %s as a day, so a bad route config fails at start",
    (day) => {
      expect(() => deprecationHeaders({ since: day })).toThrow(/ISO day/);
      expect(() => deprecationHeaders({ since: "2026-01-01", sunset: day })).toThrow(/sunset/);
    },
  );
});
