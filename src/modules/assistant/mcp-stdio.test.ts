import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { openTestDatabase, signUp, type TestUser } from "../../../test/harness.ts";
import { processTestTimeoutMs, projectRoot, tempDir } from "../../../test/server-process.ts";
import { createTask, getTask, listTitles, type Task } from "../../../test/tasks-helpers.ts";
import type { App } from "../../app.ts";
import { loadConfig } from "../../config.ts";
import { startFromConfig } from "../../server.ts";
import { createApiKey } from "../api-keys/test-helpers.ts";

const authSecret = "stdio-test-secret-stdio-test-secret-0123";
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Where the child process finds its data: an embedded database on disk, or
 * a fresh database on the server in DATABASE_URL. PGlite on disk serves one
 * process at a time, so the test's own app is closed while the child runs.
 */
async function openStore(): Promise<Record<string, string>> {
  if (!process.env.DATABASE_URL) {
    const dir = tempDir("mcp-stdio");
    cleanups.push(dir.remove);
    return { DATA_DIR: dir.path };
  }
  const database = await openTestDatabase({ migrate: false });
  cleanups.push(database.drop);
  return { DATABASE_URL: database.url ?? "", AUTH_SECRET: authSecret };
}

/** Runs `work` against the app started the way main.ts does, then stops it. */
async function withApp<T>(env: Record<string, string>, work: (app: App) => Promise<T>) {
  const config = loadConfig({ ...env, LOG_LEVEL: "silent" });
  // Load shedding off: on a busy machine it answered this setup's requests 503.
  const { app, database } = await startFromConfig(config, {
    authRateLimit: false,
    overload: false,
  });
  try {
    await app.ready();
    return await work(app);
  } finally {
    await app.close();
    await database.close();
  }
}

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `taskpilot mcp` through the bin launcher, driven by the official SDK client. */
async function connectStdio(env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(projectRoot, "bin", "taskpilot.js"), "mcp"],
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: "taskpilot-stdio-test", version: "1.0.0" });
  const close = async () => {
    const pid = transport.pid;
    await client.close();
    // The launcher exits after the server did; only then is the database free again.
    for (let waited = 0; pid !== null && alive(pid) && waited < 30_000; waited += 100) {
      await sleep(100);
    }
  };
  return { client, transport, stderr: () => stderr, close };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
}

describe("taskpilot mcp (stdio)", { timeout: processTestTimeoutMs }, () => {
  it("serves every tool to the SDK client as the owner of TASKPILOT_API_KEY", async () => {
    const store = await openStore();
    const { user, key, dentist, rent } = await withApp(store, async (app) => {
      const owner = await signUp(app, "Stdio Sam");
      return {
        user: owner,
        key: await createApiKey(app, owner, { scopes: ["tasks:read", "tasks:write"] }),
        dentist: await createTask(app, owner, { title: "Dentist", priority: "high" }),
        rent: await createTask(app, owner, { title: "Pay rent" }),
      };
    });

    const stdio = await connectStdio({ ...store, TASKPILOT_API_KEY: key.key });
    let added: Task;
    try {
      await stdio.client.connect(stdio.transport);
      expect(stdio.client.getServerVersion()?.name).toBe("taskpilot");
      const { tools } = await stdio.client.listTools();
      expect(tools.find((tool) => tool.name === "delete_task")?.annotations).toMatchObject({
        destructiveHint: true,
      });
      expect(tools.find((tool) => tool.name === "list_tasks")?.annotations).toMatchObject({
        readOnlyHint: true,
      });

      added = (
        (await call(stdio.client, "add_task", { text: "Water plants @home p3" })) as {
          task: Task;
        }
      ).task;
      expect(added).toMatchObject({ title: "Water plants", tags: ["home"], priority: "medium" });
      const listed = (await call(stdio.client, "list_tasks", { sort: "title" })) as {
        tasks: Task[];
      };
      expect(listed.tasks.map((task) => task.title)).toEqual([
        "Dentist",
        "Pay rent",
        "Water plants",
      ]);
      const found = (await call(stdio.client, "search_tasks", { q: "rent" })) as { tasks: Task[] };
      expect(found.tasks.map((task) => task.id)).toEqual([rent.id]);
      await call(stdio.client, "update_task", { id: dentist.id, title: "Dentist at 3" });
      await call(stdio.client, "complete_task", { id: rent.id });
      await call(stdio.client, "delete_task", { id: added.id });
      expect(await call(stdio.client, "get_profile")).toMatchObject({
        id: user.id,
        name: "Stdio Sam",
      });
      const missing = (await stdio.client.callTool({
        name: "complete_task",
        arguments: { id: "0190f5a0-0000-7000-8000-000000000000" },
      })) as CallToolResult;
      expect(missing.isError).toBe(true);
      expect(JSON.stringify(missing.content)).toContain("not_found");
    } finally {
      await stdio.close();
    }
    // Logs went to stderr: stdout carried only the protocol, or the client would have failed.
    expect(stdio.stderr()).toContain("Taskpilot MCP server on stdio");

    await withApp(store, async (app) => {
      const owner: TestUser = user;
      expect((await getTask(app, owner, dentist.id)).title).toBe("Dentist at 3");
      expect((await getTask(app, owner, rent.id)).status).toBe("completed");
      expect(await listTitles(app, owner, { status: "all" })).toEqual(["Dentist at 3", "Pay rent"]);
    });
  });

  it("refuses to start without a credential, or with one that is not accepted", async () => {
    const store = await openStore();
    const none = await connectStdio(store);
    await expect(none.client.connect(none.transport)).rejects.toThrow();
    await none.close();
    expect(none.stderr()).toContain("Set TASKPILOT_API_KEY");

    const wrong = await connectStdio({ ...store, TASKPILOT_API_KEY: "tp_not-a-key" });
    await expect(wrong.client.connect(wrong.transport)).rejects.toThrow();
    await wrong.close();
    expect(wrong.stderr()).toContain("was not accepted");
  });
});
