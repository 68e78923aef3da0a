import swagger from "@fastify/swagger";
import scalar from "@scalar/fastify-api-reference";
import Fastify from "fastify";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import { v7 as uuidv7 } from "uuid";
import { categoryRoutes } from "./modules/categories/routes.ts";
import { profileRoutes } from "./modules/profile/routes.ts";
import { taskRoutes } from "./modules/tasks/routes.ts";
import { createPersonalWorkspace } from "./modules/workspaces/service.ts";
import { createAuth } from "./platform/auth/auth.ts";
import { requireActor } from "./platform/auth/hook.ts";
import { registerAuthRoutes } from "./platform/auth/routes.ts";
import { SessionCache } from "./platform/auth/session-cache.ts";
import type { Redis } from "./platform/cache/redis.ts";
import type { DatabaseHandle } from "./platform/db/pool.ts";
import { registerCachingDefaults } from "./platform/http/caching.ts";
import { registerDeprecations } from "./platform/http/deprecation.ts";
import { registerCors, registerSecurityHeaders } from "./platform/http/hardening.ts";
import { registerHealthRoutes } from "./platform/http/health.ts";
import { registerIdempotency, schedulePurge } from "./platform/http/idempotency/plugin.ts";
import { withPlatformDocs } from "./platform/http/openapi.ts";
import {
  defaultOverload,
  type OverloadSettings,
  registerLoadShedding,
} from "./platform/http/overload.ts";
import { frameworkErrorHandler, registerProblemHandlers } from "./platform/http/problem.ts";
import { registerRateLimit } from "./platform/http/rate-limit/plugin.ts";
import { defaultRateLimits, type RateLimitSettings } from "./platform/http/rate-limit/policy.ts";
import { loggerOptions } from "./platform/observability/logger.ts";

export type AppDeps = {
  database: DatabaseHandle;
  authSecret: string;
  publicUrl: string;
  logLevel?: string;
  authRateLimit?: boolean;
  /** How long a recognised session credential skips better-auth's check (0: never). */
  sessionCacheTtlMs?: number;
  /** The clock every verb reads; tests pass a fixed one. */
  now?: () => Date;
  /**
   * Shared state across instances (rate-limit counters, caches) when
   * REDIS_URL is set; without it that state lives in this process. The
   * caller owns the connection and closes it after the app.
   */
  redis?: Redis;
  /** Request limits per client (default: ../shared/API.md's); false turns them off. */
  rateLimit?: RateLimitSettings | false;
  /** Load-shedding thresholds (default: defaultOverload); false turns shedding off. */
  overload?: OverloadSettings | false;
  /**
   * Proxies (addresses or CIDRs) whose X-Forwarded-For names the client.
   * Default none: the client is the socket's peer, whatever headers say.
   */
  trustProxy?: string[];
  /** Browser origins allowed to call the API (CORS); "*" for any, without credentials. */
  corsOrigins?: string[];
};

export type App = Awaited<ReturnType<typeof buildApp>>;

const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    logger: loggerOptions(deps.logLevel ?? "info"),
    bodyLimit: 1024 * 1024,
    connectionTimeout: 30_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 60_000,
    return503OnClosing: true,
    trustProxy: deps.trustProxy?.length ? deps.trustProxy : false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestIdHeader: false,
    frameworkErrors: frameworkErrorHandler,
    genReqId: (request) => {
      const incoming = request.headers["x-request-id"];
      return typeof incoming === "string" && saneRequestId.test(incoming) ? incoming : uuidv7();
    },
  });
  // A client must send its headers within 15 s (slowloris); the whole
  // request within requestTimeout.
  app.server.headersTimeout = 15_000;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Bodies are JSON only: Fastify's built-in text/plain parser would turn a
  // plain-text body into a confusing 400 instead of 415.
  app.removeContentTypeParser("text/plain");
  // Many clients send Content-Type: application/json on every request; an
  // empty body then means "no body", not malformed JSON. Routes that need a
  // body still answer 400 naming it.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") {
      done(null, undefined);
      return;
    }
    void parseJson(request, body.toString(), done);
  });
  app.decorateRequest("ctx", null);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  // Node's server.close() only drops connections idle at that moment: a
  // keep-alive connection whose request is still running would stay open
  // after its answer and hold shutdown until keepAliveTimeout. Answers sent
  // while closing therefore end their connection.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });
  registerProblemHandlers(app);
  // Order matters: every later hook's answers (503, 429) carry the security
  // and CORS headers, and preflights are answered before they are counted.
  await registerSecurityHeaders(app);
  await registerCors(app, deps.corsOrigins ?? []);
  registerDeprecations(app);
  if (deps.overload !== false) await registerLoadShedding(app, deps.overload ?? defaultOverload);
  if (deps.rateLimit !== false) {
    await registerRateLimit(app, {
      settings: deps.rateLimit ?? defaultRateLimits,
      redis: deps.redis,
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Taskpilot API",
        version: "1.0.0",
        description: "Tasks, categories, profile and activity. Errors are RFC 9457 problem+json.",
      },
      servers: [{ url: deps.publicUrl }],
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", description: "Session token from sign-in" },
          sessionCookie: { type: "apiKey", in: "cookie", name: "better-auth.session_token" },
        },
      },
    },
    transform: withPlatformDocs(jsonSchemaTransform),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(scalar, {
    routePrefix: "/docs",
    configuration: { url: "/openapi.json", title: "Taskpilot API", withDefaultFonts: false },
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  const now = deps.now ?? (() => new Date());
  const db = deps.database.db;
  // Cookie sessions are accepted from our own pages and the CORS allowlist.
  const trustedOrigins = [
    deps.publicUrl,
    ...(deps.corsOrigins ?? []).filter((origin) => origin !== "*"),
  ];
  const auth = createAuth({
    db,
    secret: deps.authSecret,
    baseUrl: deps.publicUrl,
    trustedOrigins,
    rateLimit: deps.authRateLimit ?? true,
    log: app.log,
    onUserCreated: async (user) => {
      await createPersonalWorkspace(db, user);
    },
  });
  registerHealthRoutes(app, deps.database.pool);
  const sessions = new SessionCache({ ttlMs: deps.sessionCacheTtlMs ?? 5_000 });
  registerAuthRoutes(app, { auth, baseUrl: deps.publicUrl, sessions });
  await app.register(async (v1) => {
    requireActor(v1, { auth, db, sessions, now, trustedOrigins });
    registerIdempotency(v1, { db, now });
    registerCachingDefaults(v1);
    await v1.register(taskRoutes);
    await v1.register(categoryRoutes);
    await v1.register(profileRoutes);
  });
  schedulePurge(app, { db, now });
  return Object.assign(app, { auth });
}
