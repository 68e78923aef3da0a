import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "./server-process.ts";

export type RedisServer = {
  url: string;
  port: number;
  /** SIGKILLs the server, as a crash would, and waits until it is gone. */
  kill: () => Promise<void>;
  /** Starts a fresh (empty) server on the same port. */
  restart: () => Promise<void>;
};

/**
 * A private redis-server on a free loopback port (or the given one, to come
 * back where a killed one was), for tests that stop it. It keeps nothing on
 * disk; the shared Redis on 6379 is never touched.
 */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async () => {
    const started = spawn(
      "redis-server",
      ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = started;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start: ${output}`)),
        10_000,
      );
      started.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
  };

  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };

  await start();
  return { url: `redis://127.0.0.1:${chosen}`, port: chosen, kill, restart: start };
}
