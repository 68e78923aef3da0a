import swagger from "@fastify/swagger";
import scalar from "@scalar/fastify-api-reference";
import Fastify, { type FastifyLoggerOptions, type FastifyRequest } from "fastify";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import type { DestinationStream } from "pino";
import { adminRoutes } from "./modules/admin/routes.ts";
import { purgeExpiredAnswers } from "./modules/ai/cache.ts";
import { AiGateway } from "./modules/ai/gateway.ts";
import { quickAddSplitter } from "./modules/ai/quick-add.ts";
import { aiRoutes } from "./modules/ai/routes.ts";
import { type AiSettings, hasExternalModel, offlineAiSettings } from "./modules/ai/settings.ts";
import { apiKeyRoutes } from "./modules/api-keys/routes.ts";
import { apiKeyLookup } from "./modules/api-keys/service.ts";
import { mcpRoutes } from "./modules/assistant/mcp-routes.ts";
import { modelAgent } from "./modules/assistant/model-agent.ts";
import { offlineAgent } from "./modules/assistant/offline-agent.ts";
import { chatRoutes } from "./modules/assistant/routes.ts";
import { categoryGraphql } from "./modules/categories/graphql.ts";
import { categoryRoutes } from "./modules/categories/routes.ts";
import { compatRoutes } from "./modules/compat/routes.ts";
import { EventHub } from "./modules/events/hub.ts";
import { eventRoutes } from "./modules/events/routes.ts";
import { notificationGraphql } from "./modules/notifications/graphql.ts";
import { Notifier } from "./modules/notifications/notifier.ts";
import { notificationRoutes } from "./modules/notifications/routes.ts";
import { purgeOldNotifications } from "./modules/notifications/service.ts";
import { profileGraphql } from "./modules/profile/graphql.ts";
import { profileRoutes } from "./modules/profile/routes.ts";
import { createTaskSearch, searchHealth } from "./modules/search/engine.ts";
import { searchRoutes } from "./modules/search/routes.ts";
import type { SearchSettings } from "./modules/search/settings.ts";
import { taskGraphql } from "./modules/tasks/graphql.ts";
import { taskRoutes } from "./modules/tasks/routes.ts";
import { defaultDeliverySettings } from "./modules/webhooks/delivery.ts";
import { WebhookDispatcher } from "./modules/webhooks/dispatcher.ts";
import { webhookRoutes } from "./modules/webhooks/routes.ts";
import { secretBox } from "./modules/webhooks/secret.ts";
import { purgeOldDeliveries } from "./modules/webhooks/service.ts";
import { workspaceGraphql } from "./modules/workspaces/graphql.ts";
import { workspaceRoutes } from "./modules/workspaces/routes.ts";
import { createPersonalWorkspace } from "./modules/workspaces/service.ts";
import { type Actor, resolveActor } from "./platform/auth/actor.ts";
import { createAuth } from "./platform/auth/auth.ts";
import { followAuthChanges } from "./platform/auth/auth-changes.ts";
import { requireActor, requireRouteScopes } from "./platform/auth/hook.ts";
import { JwtVerifier } from "./platform/auth/jwt.ts";
import {
  FallbackLimitStore,
  type LimitStore,
  MemoryLimitStore,
  RedisLimitStore,
} from "./platform/auth/limit-store.ts";
import type { OAuthProviders } from "./platform/auth/oidc.ts";
import { registerAuthRoutes } from "./platform/auth/routes.ts";
import { SessionCache } from "./platform/auth/session-cache.ts";
import { SignInLimits } from "./platform/auth/sign-in-limits.ts";
import { UserCache } from "./platform/auth/user-cache.ts";
import type { Redis } from "./platform/cache/redis.ts";
import type { AppServices } from "./platform/context.ts";
import { sealer } from "./platform/crypto/sealed.ts";
import { startChangeFeed } from "./platform/db/change-feed.ts";
import type { DatabaseHandle } from "./platform/db/pool.ts";
import { scheduleChores } from "./platform/housekeeping.ts";
import { registerCachingDefaults } from "./platform/http/caching.ts";
import { registerDeprecations } from "./platform/http/deprecation.ts";
import { refuseUnmatchableIfMatch } from "./platform/http/etag.ts";
import { graphqlRoutes } from "./platform/http/graphql.ts";
import { registerCors, registerSecurityHeaders } from "./platform/http/hardening.ts";
import { registerHealthRoutes } from "./platform/http/health.ts";
import { idempotencyChore, registerIdempotency } from "./platform/http/idempotency/plugin.ts";
import { withPlatformDocs } from "./platform/http/openapi.ts";
import {
  defaultOverload,
  type OverloadSettings,
  registerLoadShedding,
} from "./platform/http/overload.ts";
import {
  frameworkErrorHandler,
  maxParamLength,
  registerProblemHandlers,
} from "./platform/http/problem.ts";
import { registerRateLimit } from "./platform/http/rate-limit/plugin.ts";
import { defaultRateLimits, type RateLimitSettings } from "./platform/http/rate-limit/policy.ts";
import { serializerCompiler } from "./platform/http/serializer.ts";
import {
  forbiddenFieldError,
  unsupportedCharset,
  validatorCompiler,
} from "./platform/http/validation.ts";
import { Jobs } from "./platform/jobs/jobs.ts";
import { createSmtpMailer } from "./platform/mail/mailer.ts";
import { AccessLog, loggerOptions } from "./platform/observability/logger.ts";
import { createMetrics, registerMetrics } from "./platform/observability/metrics.ts";
import { newRequestId } from "./platform/observability/request-id.ts";

export type AppDeps = {
  database: DatabaseHandle;
  authSecret: string;
  publicUrl: string;
  logLevel?: string;
  authRateLimit?: boolean;
  /**
   * How long a user row behind an actor may be served from memory (0: never;
   * default 5 min). Changes reach every instance's cache through the
   * database's notifications (auth-changes.ts); the TTL is a backstop.
   */
  userCacheTtlMs?: number;
  /**
   * How long a recognised session credential skips better-auth's check
   * (0: never; default 5 min, never past the session's expiry). Invalidated
   * like the user cache.
   */
  sessionCacheTtlMs?: number;
  /**
   * Most credentials the session cache holds, and most users the user cache
   * holds (default 10,000 each; the oldest go first). Set it above the
   * number of users active within the TTL, or they pay the full session
   * check again.
   */
  authCacheMaxEntries?: number;
  /** The clock every verb reads; tests pass a fixed one. */
  now?: () => Date;
  /**
   * Shared state across instances (rate-limit counters, caches) when
   * REDIS_URL is set; without it that state lives in this process. The
   * caller owns the connection and closes it after the app.
   */
  redis?: Redis;
  /** External sign-in providers (OpenID Connect, GitHub, Google) from config. */
  oauth?: OAuthProviders;
  /** Invitations are mailed through this SMTP server when set; otherwise their links are logged. */
  smtpUrl?: string;
  /** The From of that mail; defaults to no-reply at the public URL's host. */
  mailFrom?: string;
  /** Providers, routes, prices and limits of the AI layer; default: offline only. */
  ai?: AiSettings;
  /** Search and embedding-queue knobs (tests shorten them or run the queue by hand). */
  search?: Partial<SearchSettings>;
  /** Where logs go (default stdout); the stdio MCP server needs stdout for the protocol. */
  logStream?: DestinationStream;
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
  /** When set, `GET /metrics` answers only a scrape that sends it as a bearer token. */
  metricsToken?: string | undefined;
  /** The event feed's timing and limits (tests shorten them); see events/hub.ts. */
  events?: {
    pollMs?: number;
    heartbeatMs?: number;
    stallMs?: number;
    maxPerUser?: number;
    maxStreams?: number;
  };
  /** Webhook delivery (tests shorten the timings); see webhooks/delivery.ts. */
  webhooks?: {
    /** http:// and private, loopback and link-local targets (WEBHOOK_ALLOW_PRIVATE). */
    allowPrivate?: boolean;
    pollMs?: number;
    timeoutMs?: number;
    retry?: { limit: number; delaySeconds: number; backoff: boolean; maxDelaySeconds: number };
    disableAfter?: number;
    concurrency?: number;
    perWebhook?: number;
  };
  /** How often the notifier looks for new events (tests shorten it); see notifications/notifier.ts. */
  notifications?: { pollMs?: number };
  /**
   * Validate every answer against its zod schema and compare the compiled
   * serializer's text with zod's encoding (serializer.ts). On in tests and
   * with RESPONSE_CHECK=true; off by default, it doubles serialization cost.
   */
  checkResponses?: boolean;
};

export type App = Awaited<ReturnType<typeof buildApp>>;

declare module "fastify" {
  interface FastifyInstance {
    /**
     * The actor a set of request headers authenticates, resolved exactly as
     * for /v1 and /mcp; for transports without HTTP requests (stdio MCP).
     */
    resolveCredential: (headers: Record<string, string>) => Promise<Actor | null>;
    /** The long-lived services verbs find in their context (search), for non-HTTP transports. */
    services: AppServices;
    /** The AI layer; its usage ledger is written behind (`ai.ledger.flush()`). */
    ai: AiGateway;
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
    logController: new AccessLog(),
    trustProxy: deps.trustProxy?.length ? deps.trustProxy : false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength },
    requestIdHeader: false,
    frameworkErrors: frameworkErrorHandler,
    genReqId: (request) => {
      const incoming = request.headers["x-request-id"];
      return typeof incoming === "string" && saneRequestId.test(incoming)
        ? incoming
        : newRequestId();
    },
  });
  // A client must send its headers within 15 s (slowloris); the whole
  // request within requestTimeout.
  app.server.headersTimeout = 15_000;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler({ check: deps.checkResponses ?? false }));
  // Bodies are JSON only: Fastify's built-in text/plain parser would turn a
  // plain-text body into a confusing 400 instead of 415.
  app.removeContentTypeParser("text/plain");
  // Many clients send Content-Type: application/json on every request; an
  // empty body then means "no body", not malformed JSON. Routes that need a
  // body still answer 400 naming it.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const wrongCharset = unsupportedCharset(request.headers["content-type"]);
    if (wrongCharset) {
      done(wrongCharset, undefined);
      return;
    }
    if (body === "") {
      done(null, undefined);
      return;
    }
    const text = body.toString();
    void parseJson(request, text, (error, value) => {
      done(error ? (forbiddenFieldError(text) ?? error) : null, value);
    });
  });
  app.decorateRequest("ctx", null);
  // Hooks that never wait are written with `done`: an async hook costs a
  // promise and a microtask on every request.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  // Node's server.close() only drops connections idle at that moment: a
  // keep-alive connection whose request is still running would stay open
  // after its answer and hold shutdown until keepAliveTimeout. Answers sent
  // while closing therefore end their connection.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });
  registerProblemHandlers(app);
  requireRouteScopes(app);
  refuseUnmatchableIfMatch(app);
  // Order matters: every later hook's answers (503, 429) carry the security
  // and CORS headers, and preflights are answered before they are counted.
  registerSecurityHeaders(app);
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
          bearerAuth: {
            type: "http",
            scheme: "bearer",
            description:
              "A session token from sign-in, or a 15-minute JWT from GET /api/auth/token " +
              "(EdDSA, verified against GET /api/auth/jwks)",
          },
          sessionCookie: { type: "apiKey", in: "cookie", name: "better-auth.session_token" },
          apiKey: {
            type: "apiKey",
            in: "header",
            name: "x-api-key",
            description:
              "An API key from POST /v1/api-keys; each route lists the scope it needs. " +
              "A key without it gets 403.",
          },
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
  const metrics = createMetrics(deps.database.pool);
  registerMetrics(app, metrics, { token: deps.metricsToken });

  const now = deps.now ?? (() => new Date());
  const db = deps.database.db;
  const limits: LimitStore = deps.redis
    ? new FallbackLimitStore({
        primary: new RedisLimitStore(deps.redis),
        fallback: new MemoryLimitStore(),
        log: app.log,
      })
    : new MemoryLimitStore();
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
    limits,
    log: app.log,
    oauth: deps.oauth,
    onUserCreated: async (user) => {
      await createPersonalWorkspace(db, user, now());
    },
  });
  // Rows some part of this instance keeps in memory are announced by the
  // database when they change (auth caches, workspace AI settings).
  const changes = await startChangeFeed(deps.database, app.log);
  app.addHook("onClose", async () => changes.close());
  const ai = new AiGateway({
    changes,
    settings: deps.ai ?? offlineAiSettings(),
    db,
    redis: deps.redis,
    now,
    log: app.log,
    metrics,
  });
  // Usage rows still waiting are written on close. onClose hooks run last
  // registered first, so this one runs after the embedding worker stopped;
  // the caller closes the pool after app.close().
  app.addHook("onClose", async () => ai.close());
  const search = await createTaskSearch({
    db,
    gateway: ai,
    now,
    log: app.log,
    settings: deps.search,
  });
  // Without pgvector there is nothing to store, and nothing is ever queued.
  if (search.settings.worker && search.capabilities.semantic.available) {
    app.addHook("onReady", async () => search.worker.start());
  }
  app.addHook("onClose", async () => search.worker.stop());
  const services: AppServices = { search };
  registerHealthRoutes(app, deps.database.pool, () => searchHealth(search));
  const mailer = deps.smtpUrl
    ? createSmtpMailer({
        url: deps.smtpUrl,
        from: deps.mailFrom ?? `Taskpilot <no-reply@${new URL(deps.publicUrl).hostname}>`,
      })
    : undefined;
  app.addHook("onClose", async () => mailer?.close());
  const sessions = new SessionCache({
    ttlMs: deps.sessionCacheTtlMs ?? 300_000,
    maxEntries: deps.authCacheMaxEntries,
  });
  const users = new UserCache({
    ttlMs: deps.userCacheTtlMs ?? 300_000,
    maxEntries: deps.authCacheMaxEntries,
  });
  followAuthChanges(changes, { sessions, users });
  // The one place the assistant is chosen: a model from the AI layer's
  // `chat` chain drives it when the chain has one; otherwise the offline agent.
  const assistant = hasExternalModel(ai.settings, "chat") ? modelAgent(ai) : offlineAgent;
  registerAuthRoutes(app, {
    auth,
    baseUrl: deps.publicUrl,
    sessions,
    users,
    signInLimits: new SignInLimits(limits),
  });
  const apiKeys = apiKeyLookup(db);
  const jwts = new JwtVerifier({
    loadKeys: () => auth.api.getJwks(),
    issuer: deps.publicUrl,
    audience: deps.publicUrl,
    now,
  });
  const sessionCookie = (await auth.$context).authCookies.sessionToken.name;
  const { heartbeatMs, stallMs, ...hubOptions } = deps.events ?? {};
  const events = new EventHub({ db, log: app.log, metrics, ...hubOptions });
  // Open streams never finish by themselves: end them before the server
  // waits for in-flight requests.
  app.addHook("preClose", async () => events.close());
  // Webhooks: the dispatcher stops before the queue (onClose runs last
  // registered first), and the queue waits for attempts in hand.
  const jobs = new Jobs({
    pool: deps.database.pool,
    kind: deps.database.kind,
    log: app.log,
    // An attempt in hand may finish (and be recorded) before the pool closes.
    stopTimeoutMs: (deps.webhooks?.timeoutMs ?? defaultDeliverySettings.timeoutMs) + 5_000,
  });
  app.addHook("onClose", async () => jobs.close());
  const webhookSettings = {
    allowPrivate: deps.webhooks?.allowPrivate ?? false,
    box: secretBox(deps.authSecret),
  };
  const dispatcher = new WebhookDispatcher({
    pool: deps.database.pool,
    db,
    jobs,
    log: app.log,
    metrics,
    settings: {
      ...defaultDeliverySettings,
      ...deps.webhooks,
      ...webhookSettings,
      pollMs: deps.webhooks?.pollMs ?? 1_000,
      now,
    },
  });
  app.addHook("onReady", async () => dispatcher.start());
  app.addHook("onClose", async () => dispatcher.close());
  const notifier = new Notifier({
    pool: deps.database.pool,
    log: app.log,
    settings: { pollMs: deps.notifications?.pollMs ?? 1_000, now },
  });
  app.addHook("onReady", async () => notifier.start());
  app.addHook("onClose", async () => notifier.close());
  // Quick add asks the model to split the text only when one is configured for it.
  const quickAdd = hasExternalModel(ai.settings, "quickadd")
    ? { quickAdd: quickAddSplitter(ai) }
    : {};
  await app.register(async (v1) => {
    requireActor(v1, {
      auth,
      db,
      sessions,
      users,
      jwts,
      apiKeys,
      now,
      sessionCookie,
      trustedOrigins,
      services,
    });
    registerIdempotency(v1, { db, now, sealer: sealer(deps.authSecret, "idempotent answers v1") });
    registerCachingDefaults(v1);
    await v1.register(taskRoutes, quickAdd);
    await v1.register(categoryRoutes);
    await v1.register(profileRoutes, {
      onUserChanged: async (userId) => users.forget(userId),
    });
    await v1.register(compatRoutes, { agent: assistant });
    const onWorkspaceChanged = (workspaceId: string) => ai.forgetWorkspace(workspaceId);
    await v1.register(workspaceRoutes, {
      invitations: { publicUrl: deps.publicUrl, mailer },
      onWorkspaceChanged,
    });
    await v1.register(apiKeyRoutes);
    await v1.register(adminRoutes);
    await v1.register(aiRoutes, { gateway: ai });
    await v1.register(searchRoutes);
    await v1.register(mcpRoutes);
    await v1.register(
      graphqlRoutes([
        taskGraphql(quickAdd),
        categoryGraphql,
        profileGraphql,
        notificationGraphql,
        workspaceGraphql({ onWorkspaceChanged }),
      ]),
    );
    await v1.register(chatRoutes, { agent: assistant });
    await v1.register(webhookRoutes, { settings: webhookSettings });
    await v1.register(notificationRoutes);
    await v1.register(eventRoutes, {
      hub: events,
      resolve: (headers) => app.resolveCredential(headers),
      heartbeatMs,
      stallMs,
    });
  });
  app.decorate("resolveCredential", (headers: Record<string, string>) =>
    resolveActor({ auth, db, sessions, users, jwts, apiKeys, now, sessionCookie }, {
      headers,
    } as FastifyRequest),
  );
  scheduleChores(app, [
    idempotencyChore({ db, now }),
    { name: "AI answer cache", everyMs: 60 * 60_000, run: () => purgeExpiredAnswers(db, now()) },
    { name: "webhook deliveries", everyMs: 60 * 60_000, run: () => purgeOldDeliveries(db, now()) },
    {
      name: "read notifications",
      everyMs: 60 * 60_000,
      run: () => purgeOldNotifications(db, now()),
    },
  ]);
  app.decorate("services", services);
  app.decorate("ai", ai);
  return Object.assign(app, { auth });
}
