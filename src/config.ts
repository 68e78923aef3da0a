import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const port = "must be a port number from 0 to 65535";
const poolSize = "must be a whole number from 1 to 200";

const envSchema = z.object({
  PORT: z.coerce.number({ error: port }).int(port).min(0, port).max(65535, port).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" })
    .optional(),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
    .optional(),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).optional(),
  MAIL_FROM: z.string().min(3).max(200).optional(),
  LOG_LEVEL: z.enum(logLevels, { error: `must be one of ${logLevels.join(", ")}` }).default("info"),
  DATABASE_POOL_SIZE: z.coerce
    .number({ error: poolSize })
    .int(poolSize)
    .min(1, poolSize)
    .max(200, poolSize)
    .default(10),
});

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  publicUrl: string;
  authSecret: string;
  /** Invitation mail goes out through this SMTP server when set; otherwise links are logged. */
  smtpUrl: string | undefined;
  /** From of that mail; the app defaults it to no-reply at PUBLIC_URL's host. */
  mailFrom: string | undefined;
  logLevel: (typeof logLevels)[number];
};

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

/**
 * Reads the environment once. Empty strings count as unset, so `FOO=` in a
 * shell or compose file does not turn into a confusing validation error.
 */
export function loadConfig(env: Env = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(present);
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
    databasePoolSize: values.DATABASE_POOL_SIZE,
    redisUrl: values.REDIS_URL,
    publicUrl: publicUrl.replace(/\/+$/, ""),
    authSecret: values.AUTH_SECRET ?? embeddedAuthSecret(values.DATABASE_URL, dataDir),
    smtpUrl: values.SMTP_URL,
    mailFrom: values.MAIL_FROM,
    logLevel: values.LOG_LEVEL,
  };
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
