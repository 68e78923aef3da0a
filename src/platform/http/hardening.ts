import type { IncomingMessage, ServerResponse } from "node:http";
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import helmet, { type HelmetOptions } from "helmet";

// JSON answers need no sources at all; nothing may frame them.
const apiPolicy: HelmetOptions["contentSecurityPolicy"] = {
  useDefaults: false,
  directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
};

// The Scalar reference page: its bundle and its inline start-up script, the
// inline styles it renders, and fetches of /openapi.json. Fonts come from
// the bundle (withDefaultFonts: false), never from a CDN.
const docsPolicy: HelmetOptions["contentSecurityPolicy"] = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-inline'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    workerSrc: ["'self'", "blob:"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/**
 * The headers helmet sets for these options. None of ours depends on the
 * request (no CSP nonces, no directive functions), so they are worked out
 * once here instead of per request: `@fastify/helmet` builds helmet's whole
 * middleware chain and parses the CSP again for every request, which was 3.5%
 * of the server's CPU on GET /v1/tasks/{id} (bench profile, 2026-12-05).
 */
export function helmetHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  helmet(options)(
    {} as IncomingMessage,
    response as unknown as ServerResponse,
    (error?: unknown) => {
      if (error) throw error;
      finished = true;
    },
  );
  if (!finished) throw new Error("helmet did not set its headers synchronously");
  return Object.freeze(headers);
}

/**
 * Security headers on every answer (helmet's defaults, with a CSP for an
 * API and a looser one for the /docs page). Register before the routes: the
 * /docs policy is attached to routes as they are added.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const apiHeaders = helmetHeaders({ contentSecurityPolicy: apiPolicy });
  const docsHeaders = helmetHeaders({ contentSecurityPolicy: docsPolicy });
  app.addHook("onRoute", (route) => {
    if (route.url === "/docs" || route.url.startsWith("/docs/")) {
      route.config = { ...route.config, securityHeaders: docsHeaders };
    }
  });
  app.addHook("onRequest", (request, reply, done) => {
    reply.headers(request.routeOptions.config.securityHeaders ?? apiHeaders);
    done();
  });
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The security headers of this route, when they are not the API's. */
    securityHeaders?: Readonly<Record<string, string>>;
  }
}

/** Headers a browser client may send and read besides the CORS-safelisted ones. */
const allowedHeaders = [
  "authorization",
  "content-type",
  "idempotency-key",
  "if-match",
  "if-none-match",
  "last-event-id",
  "x-api-key",
  "x-request-id",
];
const exposedHeaders = [
  "etag",
  "location",
  "retry-after",
  "x-request-id",
  "idempotent-replayed",
  "ratelimit",
  "ratelimit-policy",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "deprecation",
  "sunset",
  "link",
];

/**
 * CORS for the browser origins in the allowlist. Listed origins may send
 * credentials (the session cookie); `*` allows any origin but never with
 * credentials. Without an allowlist no CORS headers are sent, so browsers
 * keep other sites out.
 */
export async function registerCors(app: FastifyInstance, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  const anyOrigin = origins.includes("*");
  await app.register(cors, {
    origin: anyOrigin ? "*" : origins,
    credentials: !anyOrigin,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders,
    exposedHeaders,
    maxAge: 600,
  });
}
