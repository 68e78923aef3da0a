/**
 * npm run bench:ai — what the AI layer itself costs, against the fake vendor
 * (a test double on loopback, test/fake-llm) so the numbers exclude any real
 * model. Each sample pairs a direct AI SDK call to the vendor with the same
 * call through the layer (router, budget lookup, ledger row, cache,
 * safety), interleaved so both see the same machine noise.
 *
 *   --samples N   paired samples per measurement (default 300)
 *   DATABASE_URL  run the ledger on that Postgres (a fresh database) instead of PGlite
 */
import "../src/platform/runtime.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { AiGateway, type AiRequest } from "../src/modules/ai/gateway.ts";
import { renderPrompt } from "../src/modules/ai/prompts.ts";
import { aiSettingsFromEnv } from "../src/modules/ai/settings.ts";
import { createPersonalWorkspace } from "../src/modules/workspaces/service.ts";
import { user } from "../src/platform/auth/schema.ts";
import type { Context } from "../src/platform/context.ts";
import { startChangeFeed } from "../src/platform/db/change-feed.ts";
import { startFakeVendor } from "../test/fake-llm/server.ts";
import { openTestDatabase } from "../test/harness.ts";
import { parseFlags } from "./cli.ts";
import { describeMachine } from "./report.ts";
import { type LatencySummary, round, summarize } from "./stats.ts";

const flags = parseFlags("npm run bench:ai [-- --samples 300]", {
  options: { samples: { type: "string", default: "300" } },
});
const samples = flags.integer("samples", flags.values.samples);
const warmup = Math.min(50, Math.ceil(samples / 5));

const fake = await startFakeVendor();
fake.setDefault("openai", {
  kind: "text",
  text: "Write the report: the draft is done, two sections are left, due Friday.",
});
const database = await openTestDatabase();
const log = pino({ level: "silent" });
const userId = uuidv7();
await database.db
  .insert(user)
  .values({ id: userId, name: "Bench", email: `bench-${userId}@example.com` });
const workspaceId = await createPersonalWorkspace(
  database.db,
  { id: userId, name: "Bench" },
  new Date(),
);
const ctx: Context = {
  actor: {
    type: "user",
    via: "session",
    userId,
    name: "Bench",
    email: "bench@example.com",
    timezone: "UTC",
  },
  db: database.db,
  requestId: "bench",
  now: () => new Date(),
  log,
};

const env = {
  OPENAI_API_KEY: "test-double-key",
  OPENAI_BASE_URL: fake.baseUrl("openai"),
  AI_ROUTES: JSON.stringify({ summary: ["openai", "local"] }),
};
// As in the app: the workspace's settings are remembered until the database announces a change.
const changes = await startChangeFeed(database, log);
const gateway = (cache: boolean) =>
  new AiGateway({
    changes,
    settings: { ...aiSettingsFromEnv({ ...env, AI_CACHE: cache }), maxRetries: 0 },
    db: database.db,
    redis: undefined,
    now: () => new Date(),
    log,
  });
const uncached = gateway(false);
const cached = gateway(true);

const variables = {
  task: {
    title: "Write the quarterly report",
    description: "Draft done. Sections left: revenue and hiring. Send to Ada by Friday.",
    status: "open" as const,
    priority: "high",
    dueAt: "2026-11-27T17:00:00.000Z",
    completedAt: null,
    tags: ["work"],
  },
  subtasks: [{ title: "Revenue section", status: "open" as const, dueAt: null }],
  activity: [{ type: "task.created", at: "2026-11-20T09:00:00.000Z", by: "Ada" }],
};
const prompt = renderPrompt("summary", variables, { external: true });
const model = createOpenAI({ apiKey: "test-double-key", baseURL: fake.baseUrl("openai") })(
  "gpt-4o-mini",
);

const request = (input: unknown, stream = false, onDelta?: (delta: string) => void): AiRequest => ({
  feature: "summary",
  template: "summary",
  render: (external) => renderPrompt("summary", variables, { external }),
  cacheInput: input,
  // A real summary is of a task in a workspace: the layer reads that
  // workspace's redaction setting and checks its budget too.
  workspaceId,
  maxOutputTokens: 400,
  sanitize: true,
  stream,
  ...(onDelta ? { onDelta } : {}),
});

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Milliseconds to the first streamed text. */
async function firstByte(start: (onDelta: () => void) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let first = 0;
  await start(() => {
    if (first === 0) first = performance.now() - started;
  });
  return first;
}

type Pair = { direct: number[]; layer: number[] };

/** Direct and layer calls in alternating order, so neither always runs second. */
async function paired(direct: () => Promise<number>, layer: () => Promise<number>): Promise<Pair> {
  const pair: Pair = { direct: [], layer: [] };
  for (let index = 0; index < warmup + samples; index++) {
    let directMs: number;
    let layerMs: number;
    if (index % 2 === 0) {
      directMs = await direct();
      layerMs = await layer();
    } else {
      layerMs = await layer();
      directMs = await direct();
    }
    if (index >= warmup) {
      pair.direct.push(directMs);
      pair.layer.push(layerMs);
    }
  }
  return pair;
}

const directCall = () =>
  timed(() => generateText({ model, system: prompt.system, prompt: prompt.user, maxRetries: 0 }));
let counter = 0;
const layerCall = () => timed(() => uncached.run(ctx, request({ n: counter++ })));
const directStream = () =>
  firstByte(async (onDelta) => {
    const result = streamText({
      model,
      system: prompt.system,
      prompt: prompt.user,
      maxRetries: 0,
      onError: () => {},
    });
    for await (const part of result.fullStream) if (part.type === "text-delta") onDelta();
  });
const layerStream = () =>
  firstByte((onDelta) => uncached.run(ctx, request({ n: counter++ }, true, onDelta)));

console.log(`AI layer bench: ${samples} paired samples (+${warmup} warm-up) on ${database.kind}`);
const call = await paired(directCall, layerCall);
const stream = await paired(directStream, layerStream);
await cached.run(ctx, request({ hit: true }));
const hits: number[] = [];
for (let index = 0; index < warmup + samples; index++) {
  const ms = await timed(() => cached.run(ctx, request({ hit: true })));
  if (index >= warmup) hits.push(ms);
}

const view = (summary: LatencySummary) => ({
  p50: round(summary.p50, 3),
  p95: round(summary.p95, 3),
  p99: round(summary.p99, 3),
  mean: round(summary.mean, 3),
});
const added = (pair: Pair) => {
  const direct = summarize(pair.direct);
  const layer = summarize(pair.layer);
  return {
    direct: view(direct),
    layer: view(layer),
    added: { p50: round(layer.p50 - direct.p50, 3), p95: round(layer.p95 - direct.p95, 3) },
  };
};
const result = {
  date: new Date().toISOString(),
  samples,
  machine: describeMachine(database.kind),
  /** 1-minute load average at the end (2 cores: above 2 means other work was queueing). */
  loadAverage1m: round(loadavg()[0] ?? 0, 2),
  call: added(call),
  timeToFirstByte: added(stream),
  cacheHit: view(summarize(hits)),
  targets: { addedP50: 1, addedP95: 3, cacheHitP95: 2, addedTimeToFirstByte: 5 },
};

const md = [
  `# AI layer overhead (${result.date.slice(0, 10)}, ${database.kind})`,
  "",
  `Machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, ${result.machine.os}, Node ${result.machine.node}; 1-minute load average at the end: ${result.loadAverage1m}.`,
  `${samples} paired samples after ${warmup} warm-up; the vendor is the loopback fake (test/fake-llm).`,
  "",
  "| measurement | direct p50 | layer p50 | added p50 | direct p95 | layer p95 | added p95 | target |",
  "|---|---|---|---|---|---|---|---|",
  `| one call (ms) | ${result.call.direct.p50} | ${result.call.layer.p50} | **${result.call.added.p50}** | ${result.call.direct.p95} | ${result.call.layer.p95} | **${result.call.added.p95}** | p50 <= 1, p95 <= 3 added |`,
  `| time to first streamed byte (ms) | ${result.timeToFirstByte.direct.p50} | ${result.timeToFirstByte.layer.p50} | **${result.timeToFirstByte.added.p50}** | ${result.timeToFirstByte.direct.p95} | ${result.timeToFirstByte.layer.p95} | **${result.timeToFirstByte.added.p95}** | <= 5 added |`,
  "",
  `Cache hit (LRU in front of Postgres): p50 ${result.cacheHit.p50} ms, p95 **${result.cacheHit.p95} ms** (target p95 <= 2 ms).`,
  "",
  "Direct = the AI SDK's generateText/streamText against the fake vendor. Layer = AiGateway.run",
  "with the same prompt: budget lookup (remembered per user and workspace for 10 s), circuit",
  "breaker, prompt rendering with PII redaction, output link filtering and a ledger row per call",
  "for the write-behind writer, whose batched INSERTs run in the background of the measured calls",
  "(cache off for the first two rows). The request is in the user's personal workspace, like a",
  "real task's summary: the workspace's redaction setting is read once and then remembered until",
  "the database announces a change to the workspace (change feed).",
  "",
].join("\n");

const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
const name = `${result.date.slice(0, 10)}-ai-${database.kind}`;
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(dir, `${name}.md`), md);
console.log(md);
await uncached.close();
await cached.close();
await changes.close();
await fake.close();
await database.drop();
