import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Redis } from "../../cache/redis.ts";
import { DomainError } from "../errors.ts";
import { credentialFingerprint, principalOf } from "../principal.ts";
import { KnownCredentials } from "./known-credentials.ts";
import { choosePolicy, limitOf, type PolicyName, type RateLimitSettings } from "./policy.ts";
import { fallbackStore } from "./store.ts";

type Outcome = { max: number; remaining: number; ttlInSeconds: number; isExceeded: boolean };

/**
 * Limits every request, before authentication and routing outcomes, so
 * 401s and 404s are limited and carry the headers too. Routes opt out with
 * `config: { rateLimit: false }` (health probes). CORS preflights are
 * answered by the CORS plugin before this hook and are not counted.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  options: { settings: RateLimitSettings; redis: Redis | undefined },
): Promise<void> {
  const { settings } = options;
  await app.register(rateLimit, {
    global: false,
    store: fallbackStore({
      redis: options.redis,
      keyPrefix: settings.keyPrefix ?? "taskpilot:rate:",
      log: app.log,
    }),
  });
  const known = new KnownCredentials({ ttlMs: 10 * 60_000, maxEntries: 100_000 });
  const subjects = new WeakMap<FastifyRequest, string>();
  const limiters = new Map(
    (["anonymous", "unverified", "user", "api-key", "auth", "ai"] as const).map((policy) => [
      policy,
      app.createRateLimit({
        max: limitOf(settings, policy),
        timeWindow: settings.windowMs,
        keyGenerator: (request) => `${policy}:${subjects.get(request)}`,
      }),
    ]),
  );
  const windowSeconds = Math.ceil(settings.windowMs / 1000);

  app.addHook("onRequest", async (request, reply) => {
    if (request.routeOptions.config.rateLimit === false) return;
    const credential = credentialFingerprint(request);
    const { policy, subject } = choosePolicy({
      method: request.method,
      path: request.url.split("?", 1)[0] ?? "/",
      clientAddress: normalizeIP(request.ip),
      credential,
      principal: credential ? known.principalOf(credential, Date.now()) : undefined,
      viaApiKey: request.headers["x-api-key"] !== undefined,
    });
    subjects.set(request, subject);
    const outcome = await limiters.get(policy)?.(request);
    if (!outcome || outcome.isAllowed) return;
    sendHeaders(reply, policy, windowSeconds, outcome);
    if (outcome.isExceeded) {
      throw new DomainError(
        "rate_limited",
        `Rate limit of ${outcome.max} requests per ${windowSeconds} s reached; retry in ${outcome.ttlInSeconds} s`,
        { headers: { "retry-after": String(outcome.ttlInSeconds) } },
      );
    }
  });

  // Learn which principal a credential belongs to from requests that authenticated.
  app.addHook("onResponse", async (request) => {
    const principal = principalOf(request);
    if (!principal) return;
    const credential = credentialFingerprint(request);
    if (credential) known.remember(credential, principal, Date.now());
  });
}

/** The IETF draft fields (draft-ietf-httpapi-ratelimit-headers-09) and the common X- trio. */
function sendHeaders(
  reply: FastifyReply,
  policy: PolicyName,
  windowSeconds: number,
  outcome: Outcome,
): void {
  const remaining = outcome.isExceeded ? 0 : outcome.remaining;
  reply.header("ratelimit-policy", `"${policy}";q=${outcome.max};w=${windowSeconds}`);
  reply.header("ratelimit", `"${policy}";r=${remaining};t=${outcome.ttlInSeconds}`);
  reply.header("x-ratelimit-limit", String(outcome.max));
  reply.header("x-ratelimit-remaining", String(remaining));
  reply.header("x-ratelimit-reset", String(outcome.ttlInSeconds));
}
