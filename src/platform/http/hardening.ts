import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

// JSON answers need no sources at all; nothing may frame them.
const apiPolicy = {
  useDefaults: false,
  directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
};

// The Scalar reference page: its bundle and its inline start-up script, the
// inline styles it renders, and fetches of /openapi.json. Fonts come from
// the bundle (withDefaultFonts: false), never from a CDN.
const docsPolicy = {
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
 * Security headers on every answer (helmet's defaults, with a CSP for an
 * API and a looser one for the /docs page). Register before the routes: the
 * /docs policy is attached to routes as they are added.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  app.addHook("onRoute", (route) => {
    if (route.url === "/docs" || route.url.startsWith("/docs/")) {
      route.helmet = { contentSecurityPolicy: docsPolicy };
    }
  });
  await app.register(helmet, { contentSecurityPolicy: apiPolicy });
}

/** Headers a browser client may send and read besides the CORS-safelisted ones. */
const allowedHeaders = [
  "authorization",
  "content-type",
  "idempotency-key",
  "if-match",
  "if-none-match",
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
