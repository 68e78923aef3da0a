import { describe, expect, it } from "vitest";
import { useTestApp } from "../../../test/harness.ts";
import {
  checkContract,
  contractProblems,
  documentHash,
  incompatibleChanges,
  newestChangelogEntry,
  serializeDocument,
} from "./api-contract.ts";

type Json = Record<string, unknown>;

/** A small OpenAPI 3.1 document shaped like ours: components referenced from operations. */
function contract(): Json {
  return {
    openapi: "3.1.0",
    info: { title: "Contract", version: "1.0.0" },
    paths: {
      "/v1/things": {
        get: {
          summary: "List things",
          parameters: [
            {
              in: "query",
              name: "status",
              required: false,
              schema: { type: "string", enum: ["open", "done"] },
            },
          ],
          responses: {
            200: {
              description: "OK",
              content: {
                "application/json": {
                  schema: { type: "array", items: { $ref: "#/components/schemas/Thing" } },
                },
              },
            },
          },
        },
        post: {
          summary: "Create a thing",
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/CreateThing" } },
            },
          },
          responses: {
            201: {
              description: "Created",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } },
            },
          },
        },
      },
      "/v1/things/{id}": {
        delete: {
          parameters: [{ in: "path", name: "id", required: true, schema: { type: "string" } }],
          responses: { 204: { description: "Deleted" } },
        },
      },
    },
    components: {
      schemas: {
        Thing: {
          type: "object",
          properties: {
            id: { type: "string" },
            title: { type: "string" },
            priority: { type: "string", enum: ["low", "high"] },
            version: { type: "integer" },
            note: { anyOf: [{ type: "string" }, { type: "null" }] },
          },
          required: ["id", "title", "priority", "version", "note"],
        },
        CreateThing: {
          type: "object",
          properties: {
            title: { type: "string", maxLength: 200 },
            priority: { type: "string", enum: ["low", "high"] },
          },
          required: ["title"],
          additionalProperties: false,
        },
      },
    },
  };
}

/** A copy of the contract with `change` applied. */
function changed(change: (document: Json & { paths: Json; components: Json }) => void): Json {
  const document = structuredClone(contract()) as Json & { paths: Json; components: Json };
  change(document);
  return document;
}

// biome-ignore lint/suspicious/noExplicitAny: mutations below reach deep into a fixture
type Any = any;

describe("incompatibleChanges", () => {
  it.each([
    [
      "a removed operation",
      (d: Any) => delete d.paths["/v1/things/{id}"].delete,
      /DELETE \/v1\/things\/\{id\}|\/v1\/things\/\{id\}/,
    ],
    ["a removed path", (d: Any) => delete d.paths["/v1/things/{id}"], /\/v1\/things\/\{id\}/],
    [
      "a removed response field",
      (d: Any) => delete d.components.schemas.Thing.properties.title,
      /GET \/v1\/things: .*title/,
    ],
    [
      "a response field that became optional",
      (d: Any) => {
        d.components.schemas.Thing.required = ["id", "priority", "version", "note"];
      },
      /POST \/v1\/things: /,
    ],
    [
      "a new required request field",
      (d: Any) => {
        d.components.schemas.CreateThing.required = ["title", "priority"];
      },
      /POST \/v1\/things: .*priority/,
    ],
    [
      "a new required query parameter",
      (d: Any) =>
        d.paths["/v1/things"].get.parameters.push({
          in: "query",
          name: "owner",
          required: true,
          schema: { type: "string" },
        }),
      /GET \/v1\/things: /,
    ],
    [
      "a narrowed request enum",
      (d: Any) => {
        d.components.schemas.CreateThing.properties.priority.enum = ["high"];
      },
      /POST \/v1\/things: .*priority/,
    ],
    [
      "a narrowed query enum",
      (d: Any) => {
        d.paths["/v1/things"].get.parameters[0].schema.enum = ["open"];
      },
      /GET \/v1\/things: /,
    ],
    [
      "a changed response type",
      (d: Any) => {
        d.components.schemas.Thing.properties.version = { type: "string" };
      },
      /GET \/v1\/things: .*version/,
    ],
    [
      "a response field that became nullable",
      (d: Any) => {
        d.components.schemas.Thing.properties.title = {
          anyOf: [{ type: "string" }, { type: "null" }],
        };
      },
      /title/,
    ],
    [
      "a removed success status",
      (d: Any) => {
        const post = d.paths["/v1/things"].post;
        post.responses = { 200: post.responses[201] };
      },
      /POST \/v1\/things: .*201/,
    ],
  ])("reports %s", (_case, change, line) => {
    const found = incompatibleChanges(contract(), changed(change as (d: Any) => void));
    expect(found.length).toBeGreaterThan(0);
    expect(
      found.some((entry) => line.test(entry)),
      found.join("\n"),
    ).toBe(true);
  });

  it.each([
    ["a new operation", (d: Any) => (d.paths["/v1/other"] = { get: d.paths["/v1/things"].get })],
    [
      "a new optional request field",
      (d: Any) =>
        (d.components.schemas.CreateThing.properties.tags = {
          type: "array",
          items: { type: "string" },
        }),
    ],
    [
      "a new response field",
      (d: Any) => (d.components.schemas.Thing.properties.color = { type: "string" }),
    ],
    [
      "a widened request enum",
      (d: Any) => d.components.schemas.CreateThing.properties.priority.enum.push("urgent"),
    ],
    [
      "a longer allowed request string",
      (d: Any) => (d.components.schemas.CreateThing.properties.title.maxLength = 500),
    ],
    [
      "a new summary",
      (d: Any) => (d.paths["/v1/things"].get.summary = "Lists things, newest first"),
    ],
    ["a deprecation", (d: Any) => (d.paths["/v1/things"].get.deprecated = true)],
  ])("accepts %s as compatible", (_case, change) => {
    expect(incompatibleChanges(contract(), changed(change as (d: Any) => void))).toEqual([]);
  });
});

describe("the contract check", () => {
  const snapshotText = serializeDocument(contract());
  const broken = changed((d: Any) => delete d.paths["/v1/things/{id}"]);
  const brokenHash = documentHash(serializeDocument(broken));

  it("passes when the built document is the committed snapshot", () => {
    const report = checkContract({
      current: contract(),
      snapshotText,
      baseline: contract(),
      changelog: "",
    });
    expect(report).toMatchObject({
      drift: false,
      incompatible: [],
      hash: documentHash(snapshotText),
    });
    expect(contractProblems(report, { writing: false })).toEqual([]);
  });

  it("fails on any drift from the snapshot, compatible or not, until the snapshot is written", () => {
    const grown = changed(
      (d: Any) => (d.components.schemas.Thing.properties.color = { type: "string" }),
    );
    const report = checkContract({
      current: grown,
      snapshotText,
      baseline: contract(),
      changelog: "",
    });
    expect(report.drift).toBe(true);
    const problems = contractProblems(report, { writing: false });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/npm run api:snapshot/);
    expect(contractProblems(report, { writing: true })).toEqual([]);
  });

  it("fails on an incompatible change, even when writing, unless the newest changelog entry names the new hash", () => {
    const unacknowledged = checkContract({
      current: broken,
      snapshotText,
      baseline: contract(),
      changelog: "# API changelog\n\n## 2026-01-01 · snapshot 000000000000\n- old entry\n",
    });
    const problems = contractProblems(unacknowledged, { writing: true });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(brokenHash);
    expect(problems[0]).toMatch(/\/v1\/things\/\{id\}/);

    const changelog = `# API changelog\n\n## 2026-02-01 · snapshot ${brokenHash}\n- Removed DELETE /v1/things/{id}.\n\n## 2026-01-01 · snapshot 000000000000\n`;
    const acknowledged = checkContract({
      current: broken,
      snapshotText,
      baseline: contract(),
      changelog,
    });
    expect(acknowledged.acknowledged).toBe(true);
    expect(contractProblems(acknowledged, { writing: true })).toEqual([]);
  });

  it("does not accept a hash named only by an older entry", () => {
    const changelog = `## 2026-03-01 · snapshot 111111111111\n\n## 2026-02-01 · snapshot ${brokenHash}\n`;
    const report = checkContract({
      current: broken,
      snapshotText,
      baseline: contract(),
      changelog,
    });
    expect(report.acknowledged).toBe(false);
    expect(newestChangelogEntry(changelog)).toContain("111111111111");
  });

  it("checks a committed snapshot against the contract before it (baseline from git)", () => {
    const committed = serializeDocument(broken);
    const report = checkContract({
      current: broken,
      snapshotText: committed,
      baseline: contract(),
      changelog: "",
    });
    expect(report.drift).toBe(false);
    expect(contractProblems(report, { writing: false })).toHaveLength(1);
  });
});

describe("the contract check on the app's own document", () => {
  const t = useTestApp();

  it("reads the generated OpenAPI 3.1 document and finds a removed response field in it", () => {
    const document = JSON.parse(JSON.stringify(t.app.swagger())) as Any;
    const edited = structuredClone(document);
    delete edited.components.schemas.Task.properties.title;
    expect(incompatibleChanges(document, document)).toEqual([]);
    const found = incompatibleChanges(document, edited);
    expect(
      found.some((line) => line.startsWith("GET /v1/tasks/{id}: ") && line.includes("title")),
    ).toBe(true);
  });
});
