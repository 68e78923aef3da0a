import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, processTestTimeoutMs, startServer, tempDir } from "./server-process.ts";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything the server sends until it closes the connection. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.once("error", reject);
    socket.once("close", () => resolve(received));
  });
}

/** `promise`, or a clear failure once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Pino's JSON log lines from the server's stdout. */
function logLines(stdout: string): Array<{ msg?: string; level?: number }> {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; level?: number });
}

describe("graceful shutdown", { timeout: processTestTimeoutMs }, () => {
  it("finishes the in-flight request on SIGTERM, logs stopped and exits 0", async () => {
    const dir = tempDir("shutdown");
    cleanups.push(dir.remove);
    const port = await freePort();
    const server = startServer({ PORT: String(port), DATA_DIR: dir.path, LOG_LEVEL: "debug" });
    cleanups.push(server.kill);
    await server.waitForOutput("Taskpilot is ready");
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);

    // A request whose body is only half sent stays in flight for as long as we like.
    const body = JSON.stringify({
      name: "Late Lee",
      email: `late-${randomUUID()}@example.com`,
      password: "correct horse battery staple",
    });
    const split = Math.floor(body.length / 2);
    const socket = await connectTo(port);
    const response = readAll(socket);
    socket.write(
      [
        "POST /api/auth/sign-up/email HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        "Content-Type: application/json",
        `Content-Length: ${Buffer.byteLength(body)}`,
        "",
        body.slice(0, split),
      ].join("\r\n"),
    );
    await server.waitForOutput("/api/auth/sign-up/email");

    server.child.kill("SIGTERM");
    await server.waitForOutput("shutting down");
    // Not end(): a half-closed request is aborted by Node before it is answered.
    socket.write(body.slice(split));

    const raw = await within(response, 30_000, "the in-flight answer and connection close");
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw).toContain('"token"');
    expect(await within(server.exited, 30_000, "exiting after SIGTERM")).toBe(0);
    const messages = logLines(server.stdout()).map((line) => line.msg);
    expect(messages).toContain("stopped");
    expect(messages.indexOf("stopped")).toBeGreaterThan(messages.lastIndexOf("request completed"));
    expect(server.stderr()).toBe("");
  });
});
