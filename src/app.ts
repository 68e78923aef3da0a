import swagger from "@fastify/swagger";
import scalar from "@scalar/fastify-api-reference";
import Fastify, { type FastifyLoggerOptions, type FastifyRequest } from "fastify";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import { v7 as uuidv7 } from "uuid";
import { mcpRoutes } from "./modules/assistant/mcp-routes.ts";
import { offlineAgent } from "./modules/assistant/offline-agent.ts";
import { chatRoutes } from "./modules/assistant/routes.ts";
import { categoryRoutes } from "./modules/categories/routes.ts";
import { compatRoutes } from "./modules/compat/routes.ts";
import { profileRoutes } from "./modules/profile/routes.ts";
import { taskRoutes } from "./modules/tasks/routes.ts";
import { createPersonalWorkspace } from "./modules/workspaces/service.ts";
import { type Actor, resolveActor } from "./platform/auth/actor.ts";
import { createAuth } from "./platform/auth/auth.ts";
import { requireActor } from "./platform/auth/hook.ts";
import { registerAuthRoutes } from "./platform/auth/routes.ts";
import { SessionCache } from "./platform/auth/session-cache.ts";
import type { Redis } from "./platform/cache/redis.ts";
import type { DatabaseHandle } from "./platform/db/pool.ts";
import { registerHealthRoutes } from "./platform/http/health.ts";
import { frameworkErrorHandler, registerProblemHandlers } from "./platform/http/problem.ts";
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
  /** Where logs go (default stdout); the stdio MCP server needs stdout for the protocol. */
  logStream?: NodeJS.WritableStream;
};

export type App = Awaited<ReturnType<typeof buildApp>>;

declare module "fastify" {
  interface FastifyInstance {
    /**
     * The actor a set of request headers authenticates, resolved exactly as
     * for /v1 and /mcp; for transports without HTTP requests (stdio MCP).
     */
    resolveCredential: (headers: Record<string, string>) => Promise<Actor | null>;
  }
}

const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    logger: {
      ...(loggerOptions(deps.logLevel ?? "info") as FastifyLoggerOptions),
      stream: deps.logStream,
    },
    bodyLimit: 1024 * 1024,
    connectionTimeout: 30_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 60_000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestIdHeader: false,
    frameworkErrors: frameworkErrorHandler,
    genReqId: (request) => {
      const incoming = request.headers["x-request-id"];
      return typeof incoming === "string" && saneRequestId.test(incoming) ? incoming : uuidv7();
    },
  });
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
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(scalar, {
    routePrefix: "/docs",
    configuration: { url: "/openapi.json", title: "Taskpilot API" },
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  const now = deps.now ?? (() => new Date());
  const db = deps.database.db;
  const auth = createAuth({
    db,
    secret: deps.authSecret,
    baseUrl: deps.publicUrl,
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
    requireActor(v1, { auth, db, sessions, now, trustedOrigins: [deps.publicUrl] });
    await v1.register(taskRoutes);
    await v1.register(categoryRoutes);
    await v1.register(profileRoutes);
    await v1.register(compatRoutes);
    await v1.register(mcpRoutes);
    // The model-driven agent replaces the offline one here once the AI layer lands.
    await v1.register(chatRoutes, { agent: offlineAgent });
  });
  app.decorate("resolveCredential", (headers: Record<string, string>) =>
    resolveActor({ auth, db, sessions }, { headers } as FastifyRequest),
  );
  return Object.assign(app, { auth });
}
