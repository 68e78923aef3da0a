// The modules themselves, read at call time: tracing (tracing.ts) patches
// their `request`, which a named import would have bound before it did.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { BlockedAddressError, hostOf, isPublicAddress, publicOnlyLookup } from "./address.ts";
import { signatureHeader } from "./secret.ts";

export type Attempt =
  | { ok: true; status: number; durationMs: number }
  | { ok: false; status: number | null; error: string; durationMs: number };

export type SendOptions = {
  url: string;
  body: string;
  secret: string;
  eventType: string;
  deliveryId: string;
  timeoutMs: number;
  allowPrivate: boolean;
  now: () => Date;
};

/** Most of a receiver's answer we read; the rest is dropped (we only keep its status). */
const maxResponseBytes = 64 * 1024;

/**
 * Our own agents, never the global ones: Node routes the global agents
 * through HTTP(S)_PROXY when NODE_USE_ENV_PROXY is set, and a proxy would
 * resolve the target itself, past the public-address lookup.
 */
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

/**
 * One delivery attempt: a signed POST, done when a 2xx arrives. Redirects
 * are not followed (a 3xx is a failure: the target must be the URL given),
 * and the whole attempt, answer included, must end within `timeoutMs`.
 */
export function sendDelivery(options: SendOptions): Promise<Attempt> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(options.url);
  const host = hostOf(url);
  const refused = (error: string): Promise<Attempt> =>
    Promise.resolve({ ok: false, status: null, error, durationMs: 0 });
  if (!options.allowPrivate && isIP(host) && !isPublicAddress(host)) {
    return refused(`${host} is not a public address`);
  }
  // Saved while the deployment allowed it, sent after it stopped allowing it.
  if (!options.allowPrivate && url.protocol !== "https:") return refused("only https is allowed");
  const secure = url.protocol === "https:";
  const request = secure ? https.request : http.request;
  const timestamp = Math.floor(options.now().getTime() / 1000);
  return new Promise((resolve) => {
    const outgoing = request(
      url,
      {
        method: "POST",
        agent: secure ? agents.https : agents.http,
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup() }),
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(options.body),
          "user-agent": "Taskpilot-Webhooks/1",
          "taskpilot-event": options.eventType,
          "taskpilot-delivery": options.deliveryId,
          "taskpilot-signature": signatureHeader(options.secret, options.body, timestamp),
        },
      },
      (response) => {
        let read = 0;
        response.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > maxResponseBytes) response.destroy();
        });
        const status = response.statusCode ?? 0;
        const settle = () => {
          const durationMs = elapsed();
          if (status >= 200 && status < 300) resolve({ ok: true, status, durationMs });
          else if (status < 100 || status > 599) {
            // Node takes any three digits; HTTP defines 100-599.
            resolve({
              ok: false,
              status: null,
              error: `answered ${status}, which is not an HTTP status`,
              durationMs,
            });
          } else {
            const error =
              status >= 300 && status < 400
                ? `answered ${status}; redirects are not followed`
                : `answered ${status}`;
            resolve({ ok: false, status, error, durationMs });
          }
        };
        response.on("end", settle);
        response.on("close", settle);
        response.on("error", () => settle());
      },
    );
    outgoing.on("error", (error) => {
      resolve({
        ok: false,
        status: null,
        error: describe(error, options.timeoutMs),
        durationMs: elapsed(),
      });
    });
    outgoing.end(options.body);
  });
}

function describe(error: Error, timeoutMs: number): string {
  if (error instanceof BlockedAddressError) return error.message;
  if (error.name === "AbortError" || error.name === "TimeoutError") {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}`.slice(0, 500) : error.message.slice(0, 500);
}
