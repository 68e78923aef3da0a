import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { z } from "zod";
import { type AiSettings, aiSettingsFromEnv } from "./modules/ai/settings.ts";
import { type OAuthProviders, reservedProviderIds } from "./platform/auth/oidc.ts";
import { defaultOverload, type OverloadSettings } from "./platform/http/overload.ts";
import { defaultRateLimits, type RateLimitSettings } from "./platform/http/rate-limit/policy.ts";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const port = "must be a port number from 0 to 65535";
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const whole = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: message }).int(message).min(min, message).max(max, message);
};
const flag = z
  .enum(["true", "false", "on", "off", "1", "0"], { error: "must be true or false" })
  .transform((value) => value === "true" || value === "on" || value === "1");

/** The AI layer's variables (README, "AI"); AI_ROUTES and AI_PRICES are checked by the AI module. */
const aiEnv = {
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: httpUrl.optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  LOCAL_LLM_BASE_URL: httpUrl.optional(),
  LOCAL_LLM_MODEL: z.string().min(1).max(200).optional(),
  LOCAL_LLM_EMBEDDING_MODEL: z.string().min(1).max(200).optional(),
  LOCAL_LLM_API_KEY: z.string().min(1).optional(),
  AI_ROUTES: z.string().min(1).optional(),
  AI_PRICES: z.string().min(1).optional(),
  AI_TIMEOUT_MS: whole(100, 600_000).optional(),
  AI_MAX_RETRIES: whole(0, 10).optional(),
  AI_BREAKER_FAILURES: whole(1, 1000).optional(),
  AI_BREAKER_COOLDOWN_MS: whole(0, 3_600_000).optional(),
  AI_CACHE: flag.optional(),
  AI_CACHE_TTL_SECONDS: whole(1, 365 * 24 * 3600).optional(),
  AI_LOCAL_WHEN_OVER_BUDGET: flag.optional(),
  AI_USER_MONTHLY_BUDGET_USD: z.coerce
    .number({ error: "must be a number of US dollars" })
    .min(0, "must not be negative")
    .optional(),
  AI_REDACT_PII: flag.optional(),
  AI_MODERATION: flag.optional(),
  AI_LINK_ALLOWLIST: z.string().optional(),
  AI_CHAT_MAX_STEPS: whole(1, 50).optional(),
  AI_CHAT_MAX_TOKENS: whole(1_000, 2_000_000).optional(),
};
const poolSize = "must be a whole number from 1 to 200";

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);
const secret = z.string().trim().min(1, "must not be blank");

/**
 * An issuer is where id_tokens and keys come from, so plain http is refused
 * except on the loopback interface (local development and tests).
 */
const issuerUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .refine((value) => {
    const url = URL.parse(value);
    return !url || url.protocol === "https:" || loopbackHosts.has(url.hostname);
  }, "must be an https URL (http only on localhost)")
  .refine((value) => !/[?#]/.test(value), "must not have a query or fragment");

const providerId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,49}$/, "must be 1-50 lowercase letters, digits or dashes")
  .refine((value) => !reservedProviderIds.includes(value), {
    error: `must not be one of ${reservedProviderIds.join(", ")}`,
  });

/**
 * Variables that only make sense together: when any one of a group is set,
 * each `required` one must be too, so a half-configured provider stops the
 * start instead of failing at the first sign-in.
 */
const providerGroups = [
  {
    required: ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"],
    optional: ["OIDC_PROVIDER_ID", "OIDC_PROVIDER_NAME", "OIDC_SCOPES"],
  },
  { required: ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"], optional: [] },
  { required: ["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"], optional: [] },
] as const;
/** A whole number in [min, max] (0 often meaning "off"), with the message naming the range. */
function wholeNumber(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce
    .number({ error: message })
    .int(message)
    .min(min, message)
    .max(max, message)
    .default(fallback);
}

function commaList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** A comma-separated list whose every item passes `valid`; the message quotes the bad one. */
function listOf(valid: (item: string) => boolean, expected: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const bad = commaList(value).find((item) => !valid(item));
      if (bad !== undefined) ctx.addIssue({ code: "custom", message: `has "${bad}", ${expected}` });
    })
    .transform(commaList);
}

const proxyKeywords = new Set(["loopback", "linklocal", "uniquelocal"]);

function isProxyAddress(item: string): boolean {
  if (proxyKeywords.has(item)) return true;
  const [address = "", prefix, ...rest] = item.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}

function isOrigin(item: string): boolean {
  if (item === "*") return true;
  try {
    const url = new URL(item);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === item;
  } catch {
    return false;
  }
}

const booleanFlag = z
  .enum(["true", "false", "1", "0"], { error: "must be true or false" })
  .transform((value) => value === "true" || value === "1");

const megabytes = 1024 * 1024;

const envSchema = z.object({
  PORT: z.coerce.number({ error: port }).int(port).min(0, port).max(65535, port).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" })
    .optional(),
  DATABASE_DIRECT_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" })
    .optional(),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
    .optional(),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  METRICS_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .optional(),
  WEBHOOK_ALLOW_PRIVATE: booleanFlag.default(false),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).optional(),
  MAIL_FROM: z.string().min(3).max(200).optional(),
  LOG_LEVEL: z.enum(logLevels, { error: `must be one of ${logLevels.join(", ")}` }).default("info"),
  RESPONSE_CHECK: booleanFlag.default(false),
  DATABASE_POOL_SIZE: z.coerce
    .number({ error: poolSize })
    .int(poolSize)
    .min(1, poolSize)
    .max(200, poolSize)
    .default(10),
  DATABASE_POOL_TIMEOUT_MS: wholeNumber(100, 60_000, 5_000),
  DATABASE_STATEMENT_TIMEOUT_MS: wholeNumber(0, 3_600_000, 30_000),
  AUTH_CACHE_MAX_ENTRIES: wholeNumber(1, 1_000_000, 10_000),
  TRUST_PROXY: listOf(
    isProxyAddress,
    "which is not an IP address, a CIDR range, loopback, linklocal or uniquelocal",
  ).optional(),
  CORS_ORIGINS: listOf(isOrigin, 'which is not an origin like https://app.example.com or "*"')
    .refine((origins) => !origins.includes("*") || origins.length === 1, {
      message: 'must be "*" alone or a list of origins',
    })
    .optional(),
  RATE_LIMIT_ENABLED: booleanFlag.default(true),
  RATE_LIMIT_WINDOW_SECONDS: wholeNumber(1, 86_400, defaultRateLimits.windowMs / 1000),
  RATE_LIMIT_ANONYMOUS: wholeNumber(1, 1_000_000, defaultRateLimits.anonymous),
  RATE_LIMIT_USER: wholeNumber(1, 1_000_000, defaultRateLimits.user),
  RATE_LIMIT_API_KEY: wholeNumber(1, 1_000_000, defaultRateLimits.apiKey),
  RATE_LIMIT_AUTH: wholeNumber(1, 1_000_000, defaultRateLimits.auth),
  RATE_LIMIT_AI: wholeNumber(1, 1_000_000, defaultRateLimits.ai),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: wholeNumber(0, 60_000, defaultOverload.maxEventLoopDelayMs),
  OVERLOAD_MAX_HEAP_MB: wholeNumber(
    0,
    1_048_576,
    Math.floor(defaultOverload.maxHeapUsedBytes / megabytes),
  ),
  OVERLOAD_MAX_RSS_MB: wholeNumber(0, 1_048_576, 0),
  OVERLOAD_RETRY_AFTER_SECONDS: wholeNumber(1, 3_600, defaultOverload.retryAfterSeconds),
  OIDC_ISSUER: issuerUrl.optional(),
  OIDC_CLIENT_ID: secret.optional(),
  OIDC_CLIENT_SECRET: secret.optional(),
  OIDC_PROVIDER_ID: providerId.optional(),
  OIDC_PROVIDER_NAME: z
    .string()
    .trim()
    .min(1)
    .max(100, "must be at most 100 characters")
    .optional(),
  OIDC_SCOPES: z
    .string()
    .regex(/^[\w.:/@-]+( [\w.:/@-]+)*$/, "must be scopes separated by single spaces")
    .optional(),
  GITHUB_CLIENT_ID: secret.optional(),
  GITHUB_CLIENT_SECRET: secret.optional(),
  GOOGLE_CLIENT_ID: secret.optional(),
  GOOGLE_CLIENT_SECRET: secret.optional(),
  ...aiEnv,
});

/** The schema plus the rules that span variables. */
const configSchema = envSchema.superRefine((values, ctx) => {
  if (values.DATABASE_DIRECT_URL !== undefined && values.DATABASE_URL === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["DATABASE_DIRECT_URL"],
      message: "needs DATABASE_URL (it is the direct way to that server)",
    });
  }
  for (const group of providerGroups) {
    const given = [...group.required, ...group.optional].find((name) => values[name] !== undefined);
    if (!given) continue;
    for (const name of group.required) {
      if (values[name] === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `is required when ${given} is set`,
        });
      }
    }
  }
});

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** The server itself, for LISTEN and migrations, when DATABASE_URL goes through a transaction pooler. */
  databaseDirectUrl: string | undefined;
  databasePoolSize: number;
  databasePoolTimeoutMs: number;
  databaseStatementTimeoutMs: number;
  /** Signed-in credentials (and their users) each instance keeps in memory. */
  authCacheMaxEntries: number;
  redisUrl: string | undefined;
  trustProxy: string[];
  corsOrigins: string[];
  metricsToken: string | undefined;
  /** Webhooks may target http:// and private addresses (development and tests only). */
  webhookAllowPrivate: boolean;
  rateLimit: RateLimitSettings | false;
  overload: OverloadSettings;
  publicUrl: string;
  authSecret: string;
  /** Invitation mail goes out through this SMTP server when set; otherwise links are logged. */
  smtpUrl: string | undefined;
  /** From of that mail; the app defaults it to no-reply at PUBLIC_URL's host. */
  mailFrom: string | undefined;
  logLevel: (typeof logLevels)[number];
  /** Validate every answer against its schema as well as serializing it (tests, staging). */
  checkResponses: boolean;
  oauth: OAuthProviders;
  ai: AiSettings;
};

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

/**
 * Reads the environment once. Empty strings count as unset, so `FOO=` in a
 * shell or compose file does not turn into a confusing validation error.
 */
export function loadConfig(env: Env = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join(".") ?? "environment";
    throw new ConfigError(`Invalid configuration: ${variable} ${issue?.message ?? "is invalid"}`);
  }
  const values = parsed.data;
  const dataDir = resolve(values.DATA_DIR);
  const publicUrl = values.PUBLIC_URL ?? `http://${urlHost(values.HOST)}:${values.PORT}`;
  return {
    port: values.PORT,
    host: values.HOST,
    dataDir,
    databaseUrl: values.DATABASE_URL,
    databaseDirectUrl: values.DATABASE_DIRECT_URL,
    databasePoolSize: values.DATABASE_POOL_SIZE,
    databasePoolTimeoutMs: values.DATABASE_POOL_TIMEOUT_MS,
    databaseStatementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
    authCacheMaxEntries: values.AUTH_CACHE_MAX_ENTRIES,
    redisUrl: values.REDIS_URL,
    trustProxy: values.TRUST_PROXY ?? [],
    corsOrigins: values.CORS_ORIGINS ?? [],
    metricsToken: values.METRICS_TOKEN,
    webhookAllowPrivate: values.WEBHOOK_ALLOW_PRIVATE,
    rateLimit: values.RATE_LIMIT_ENABLED && {
      windowMs: values.RATE_LIMIT_WINDOW_SECONDS * 1000,
      anonymous: values.RATE_LIMIT_ANONYMOUS,
      user: values.RATE_LIMIT_USER,
      apiKey: values.RATE_LIMIT_API_KEY,
      auth: values.RATE_LIMIT_AUTH,
      ai: values.RATE_LIMIT_AI,
    },
    overload: {
      maxEventLoopDelayMs: values.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: values.OVERLOAD_MAX_HEAP_MB * megabytes,
      maxRssBytes: values.OVERLOAD_MAX_RSS_MB * megabytes,
      maxEventLoopUtilization: 0,
      retryAfterSeconds: values.OVERLOAD_RETRY_AFTER_SECONDS,
    },
    publicUrl: publicUrl.replace(/\/+$/, ""),
    authSecret: values.AUTH_SECRET ?? embeddedAuthSecret(values.DATABASE_URL, dataDir),
    smtpUrl: values.SMTP_URL,
    mailFrom: values.MAIL_FROM,
    logLevel: values.LOG_LEVEL,
    checkResponses: values.RESPONSE_CHECK,
    oauth: oauthProviders(values),
    ai: aiSettings(values, publicUrl),
  };
}

function aiSettings(values: z.infer<typeof envSchema>, publicUrl: string): AiSettings {
  try {
    return aiSettingsFromEnv(values, publicUrl);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ${(error as Error).message}`);
  }
}

/** The sign-in providers the (already validated) environment configures. */
function oauthProviders(values: z.infer<typeof envSchema>): OAuthProviders {
  const providers: OAuthProviders = {};
  if (values.OIDC_ISSUER && values.OIDC_CLIENT_ID && values.OIDC_CLIENT_SECRET) {
    const scopes = (values.OIDC_SCOPES ?? "openid email profile").split(" ");
    providers.oidc = {
      providerId: values.OIDC_PROVIDER_ID ?? "oidc",
      name: values.OIDC_PROVIDER_NAME ?? "OpenID Connect",
      issuer: values.OIDC_ISSUER,
      clientId: values.OIDC_CLIENT_ID,
      clientSecret: values.OIDC_CLIENT_SECRET,
      scopes: [...new Set(["openid", ...scopes])],
    };
  }
  if (values.GITHUB_CLIENT_ID && values.GITHUB_CLIENT_SECRET) {
    providers.github = {
      clientId: values.GITHUB_CLIENT_ID,
      clientSecret: values.GITHUB_CLIENT_SECRET,
    };
  }
  if (values.GOOGLE_CLIENT_ID && values.GOOGLE_CLIENT_SECRET) {
    providers.google = {
      clientId: values.GOOGLE_CLIENT_ID,
      clientSecret: values.GOOGLE_CLIENT_SECRET,
    };
  }
  return providers;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Embedded mode must start with zero configuration, so it keeps a generated
 * secret beside its data. Against a shared server a generated secret would
 * differ per instance and silently log everyone out, so it is an error there.
 */
function embeddedAuthSecret(databaseUrl: string | undefined, dataDir: string): string {
  if (databaseUrl) {
    throw new ConfigError(
      "Invalid configuration: AUTH_SECRET is required when DATABASE_URL is set (32+ characters)",
    );
  }
  const file = join(dataDir, "auth-secret");
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 32) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secret = randomBytes(32).toString("base64url");
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
