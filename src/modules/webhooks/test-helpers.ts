import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import type { TestUser } from "../../../test/harness.ts";
import type { App } from "../../app.ts";
import type { CreatedWebhook, Delivery, Webhook } from "./contracts.ts";

export type Received = { path: string; headers: IncomingHttpHeaders; body: string };

/**
 * A webhook receiver on loopback: a real HTTP server that records every
 * request and answers with the status its script gives for that path
 * (default 204). `"hang"` never answers.
 */
export class Receiver {
  readonly received: Received[] = [];
  /** Most requests to each path that were open at the same moment. */
  readonly maxOpen = new Map<string, number>();
  readonly #open = new Map<string, number>();
  readonly #script = new Map<string, Array<number | "hang">>();
  readonly #server: Server;
  #waiters: Array<() => void> = [];

  constructor() {
    this.#server = createServer((request, response) => {
      const path = request.url ?? "/";
      const open = (this.#open.get(path) ?? 0) + 1;
      this.#open.set(path, open);
      this.maxOpen.set(path, Math.max(open, this.maxOpen.get(path) ?? 0));
      // "close": answered, or the client hung up on a request never answered.
      response.once("close", () => this.#open.set(path, (this.#open.get(path) ?? 1) - 1));
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        this.received.push({
          path,
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
        });
        for (const wake of this.#waiters.splice(0)) wake();
        const answer = this.#script.get(path)?.shift() ?? 204;
        if (answer === "hang") return;
        if (answer >= 300 && answer < 400) response.setHeader("location", "http://127.0.0.1:1/");
        response.statusCode = answer;
        response.end(answer === 204 ? undefined : "ok");
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Answers the next requests to `path` with these statuses, in order. */
  script(path: string, ...answers: Array<number | "hang">) {
    this.#script.set(path, answers);
  }

  at(path: string): Received[] {
    return this.received.filter((request) => request.path === path);
  }

  /** Waits until `path` has received `count` requests (or fails after `timeoutMs`). */
  async waitFor(path: string, count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.at(path).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${path}: ${this.at(path).length} of ${count} requests`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.at(path);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** POST /v1/webhooks, expecting 201. */
export async function createWebhook(
  app: App,
  user: TestUser,
  body: Record<string, unknown>,
): Promise<CreatedWebhook> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/webhooks",
    headers: user.headers,
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<CreatedWebhook>();
}

export async function getWebhook(app: App, user: TestUser, id: string): Promise<Webhook> {
  const response = await app.inject({
    method: "GET",
    url: `/v1/webhooks/${id}`,
    headers: user.headers,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Webhook>();
}

export async function deliveries(
  app: App,
  user: TestUser,
  id: string,
  query = "",
): Promise<Delivery[]> {
  const response = await app.inject({
    method: "GET",
    url: `/v1/webhooks/${id}/deliveries${query}`,
    headers: user.headers,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ data: Delivery[] }>().data;
}

/** Polls the deliveries list until `done` holds for it (or fails after `timeoutMs`). */
export async function deliveriesWhen(
  app: App,
  user: TestUser,
  id: string,
  done: (list: Delivery[]) => boolean,
  timeoutMs = 15_000,
): Promise<Delivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await deliveries(app, user, id);
    if (done(list)) return list;
    if (Date.now() > deadline) throw new Error(`deliveries never settled: ${JSON.stringify(list)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
