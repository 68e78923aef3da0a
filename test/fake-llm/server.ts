/**
 * TEST DOUBLE: a fake LLM vendor. It is not OpenAI, Anthropic or Ollama; it
 * only speaks their wire formats on loopback so that the real AI SDK clients
 * (and therefore the production code paths) can be exercised without a
 * network. Every answer says so: the `x-test-double` header and a model name
 * prefixed with `test-double/`.
 *
 * Three vendors share one server, each under its own path prefix and with its
 * own script queue:
 *   /openai/v1      OpenAI Responses API (`/responses`), Chat Completions, `/embeddings`
 *                   and `/moderations` (its own queue and record, below)
 *   /anthropic/v1   Anthropic Messages API (`/messages`)
 *   /compatible/v1  an OpenAI-compatible server such as Ollama (`/chat/completions`, `/embeddings`)
 * Each request takes the next scripted reply of its vendor (or the default).
 * A `text` reply to `/embeddings` answers with the vectors of the test's
 * embedder (`embedWith`); the other replies (errors, hangs) work as for chat.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { anthropicWire } from "./anthropic.ts";
import { chatCompletionsWire, responsesWire } from "./openai.ts";
import type { FakeReply, RecordedRequest, ScriptedCall, Vendor, Wire, WireCall } from "./types.ts";

export type { FakeReply, RecordedRequest, ScriptedCall, Vendor } from "./types.ts";

export const testDoubleHeader = "x-test-double";

/** What the fake `/moderations` answers: a verdict (default: not flagged), an HTTP error or nothing. */
export type ModerationReply =
  | { kind: "verdict"; flagged: boolean; categories?: string[] }
  | { kind: "status"; status: number }
  | { kind: "hang" };

export type RecordedModeration = { input: unknown; model: unknown; authorization: string };

export type FakeVendor = {
  url: string;
  baseUrl: (vendor: Vendor) => string;
  /** Queues replies for the next requests to a vendor, in order. */
  script: (vendor: Vendor, ...replies: FakeReply[]) => void;
  /** How `/embeddings` turns each input text into a vector (default: a meaningless 8-number hash). */
  embedWith: (embedder: (text: string) => number[]) => void;
  /** The reply used once a vendor's queue is empty. */
  setDefault: (vendor: Vendor, reply: FakeReply) => void;
  requests: RecordedRequest[];
  /** Queues replies for the next `/moderations` requests (kept apart from the chat script). */
  moderate: (...replies: ModerationReply[]) => void;
  /** The `/moderations` requests, oldest first (not in `requests`). */
  moderations: RecordedModeration[];
  /** Resolves when `count` requests to a vendor have finished (answered or cut off). */
  waitForFinished: (vendor: Vendor, count: number) => Promise<RecordedRequest[]>;
  reset: () => void;
  close: () => Promise<void>;
};

const defaultReply: FakeReply = { kind: "text", text: "Fake vendor answer." };

function routeOf(vendor: Vendor, path: string): Wire | undefined {
  if (vendor === "anthropic") return path === "/messages" ? anthropicWire : undefined;
  // Embeddings answer in their own shape (below); errors look like chat's.
  if (path === "/chat/completions" || path === "/embeddings") return chatCompletionsWire;
  if (vendor === "openai" && path === "/responses") return responsesWire;
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let callCounter = 0;
/** Vendors name each tool call; the double numbers them. */
const withId = (call: ScriptedCall): WireCall => ({ ...call, id: `call_test_${++callCounter}` });

/** Splits a text into streaming deltas of a few words each. */
export function chunksOf(text: string, wordsPerChunk = 3): string[] {
  const words = text.match(/\S+\s*/g) ?? [text];
  const chunks: string[] = [];
  for (let index = 0; index < words.length; index += wordsPerChunk) {
    chunks.push(words.slice(index, index + wordsPerChunk).join(""));
  }
  return chunks.length > 0 ? chunks : [""];
}

/** Test double vectors: deterministic and meaningless, unless a test sets an embedder. */
function hashVector(text: string): number[] {
  const vector = new Array<number>(8).fill(0);
  for (let index = 0; index < text.length; index++) {
    const slot = index % 8;
    vector[slot] = (vector[slot] ?? 0) + text.charCodeAt(index);
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}

export async function startFakeVendor(): Promise<FakeVendor> {
  let embedder = hashVector;
  const queues = new Map<Vendor, FakeReply[]>();
  const defaults = new Map<Vendor, FakeReply>();
  const requests: RecordedRequest[] = [];
  const moderationQueue: ModerationReply[] = [];
  const moderations: RecordedModeration[] = [];
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };

  const server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    response.setHeader(testDoubleHeader, "taskpilot fake LLM vendor (not a real provider)");
    const match = /^\/(openai|anthropic|compatible)\/v1(\/[a-z/]+)$/.exec(request.url ?? "");
    if (match?.[1] === "openai" && match[2] === "/moderations" && request.method === "POST") {
      await answerModeration(request, response);
      return;
    }
    const vendor = match?.[1] as Vendor | undefined;
    const wire = vendor && match?.[2] ? routeOf(vendor, match[2]) : undefined;
    if (!vendor || !wire || request.method !== "POST") {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: "unknown test-double route" } }));
      return;
    }
    const raw = await readBody(request);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // Recorded as is; the reply below still follows the script.
    }
    const reply = queues.get(vendor)?.shift() ?? defaults.get(vendor) ?? defaultReply;
    const record: RecordedRequest = {
      vendor,
      path: match?.[2] ?? "",
      headers: request.headers,
      rawBody: raw,
      body,
      stream: body.stream === true,
      chunksSent: 0,
      clientClosed: false,
      finished: false,
    };
    requests.push(record);
    response.on("close", () => {
      if (!response.writableFinished) record.clientClosed = true;
      record.finished = true;
      notify();
    });
    await answer(wire, reply, record, response);
  }

  async function answerModeration(request: IncomingMessage, response: ServerResponse) {
    const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    moderations.push({
      input: body.input,
      model: body.model,
      authorization: String(request.headers.authorization ?? ""),
    });
    const reply = moderationQueue.shift() ?? { kind: "verdict", flagged: false };
    if (reply.kind === "hang") return;
    if (reply.kind === "status") {
      response.writeHead(reply.status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: "test-double moderation failure" } }));
      return;
    }
    const names = ["harassment", "hate", "self-harm", "sexual", "violence"];
    const categories = Object.fromEntries(
      [...new Set([...names, ...(reply.categories ?? [])])].map((name) => [
        name,
        reply.categories?.includes(name) ?? false,
      ]),
    );
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        id: "modr-test-double",
        model: `test-double/${String(body.model ?? "unknown")}`,
        results: [{ flagged: reply.flagged, categories }],
      }),
    );
  }

  async function answer(
    wire: Wire,
    reply: FakeReply,
    record: RecordedRequest,
    res: ServerResponse,
  ) {
    const model = `test-double/${String(record.body.model ?? "unknown")}`;
    switch (reply.kind) {
      case "hang":
        return; // never answers; the client's timeout or abort ends it
      case "status": {
        if (reply.delayMs) await sleep(reply.delayMs);
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (reply.retryAfter !== undefined) headers["retry-after"] = reply.retryAfter;
        res.writeHead(reply.status, headers);
        res.end(reply.body ?? JSON.stringify(wire.errorBody(reply.status)));
        return;
      }
      case "malformed":
        res.writeHead(200, {
          "content-type": record.stream ? "text/event-stream" : "application/json",
        });
        res.end(record.stream ? "data: {this is not json\n\n" : '{"id": "broken", "output": [');
        return;
      case "respond":
        return answer(wire, reply.reply(record), record, res);
      case "tools":
      case "text": {
        if (reply.delayMs) await sleep(reply.delayMs);
        const text = reply.text ?? "";
        const calls = reply.kind === "tools" ? reply.calls.map(withId) : [];
        const usage = {
          inputTokens: reply.usage?.inputTokens ?? Math.ceil(record.rawBody.length / 4),
          outputTokens:
            reply.usage?.outputTokens ?? Math.ceil((text + JSON.stringify(calls)).length / 4),
        };
        if (record.path === "/embeddings") {
          const input = record.body.input;
          const texts = Array.isArray(input) ? input.map(String) : [String(input)];
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              object: "list",
              model,
              data: texts.map((text, index) => ({
                object: "embedding",
                index,
                embedding: embedder(text),
              })),
              usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens },
            }),
          );
          return;
        }
        if (!record.stream) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(wire.json({ model, text, calls, usage })));
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const chunks = reply.kind === "text" ? (reply.chunks ?? chunksOf(text)) : chunksOf(text);
        const events = wire.stream({ model, chunks, calls, usage });
        const pacing: { chunkDelayMs?: number; stopAfterChunks?: number } =
          reply.kind === "text" ? reply : {};
        for (const event of events) {
          if (res.destroyed || record.clientClosed) return;
          if (event.delta) {
            if (pacing.chunkDelayMs && record.chunksSent > 0) await sleep(pacing.chunkDelayMs);
            if (res.destroyed || record.clientClosed) return;
            record.chunksSent++;
          }
          res.write(event.data);
          if (
            event.delta &&
            pacing.stopAfterChunks &&
            record.chunksSent >= pacing.stopAfterChunks
          ) {
            return; // a stream that stalls mid-way
          }
        }
        res.end();
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseUrl: (vendor) => `${url}/${vendor}/v1`,
    script: (vendor, ...replies) => {
      queues.set(vendor, [...(queues.get(vendor) ?? []), ...replies]);
    },
    embedWith: (next) => {
      embedder = next;
    },
    setDefault: (vendor, reply) => {
      defaults.set(vendor, reply);
    },
    requests,
    moderate: (...replies) => {
      moderationQueue.push(...replies);
    },
    moderations,
    waitForFinished: async (vendor, count) => {
      const done = () => requests.filter((r) => r.vendor === vendor && r.finished);
      while (done().length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return done();
    },
    reset: () => {
      embedder = hashVector;
      queues.clear();
      defaults.clear();
      requests.length = 0;
      moderationQueue.length = 0;
      moderations.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
