import { readFileSync } from "node:fs";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { round } from "./stats.ts";

/**
 * What else happened in each second of a paced run, to explain a second
 * whose p95 jumps: was the server's event loop blocked (and by a GC pause),
 * or was the whole VM held up (CPU steal, I/O wait)? Sampled in the thread
 * that hosts the server; seconds count from the end of the paced run's
 * warm-up, timed from `watchStalls()`, which the run calls just before it
 * starts the load generator (whose own clock starts when its worker is up,
 * some milliseconds later).
 */
export type StallsBySecond = {
  /** The server thread's longest event-loop delay in each second (ms, 10 ms resolution). */
  loopDelayMaxMs: number[];
  /** Time the server thread spent in GC pauses in each second (ms). */
  gcPauseMs: number[];
  /** The longest single GC pause in each second (ms). */
  gcPauseMaxMs: number[];
  /** Of `gcPauseMs`, the time in major (mark-compact) collections (ms). */
  majorGcPauseMs: number[];
  /** Share of the machine's CPU time stolen by the hypervisor in each second (%, Linux). */
  stealPercent: number[] | null;
  /** Share of the machine's CPU time idle waiting for I/O in each second (%, Linux). */
  ioWaitPercent: number[] | null;
};

type CpuTimes = { total: number; steal: number; ioWait: number };

/** The machine-wide `cpu` line of /proc/stat, or null off Linux. */
function cpuTimes(): CpuTimes | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest fields are inside user)
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { total, ioWait: fields[4] ?? 0, steal: fields[7] ?? 0 };
  } catch {
    return null;
  }
}

export function watchStalls(warmupSeconds: number): { stop(): StallsBySecond } {
  const start = performance.now() + warmupSeconds * 1000;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  const loopDelayMaxMs: number[] = [];
  const gcPauseMs: number[] = [];
  const gcPauseMaxMs: number[] = [];
  const majorGcPauseMs: number[] = [];
  const steal: number[] = [];
  const ioWait: number[] = [];
  let lastCpu: CpuTimes | null = null;

  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.startTime < start) continue;
      const second = Math.floor((entry.startTime - start) / 1000);
      gcPauseMs[second] = (gcPauseMs[second] ?? 0) + entry.duration;
      gcPauseMaxMs[second] = Math.max(gcPauseMaxMs[second] ?? 0, entry.duration);
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        majorGcPauseMs[second] = (majorGcPauseMs[second] ?? 0) + entry.duration;
      }
    }
  });
  gc.observe({ entryTypes: ["gc"] });

  const sample = () => {
    // A blocked loop makes this tick late; the histogram still holds the delay.
    loopDelayMaxMs.push(histogram.max / 1e6);
    histogram.reset();
    const cpu = cpuTimes();
    if (cpu && lastCpu) {
      const total = Math.max(1, cpu.total - lastCpu.total);
      steal.push((100 * (cpu.steal - lastCpu.steal)) / total);
      ioWait.push((100 * (cpu.ioWait - lastCpu.ioWait)) / total);
    }
    lastCpu = cpu;
  };
  let timer: NodeJS.Timeout | undefined;
  // Seconds count from the end of the generator's warm-up.
  const begin = setTimeout(() => {
    histogram.enable();
    lastCpu = cpuTimes();
    timer = setInterval(sample, 1000);
  }, warmupSeconds * 1000);

  return {
    stop() {
      clearTimeout(begin);
      clearInterval(timer);
      sample();
      histogram.disable();
      gc.disconnect();
      const seconds = loopDelayMaxMs.length;
      const filled = (values: number[]) =>
        Array.from({ length: seconds }, (_, i) => round(values[i] ?? 0, 1));
      return {
        loopDelayMaxMs: filled(loopDelayMaxMs),
        gcPauseMs: filled(gcPauseMs),
        gcPauseMaxMs: filled(gcPauseMaxMs),
        majorGcPauseMs: filled(majorGcPauseMs),
        stealPercent: lastCpu ? filled(steal) : null,
        ioWaitPercent: lastCpu ? filled(ioWait) : null,
      };
    },
  };
}

/** One log line per measure, a number per second. */
export function stallLines(stalls: StallsBySecond): string[] {
  const join = (values: number[]) => values.map((value) => value.toFixed(1)).join(" ");
  const lines = [
    `server event-loop delay, max by second: ${join(stalls.loopDelayMaxMs)}`,
    `server GC pauses by second (sum/longest/major): ${stalls.gcPauseMs
      .map(
        (sum, i) =>
          `${sum.toFixed(1)}/${(stalls.gcPauseMaxMs[i] ?? 0).toFixed(1)}/${(stalls.majorGcPauseMs[i] ?? 0).toFixed(1)}`,
      )
      .join(" ")}`,
  ];
  if (stalls.stealPercent) lines.push(`CPU steal % by second: ${join(stalls.stealPercent)}`);
  if (stalls.ioWaitPercent) lines.push(`I/O wait % by second: ${join(stalls.ioWaitPercent)}`);
  return lines;
}
