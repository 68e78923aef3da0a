/**
 * CPU time the Postgres backends serving this benchmark's database used
 * during a run, read from /proc (only when Postgres runs on this machine).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type pg from "pg";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a process, in ms; undefined when we cannot read it. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // A remote server's pid may belong to some unrelated local process.
    if (!stat.includes("(postgres)")) return undefined;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / clockTicks() : undefined;
  } catch {
    return undefined;
  }
}

async function backendTimes(pool: pg.Pool): Promise<Map<number, number> | undefined> {
  const result = await pool.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = current_database()",
  );
  const times = new Map<number, number>();
  for (const { pid } of result.rows) {
    const ms = processCpuMs(pid);
    if (ms === undefined) return undefined;
    times.set(pid, ms);
  }
  return times;
}

export type PgCpuMeter = { stop: () => Promise<number | undefined> };

/** Starts measuring; `stop` answers the backends' CPU ms since, or undefined if unknowable. */
export async function startPgCpu(pool: pg.Pool): Promise<PgCpuMeter> {
  const before = await backendTimes(pool);
  return {
    async stop() {
      if (!before) return undefined;
      const after = await backendTimes(pool);
      if (!after) return undefined;
      let total = 0;
      for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
      return total;
    },
  };
}

/** Whether /proc shows this server's backends (a local Postgres, not PGlite or a remote one). */
export async function canMeasurePgCpu(pool: pg.Pool): Promise<boolean> {
  try {
    return (await backendTimes(pool)) !== undefined;
  } catch {
    return false;
  }
}
