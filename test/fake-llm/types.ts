import type { IncomingHttpHeaders } from "node:http";

/** TEST DOUBLE types: the vendors the fake server imitates and what it can be told to do. */
export type Vendor = "openai" | "anthropic" | "compatible";

export type FakeReply =
  /** A normal answer; streamed in `chunks` (default: a few words each) when the client streams. */
  | {
      kind: "text";
      text: string;
      chunks?: string[];
      /** Wait before answering at all. */
      delayMs?: number;
      /** Wait between streamed chunks (a slow stream). */
      chunkDelayMs?: number;
      /** Stop sending after this many chunks and keep the connection open (a stalled stream). */
      stopAfterChunks?: number;
      usage?: { inputTokens?: number; outputTokens?: number };
    }
  /**
   * An answer that calls tools, after some text if given, in the vendor's
   * own tool-call format (JSON or streamed). Usage as for "text".
   */
  | {
      kind: "tools";
      calls: ScriptedCall[];
      text?: string;
      delayMs?: number;
      usage?: { inputTokens?: number; outputTokens?: number };
    }
  /** A reply decided from the request itself (e.g. from a tool result the client sent). */
  | { kind: "respond"; reply: (request: RecordedRequest) => FakeReply }
  /** An HTTP error, e.g. 429 with Retry-After or a 500. */
  | { kind: "status"; status: number; retryAfter?: string; body?: string; delayMs?: number }
  /** Accepts the request and never answers. */
  | { kind: "hang" }
  /** 200 with a body that is not valid JSON (or not a valid event stream). */
  | { kind: "malformed" };

export type RecordedRequest = {
  vendor: Vendor;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** Text chunks written before the answer ended or the client went away. */
  chunksSent: number;
  /** The client closed the connection before the answer was complete. */
  clientClosed: boolean;
  finished: boolean;
};

export type Usage = { inputTokens: number; outputTokens: number };

/** A tool call the fake model makes. */
export type ScriptedCall = { name: string; input: Record<string, unknown> };

/** A scripted call with the id the vendor gives it. */
export type WireCall = ScriptedCall & { id: string };

/** One vendor's wire format. */
export type Wire = {
  json: (input: { model: string; text: string; calls: WireCall[]; usage: Usage }) => unknown;
  /** Server-sent events in order; `delta` marks the ones that carry text. */
  stream: (input: {
    model: string;
    chunks: string[];
    calls: WireCall[];
    usage: Usage;
  }) => Array<{ data: string; delta?: boolean }>;
  errorBody: (status: number) => unknown;
};
