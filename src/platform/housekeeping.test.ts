import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { scheduleChores } from "./housekeeping.ts";

/** An app whose log lines are collected. */
function appWithLog() {
  const lines: Array<Record<string, unknown>> = [];
  const app = Fastify({
    logger: {
      level: "info",
      stream: { write: (line: string) => lines.push(JSON.parse(line)) },
    },
  });
  return { app, lines };
}

const until = async (condition: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("scheduleChores", () => {
  it("runs each chore when the app is ready, then every interval, and stops on close", async () => {
    const { app, lines } = appWithLog();
    let runs = 0;
    scheduleChores(app, [{ name: "test rows", everyMs: 20, run: async () => ++runs }]);
    expect(runs).toBe(0);
    await app.ready();
    await until(() => runs >= 3);
    await app.close();
    const stopped = runs;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(runs).toBe(stopped);
    const logged = lines.filter((line) => line.msg === "housekeeping removed rows");
    expect(logged[0]).toMatchObject({ chore: "test rows", removed: 1 });
  });

  it("logs a failing chore and tries again at the next interval", async () => {
    const { app, lines } = appWithLog();
    let attempts = 0;
    scheduleChores(app, [
      {
        name: "flaky",
        everyMs: 20,
        run: async () => {
          attempts++;
          if (attempts === 1) throw new Error("database unavailable");
          return 0;
        },
      },
    ]);
    await app.ready();
    await until(() => attempts >= 2);
    await app.close();
    const warning = lines.find((line) => line.msg === "housekeeping failed; will retry");
    expect(warning).toMatchObject({ chore: "flaky", level: 40 });
    expect((warning?.err as { message?: string })?.message).toBe("database unavailable");
    // Nothing removed, nothing said.
    expect(lines.some((line) => line.msg === "housekeeping removed rows")).toBe(false);
  });

  it("does not start a chore again while its last run is still going", async () => {
    const { app } = appWithLog();
    let running = 0;
    let most = 0;
    let runs = 0;
    scheduleChores(app, [
      {
        name: "slow",
        everyMs: 5,
        run: async () => {
          running++;
          runs++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 40));
          running--;
          return 0;
        },
      },
    ]);
    await app.ready();
    await until(() => runs >= 2);
    await app.close();
    expect(most).toBe(1);
  });
});
