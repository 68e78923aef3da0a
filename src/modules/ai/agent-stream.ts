import type { LanguageModelV4StreamPart, LanguageModelV4Usage } from "@ai-sdk/provider";
import { DomainError } from "../../platform/http/errors.ts";
import type { StreamingSanitizer } from "./output-links.ts";
import { CallTimeoutError, classifyFailure, type Failure, outcomeOf } from "./retry.ts";
import { linkSanitizer } from "./safety.ts";
import type { UsageOutcome } from "./schema.ts";

/**
 * One call's abort controller: it follows the client's signals and fires on
 * its own when the model is silent for longer than the timeout (for a
 * stream: before the first part and between parts).
 */
export class CallControl {
  readonly controller = new AbortController();
  readonly client: AbortSignal | undefined;
  #timedOut = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #timeoutMs: number;
  readonly #onClientAbort = () => this.controller.abort(this.client?.reason);

  constructor(signals: Array<AbortSignal | undefined>, timeoutMs: number) {
    const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
    this.client = present.length > 0 ? AbortSignal.any(present) : undefined;
    this.client?.addEventListener("abort", this.#onClientAbort, { once: true });
    this.#timeoutMs = timeoutMs;
    this.arm();
  }

  arm() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.controller.abort(new CallTimeoutError(this.#timeoutMs));
    }, this.#timeoutMs);
  }

  failure(error: unknown): Failure {
    if (this.#timedOut)
      return { kind: "timeout", message: `no answer within ${this.#timeoutMs} ms` };
    return classifyFailure(error, this.client);
  }

  close() {
    clearTimeout(this.#timer);
    this.client?.removeEventListener("abort", this.#onClientAbort);
  }
}

// Parts that say what the model is answering; before one arrives, a failing
// stream can still fall back to the next model without the client noticing.
const preamble = new Set(["stream-start", "response-metadata", "text-start", "reasoning-start"]);
/**
 * Reads a fresh stream up to its first content part. A failure until then is
 * an ordinary failed attempt (retry, then the next model): the caller has
 * seen nothing yet.
 */
export async function readHead(
  reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart>,
  control: CallControl,
): Promise<LanguageModelV4StreamPart[]> {
  const head: LanguageModelV4StreamPart[] = [];
  for (;;) {
    const next = await reader.read();
    if (next.done) return head;
    control.arm();
    if (next.value.type === "error") throw next.value.error;
    head.push(next.value);
    if (!preamble.has(next.value.type)) return head;
  }
}

type ForwardOptions = {
  control: CallControl;
  /** Hosts links and images in the text may point at. */
  allowlist: string[];
  /** The provider failed after content went out. */
  onBroken: () => void;
  /** Called once, however the stream ends, with what the call used and wrote. */
  onEnd: (
    outcome: UsageOutcome,
    usage: LanguageModelV4Usage | undefined,
    written: string,
  ) => Promise<void>;
};

/**
 * The rest of a committed stream: text is link-filtered as it passes (per
 * text block, holding back what may be the start of a link), usage is taken
 * from the finish part, and `onEnd` runs once whether the stream finished,
 * failed or was cancelled by the client. A failure now is an error: falling
 * back after content went out would show the client two answers.
 */
export function forwardStream(
  reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart>,
  head: LanguageModelV4StreamPart[],
  options: ForwardOptions,
): ReadableStream<LanguageModelV4StreamPart> {
  const { control } = options;
  const sanitizers = new Map<string, StreamingSanitizer>();
  const sanitizerFor = (id: string) => {
    let sanitizer = sanitizers.get(id);
    if (!sanitizer) {
      sanitizer = linkSanitizer(options.allowlist);
      sanitizers.set(id, sanitizer);
    }
    return sanitizer;
  };
  let usage: LanguageModelV4Usage | undefined;
  let written = "";
  let ended = false;
  const end = async (outcome: UsageOutcome) => {
    if (ended) return;
    ended = true;
    control.close();
    await options.onEnd(outcome, usage, written);
  };
  const pass = async (part: LanguageModelV4StreamPart): Promise<LanguageModelV4StreamPart[]> => {
    switch (part.type) {
      case "text-delta": {
        written += part.delta;
        const safe = await sanitizerFor(part.id).push(part.delta);
        return safe ? [{ ...part, delta: safe }] : [];
      }
      case "text-end": {
        const rest = await sanitizerFor(part.id).flush();
        return rest ? [{ type: "text-delta", id: part.id, delta: rest }, part] : [part];
      }
      case "finish":
        usage = part.usage;
        return [part];
      default:
        return [part];
    }
  };
  return new ReadableStream<LanguageModelV4StreamPart>({
    start: async (controller) => {
      for (const part of head) for (const out of await pass(part)) controller.enqueue(out);
    },
    pull: async (controller) => {
      try {
        const next = await reader.read();
        if (next.done) {
          await end("ok");
          controller.close();
          return;
        }
        control.arm();
        if (next.value.type === "error") throw next.value.error;
        for (const out of await pass(next.value)) controller.enqueue(out);
      } catch (error) {
        const failure = control.failure(error);
        if (failure.kind !== "aborted") options.onBroken();
        await end(outcomeOf(failure));
        reader.cancel().catch(() => {});
        controller.error(
          failure.kind === "aborted"
            ? error
            : new DomainError("upstream_error", "The AI provider failed while streaming"),
        );
      }
    },
    cancel: async (reason) => {
      control.controller.abort(reason);
      await reader.cancel(reason).catch(() => {});
      await end("aborted");
    },
  });
}
