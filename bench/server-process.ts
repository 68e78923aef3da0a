import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type ServerProcess = { port: number; pid: number; child: ChildProcess };

/**
 * Serves a checkout's app in a process of its own (`bench/ab-server.ts`: the
 * bench's settings, logging as that checkout's `npm start` does, to
 * /dev/null) on a database another process seeded. Resolves with its port.
 */
export async function startServerProcess(
  root: string,
  databaseUrl: string,
  label: string,
): Promise<ServerProcess> {
  const child = fork(join(process.cwd(), "bench/ab-server.ts"), [root], {
    env: { ...process.env, AB_DATABASE_URL: databaseUrl },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once("message", (message: { port: number }) => resolve(message.port));
      child.once("exit", (code) => reject(new Error(`${label} exited with ${code}`)));
    });
    return { port, pid: child.pid ?? 0, child };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** utime + stime of every thread of a process, in ms (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
