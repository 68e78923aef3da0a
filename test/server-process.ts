import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = fileURLToPath(new URL("..", import.meta.url));
const nodeBinary = join(projectRoot, "node_modules", ".bin", "node");

/**
 * How long a spawned server may take to come up. PGlite's WASM start plus
 * migrations take a few seconds alone, far longer on a busy CI machine.
 */
export const startupTimeoutMs = 90_000;

/** Per-test timeout for tests that spawn a server. */
export const processTestTimeoutMs = 150_000;

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `taskpilot-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A port that was free a moment ago (the OS picked it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

export type ServerProcess = {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Resolves once stdout contains `text`; rejects on exit or after `timeoutMs`. */
  waitForOutput: (text: string, timeoutMs?: number) => Promise<void>;
  /** SIGKILLs the process if it is still running. */
  kill: () => Promise<void>;
};

/** What `npm start` runs: the tracing preload (inert without OTEL_* settings), then main. */
const serverArgs = ["--import", "./src/platform/observability/tracing.ts", "src/main.ts"];

/**
 * Runs `src/main.ts` the way production does (`npm start`), with exactly the
 * environment given (plus PATH), so the developer's shell cannot leak into the test.
 */
export function startServer(env: Record<string, string>): ServerProcess {
  const child = spawn(nodeBinary, serverArgs, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const waitForOutput = (text: string, timeoutMs = startupTimeoutMs) =>
    new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.off("exit", onExit);
        if (error) reject(error);
        else resolve();
      };
      const onData = () => {
        if (out.includes(text)) finish();
      };
      const onExit = () => finish(new Error(`exited before "${text}"; stderr: ${err}`));
      const timer = setTimeout(
        () => finish(new Error(`timed out waiting for "${text}"; stdout: ${out.slice(-2000)}`)),
        timeoutMs,
      );
      child.stdout?.on("data", onData);
      child.once("exit", onExit);
      if (out.includes(text)) finish();
      else if (!running) onExit();
    });

  const kill = async () => {
    if (!running) return;
    child.kill("SIGKILL");
    await exited;
  };

  return { child, stdout: () => out, stderr: () => err, exited, waitForOutput, kill };
}
