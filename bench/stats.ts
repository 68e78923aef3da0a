export type LatencySummary = {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
};

/** Nearest-rank percentiles over every recorded latency (milliseconds). */
export function summarize(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const count = sorted.length;
  if (count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const at = (p: number) => sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)] ?? 0;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count,
    mean: sum / count,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: sorted[count - 1] ?? 0,
  };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function concatSamples(parts: readonly Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
