import { afterEach, describe, expect, it } from "vitest";
import type { App } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import type { Category } from "../src/modules/categories/contracts.ts";
import type { Task } from "../src/modules/tasks/contracts.ts";
import type { DatabaseHandle } from "../src/platform/db/pool.ts";
import { startFromConfig } from "../src/server.ts";
import { signUp } from "./harness.ts";
import { tempDir } from "./server-process.ts";

type Running = { app: App; database: DatabaseHandle; stop: () => Promise<void> };

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts the app the way main.ts does, on the embedded database in `dataDir`. */
async function start(dataDir: string): Promise<Running> {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent" });
  const { app, database } = await startFromConfig(config, { authRateLimit: false });
  await app.ready();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
    await database.close();
  };
  cleanups.push(stop);
  return { app, database, stop };
}

// Two PGlite starts on disk: seconds each, far more on a busy machine.
describe("an embedded database on disk", { timeout: 120_000 }, () => {
  it("keeps users, sessions, tasks and categories across a restart", async () => {
    const dir = tempDir("restart");
    cleanups.push(dir.remove);

    const first = await start(dir.path);
    const user = await signUp(first.app, "Persistent Pat");
    const signIn = await first.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      payload: { email: user.email, password: "correct horse battery staple" },
    });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
    const category = await first.app.inject({
      method: "POST",
      url: "/v1/categories",
      headers: user.headers,
      payload: { name: "Durable" },
    });
    const created = await first.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: user.headers,
      payload: { title: "Survive a restart", categoryId: category.json<Category>().id },
    });
    expect(created.statusCode).toBe(201);
    const task = created.json<Task>();
    await first.stop();

    const second = await start(dir.path);
    expect(second.database.kind).toBe("pglite");
    const read = await second.app.inject({ url: `/v1/tasks/${task.id}`, headers: user.headers });
    expect(read.statusCode).toBe(200);
    expect(read.json<Task>()).toEqual(task);

    const categories = await second.app.inject({ url: "/v1/categories", headers: user.headers });
    expect(categories.json<{ data: Category[] }>().data).toMatchObject([
      { name: "Durable", taskCount: 1 },
    ]);
    const byCookie = await second.app.inject({ url: "/v1/me", headers: { cookie } });
    expect(byCookie.statusCode).toBe(200);
    expect(byCookie.json<{ name: string }>().name).toBe("Persistent Pat");
  });
});
