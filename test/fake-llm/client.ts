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
