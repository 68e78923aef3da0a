/**
 * Optional CPU profile of the server's thread during an API run, summarised
 * as self time per package so the per-request costs are visible at a glance.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import type { Profiler } from "node:inspector";
import { Session } from "node:inspector/promises";
import { dirname } from "node:path";

export type ProfileSummary = {
  file: string;
  samples: number;
  /** Share of busy (non-idle) samples by where the code lives. */
  byPackage: Array<{ name: string; percent: number }>;
  topFunctions: Array<{ name: string; where: string; percent: number }>;
};

function packageOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const nodeModules = url.lastIndexOf("node_modules/");
  if (nodeModules >= 0) {
    const rest = url.slice(nodeModules + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith("node:")) return "node internals";
  if (url.includes("/src/")) return "taskpilot src";
  if (url.includes("/bench/")) return "bench";
  return url;
}

export async function startProfile(): Promise<(file: string) => Promise<ProfileSummary>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return async (file) => {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    return summariseProfile(profile, file);
  };
}

export function summariseProfile(profile: Profiler.Profile, file: string): ProfileSummary {
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  let busy = 0;
  let samples = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    samples += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    busy += hits;
    const where = packageOf(url, functionName);
    byPackage.set(where, (byPackage.get(where) ?? 0) + hits);
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = byFunction.get(key) ?? {
      name: functionName || "(anonymous)",
      where: `${where}${url ? ` ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}` : ""}`,
      hits: 0,
    };
    entry.hits += hits;
    byFunction.set(key, entry);
  }
  const percent = (hits: number) => Math.round((1000 * hits) / Math.max(1, busy)) / 10;
  return {
    file,
    samples,
    byPackage: [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([name, hits]) => ({ name, percent: percent(hits) })),
    topFunctions: [...byFunction.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, 20)
      .map((entry) => ({ name: entry.name, where: entry.where, percent: percent(entry.hits) })),
  };
}
