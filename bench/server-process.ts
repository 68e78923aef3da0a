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
  extra: { execArgv?: string[]; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const child = fork(join(process.cwd(), "bench/ab-server.ts"), [root], {
    env: { ...process.env, ...extra.env, AB_DATABASE_URL: databaseUrl },
    execArgv: [...process.execArgv, ...(extra.execArgv ?? [])],
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

/** The middle value; for an even count the mean of the two middle ones. NaN for none. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
