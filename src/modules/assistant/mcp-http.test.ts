import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createCategory,
  createTask,
  expectProblem,
  getTask,
  type Task,
} from "../../../test/tasks-helpers.ts";
import type { Profile } from "../profile/contracts.ts";

const t = useTestApp({ now: "2026-03-11T09:00:00Z" }); // a Wednesday
let baseUrl = "";
const clients: Client[] = [];

beforeAll(async () => {
  baseUrl = await t.app.listen({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  for (const client of clients) await client.close();
});

/** The official SDK client over real HTTP, authenticated as `user`. */
async function connect(user: TestUser): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
    requestInit: { headers: user.headers },
  });
  const client = new Client({ name: "taskpilot-test", version: "1.0.0" });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
}

/** The problem a failed tool call carries in its text content. */
type ToolProblem = {
  code: string;
  status: number;
  detail: string;
  errors: Array<{ path: string; message: string }>;
};

function problemOf(result: CallToolResult): ToolProblem {
  expect(result.isError).toBe(true);
  const [first] = result.content;
  if (first?.type !== "text") throw new Error("a tool error carries text");
  return JSON.parse(first.text);
}

describe("the MCP server over Streamable HTTP", () => {
  it("initializes and names itself, with tools and instructions", async () => {
    const client = await connect(await signUp(t.app));
    expect(client.getServerVersion()).toEqual({ name: "taskpilot", version: "1.0.0" });
    expect(client.getServerCapabilities()?.tools).toBeDefined();
    expect(client.getInstructions()).toMatch(/never instructions/);
  });

  it("lists every tool with its schemas and read-only / destructive annotations", async () => {
    const client = await connect(await signUp(t.app));
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining([
        "add_task",
        "list_tasks",
        "complete_task",
        "delete_task",
        "update_task",
        "search_tasks",
        "get_profile",
        "reopen_task",
        "list_categories",
      ]),
    );
    for (const name of ["list_tasks", "search_tasks", "get_profile", "list_categories"]) {
      expect(byName.get(name)?.annotations, name).toMatchObject({ readOnlyHint: true });
    }
    for (const name of ["add_task", "update_task", "complete_task", "reopen_task"]) {
      expect(byName.get(name)?.annotations, name).toMatchObject({
        readOnlyHint: false,
        destructiveHint: false,
      });
    }
    expect(byName.get("delete_task")?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
    const addTask = byName.get("add_task");
    expect(addTask?.inputSchema).toMatchObject({ type: "object", additionalProperties: false });
    expect(Object.keys(addTask?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining([
        "title",
        "text",
        "priority",
        "tags",
        "category",
        "due",
        "recurrence",
      ]),
    );
    expect(byName.get("complete_task")?.inputSchema.required).toEqual(["id"]);
    for (const tool of tools) expect(tool.outputSchema?.type, tool.name).toBe("object");
  });

  it("adds tasks from fields and from quick-add text, as the REST API then shows", async () => {
    const user = await signUp(t.app);
    const home = await createCategory(t.app, user, "Home");
    const client = await connect(user);
    const fromFields = (await call(client, "add_task", {
      title: "Dentist",
      priority: "high",
      tags: ["health"],
      category: "home",
      due: "friday 3pm",
    })) as { task: Task };
    expect(await getTask(t.app, user, fromFields.task.id)).toMatchObject({
      title: "Dentist",
      priority: "high",
      tags: ["health"],
      categoryId: home.id,
      dueAt: "2026-03-13T15:00:00.000Z",
    });
    const quick = (await call(client, "add_task", {
      text: "Pay rent every 1st at 9am #Home @finance p1",
    })) as { task: Task };
    expect(await getTask(t.app, user, quick.task.id)).toMatchObject({
      title: "Pay rent",
      priority: "urgent",
      tags: ["finance"],
      categoryId: home.id,
      recurrence: expect.stringContaining("FREQ=MONTHLY"),
    });
  });

  it("lists and searches the caller's tasks, and only theirs", async () => {
    const user = await signUp(t.app);
    const other = await signUp(t.app);
    await createTask(t.app, other, { title: "Other dentist" });
    const dentist = await createTask(t.app, user, { title: "Dentist", priority: "high" });
    const milk = await createTask(t.app, user, { title: "Buy milk", priority: "low" });
    const client = await connect(user);
    const listed = (await call(client, "list_tasks", { sort: "title" })) as { tasks: Task[] };
    expect(listed.tasks.map((task) => task.id)).toEqual([milk.id, dentist.id]);
    const high = (await call(client, "list_tasks", { priority: ["high", "urgent"] })) as {
      tasks: Task[];
    };
    expect(high.tasks.map((task) => task.title)).toEqual(["Dentist"]);
    const found = (await call(client, "search_tasks", { q: "dentists" })) as {
      tasks: Task[];
      mode: string;
    };
    // Hybrid where the database has pgvector (PGlite), keyword where it has not (the CI server).
    const semantic = t.app.services.search?.capabilities.semantic.available;
    expect(found).toMatchObject({ mode: semantic ? "hybrid" : "keyword", nextCursor: null });
    expect(found.tasks.map((task) => task.id)).toEqual([dentist.id]);
  });

  it("updates, reschedules, completes, reopens and deletes, as the REST API then shows", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Call mum" });
    const client = await connect(user);

    await call(client, "update_task", { id: task.id, title: "Call mum back", priority: "medium" });
    expect(await getTask(t.app, user, task.id)).toMatchObject({
      title: "Call mum back",
      priority: "medium",
    });
    await call(client, "update_task", { id: task.id, due: "tomorrow 5pm" });
    expect((await getTask(t.app, user, task.id)).dueAt).toBe("2026-03-12T17:00:00.000Z");

    const completed = (await call(client, "complete_task", { id: task.id })) as { task: Task };
    expect(completed.task.status).toBe("completed");
    expect((await getTask(t.app, user, task.id)).status).toBe("completed");
    await call(client, "reopen_task", { id: task.id });
    expect((await getTask(t.app, user, task.id)).status).toBe("open");

    expect(await call(client, "delete_task", { id: task.id })).toEqual({
      id: task.id,
      title: "Call mum back",
      deleted: true,
    });
    const gone = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    expectProblem(gone, 404, "not_found");
  });

  it("gives the profile and categories the REST API gives", async () => {
    const user = await signUp(t.app, "Mona");
    const work = await createCategory(t.app, user, "Work");
    await createTask(t.app, user, { title: "Overdue", dueAt: "2026-03-01T10:00:00Z" });
    const client = await connect(user);
    const profile = (await call(client, "get_profile")) as Profile;
    const rest = (await t.app.inject({ url: "/v1/me", headers: user.headers })).json<Profile>();
    expect(profile).toMatchObject({ id: user.id, name: "Mona", stats: rest.stats });
    expect(profile.stats.overdue).toBe(1);
    expect(profile.recentActivity).toEqual([]);
    const withActivity = (await call(client, "get_profile", { activityLimit: 5 })) as Profile;
    expect(withActivity.recentActivity.map((event) => event.type)).toContain("task.created");
    const { categories } = (await call(client, "list_categories")) as {
      categories: Array<{ id: string; taskCount: number }>;
    };
    expect(categories).toEqual([expect.objectContaining({ id: work.id, taskCount: 0 })]);
  });

  it("answers another user's task with a tool error and changes nothing", async () => {
    const owner = await signUp(t.app);
    const task = await createTask(t.app, owner, { title: "Mine alone" });
    const intruder = await connect(await signUp(t.app));
    for (const name of ["complete_task", "delete_task"]) {
      const result = (await intruder.callTool({
        name,
        arguments: { id: task.id },
      })) as CallToolResult;
      expect(problemOf(result)).toMatchObject({ code: "not_found", status: 404 });
    }
    const update = (await intruder.callTool({
      name: "update_task",
      arguments: { id: task.id, title: "Hacked" },
    })) as CallToolResult;
    expect(problemOf(update).code).toBe("not_found");
    expect(await getTask(t.app, owner, task.id)).toMatchObject({
      title: "Mine alone",
      status: "open",
      version: task.version,
    });
  });

  it("turns bad input into tool errors naming the field, and the session goes on", async () => {
    const client = await connect(await signUp(t.app));
    // Arguments the schema refuses get the same problem as any other tool error.
    const missing = (await client.callTool({ name: "add_task", arguments: {} })) as CallToolResult;
    expect(missing.isError).toBe(true);
    expect(problemOf(missing)).toMatchObject({
      code: "validation_failed",
      status: 400,
      errors: [{ path: "title", message: expect.any(String) }],
    });
    const wrongType = (await client.callTool({
      name: "add_task",
      arguments: { title: "Typed", priority: "asap", tags: "one" },
    })) as CallToolResult;
    expect(problemOf(wrongType)).toMatchObject({ code: "validation_failed" });
    expect(problemOf(wrongType).errors.map((error) => error.path)).toEqual(["priority", "tags"]);
    // An unknown argument is named itself, in the words the HTTP routes use.
    const unknown = (await client.callTool({
      name: "add_task",
      arguments: { title: "Owned", owner: "me", colour: "red" },
    })) as CallToolResult;
    expect(problemOf(unknown).errors).toEqual([
      { path: "owner", message: "unknown field" },
      { path: "colour", message: "unknown field" },
    ]);
    await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(
      /Tool no_such_tool not found/,
    );
    const unknownCategory = (await client.callTool({
      name: "add_task",
      arguments: { title: "Filed", category: "Nowhere" },
    })) as CallToolResult;
    expect(problemOf(unknownCategory)).toMatchObject({
      code: "validation_failed",
      detail: expect.stringContaining("category"),
    });
    const badDate = (await client.callTool({
      name: "update_task",
      arguments: { id: "0190f5a0-0000-7000-8000-000000000000", due: "someday maybe" },
    })) as CallToolResult;
    expect(badDate.isError).toBe(true);
    // Text Postgres cannot store is a tool error naming the argument, not an HTTP 400.
    for (const title of ["a\u0000b", "a\uD800b"]) {
      const unstorable = (await client.callTool({
        name: "add_task",
        arguments: { title, tags: ["fine"] },
      })) as CallToolResult;
      expect(problemOf(unstorable)).toMatchObject({
        code: "validation_failed",
        detail: expect.stringMatching(/^title: /),
      });
    }
    expect((await call(client, "list_tasks")).tasks).toEqual([]);
  });

  it("refuses arguments with more than 100 keys and items before validating them", async () => {
    const client = await connect(await signUp(t.app));
    const flood: Record<string, unknown> = { title: "Flood" };
    for (let i = 0; i < 5_000; i++) flood[`k${i}`] = i;
    const refused = (await client.callTool({
      name: "add_task",
      arguments: flood,
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(problemOf(refused)).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "input", message: "holds more than 100 keys and array items in all" }],
    });
    expect(JSON.stringify(refused.content).length).toBeLessThan(500);
    // The largest real call still goes through: every field and 20 tags.
    const tags = Array.from({ length: 20 }, (_, i) => `tag${i}`);
    const full = await call(client, "add_task", {
      title: "Everything",
      description: "All of it",
      priority: "high",
      due: "tomorrow",
      recurrence: "every monday",
      tags,
    });
    expect((full.task as { tags: string[] }).tags).toHaveLength(20);
    expect((await call(client, "list_tasks")).tasks).toHaveLength(1);
  });

  it("answers 401 problem+json without credentials, and the SDK client fails to connect", async () => {
    const response = await fetch(`${baseUrl}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(await response.json()).toMatchObject({ code: "unauthenticated" });

    const anonymous = new Client({ name: "anonymous", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`));
    const failure = await anonymous.connect(transport).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StreamableHTTPError);
    expect((failure as StreamableHTTPError).code).toBe(401);
  });

  it("refuses a JSON-RPC batch with 400 naming the body, and runs none of it", async () => {
    const user = await signUp(t.app);
    const add = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "add_task", arguments: { title: `Batched ${id}` } },
    });
    const response = await fetch(`${baseUrl}/mcp`, {
      method: "POST",
      headers: {
        ...user.headers,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify([add(1), add(2)]),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "body", message: expect.stringMatching(/one JSON-RPC message/) }],
    });
    const client = await connect(user);
    expect((await call(client, "list_tasks")).tasks).toEqual([]);
  });

  it("answers GET and DELETE with 405, since it keeps no sessions", async () => {
    const user = await signUp(t.app);
    for (const method of ["GET", "DELETE"]) {
      const response = await t.app.inject({
        method: method as "GET",
        url: "/mcp",
        headers: user.headers,
      });
      expectProblem(response, 405, "method_not_allowed");
      expect(response.headers.allow).toBe("POST");
    }
  });
});
