import type { App } from "../../src/app.ts";
import type { TestUser } from "../harness.ts";

export type SseEvent = { event: string; data: unknown };

/** The events of a text/event-stream body. */
export function parseSse(body: string): SseEvent[] {
  return body
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? "null";
      return { event, data: JSON.parse(data) as unknown };
    });
}

/** POST to an AI route, as JSON or (stream: true) as server-sent events. */
export function aiPost(
  app: App,
  user: TestUser,
  url: string,
  body?: Record<string, unknown>,
  options: { stream?: boolean } = {},
) {
  return app.inject({
    method: "POST",
    url,
    headers: {
      ...user.headers,
      ...(options.stream ? { accept: "text/event-stream" } : {}),
    },
    ...(body ? { payload: body } : {}),
  });
}

/** The text of the delta events, joined. */
export function streamedText(events: SseEvent[]): string {
  return events
    .filter((event) => event.event === "delta")
    .map((event) => (event.data as { text: string }).text)
    .join("");
}

/** Every string inside a JSON value, in order. */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}

export type DataBlock = { name: string; flagged: boolean; value: unknown };

/**
 * The data blocks a request carried to the vendor (tool results, in any
 * vendor's format), oldest first, parsed back from their escaped JSON.
 */
export function dataBlocksIn(body: unknown): DataBlock[] {
  return stringsIn(body).flatMap((text) =>
    [...text.matchAll(/<data name="(\w+)"([^>]*)>\n([\s\S]*?)\n<\/data>/g)].map((match) => ({
      name: match[1] ?? "",
      flagged: (match[2] ?? "").includes("possible-prompt-injection"),
      value: JSON.parse(match[3] ?? "null") as unknown,
    })),
  );
}

/** The names of the tools a request offered the model (OpenAI, Anthropic or chat completions). */
export function offeredTools(body: Record<string, unknown>): string[] {
  const tools = (body.tools ?? []) as Array<{ name?: string; function?: { name: string } }>;
  return tools.map((tool) => tool.name ?? tool.function?.name ?? "");
}
