import { type AppDeps, buildApp } from "./app.ts";
import type { Config } from "./config.ts";
import { connectRedis } from "./platform/cache/redis.ts";
import { migrateDatabase } from "./platform/db/migrate.ts";
import { openDatabase } from "./platform/db/pool.ts";
import { logDestination } from "./platform/observability/logger.ts";

/** Opens the configured database, brings it up to date and builds the app on it. */
export async function startFromConfig(config: Config, overrides: Partial<AppDeps> = {}) {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    poolTimeoutMs: config.databasePoolTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
  });
  await migrateDatabase(database);
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const app = await buildApp({
    database,
    authSecret: config.authSecret,
    publicUrl: config.publicUrl,
    logLevel: config.logLevel,
    // Not made when the caller brings its own (the MCP stdio server keeps stdout for the protocol).
    logStream: overrides.logStream ?? logDestination(),
    checkResponses: config.checkResponses,
    redis,
    oauth: config.oauth,
    smtpUrl: config.smtpUrl,
    mailFrom: config.mailFrom,
    ai: config.ai,
    rateLimit: config.rateLimit,
    overload: config.overload,
    trustProxy: config.trustProxy,
    corsOrigins: config.corsOrigins,
    metricsToken: config.metricsToken,
    webhooks: { allowPrivate: config.webhookAllowPrivate },
    authCacheMaxEntries: config.authCacheMaxEntries,
    ...overrides,
  });
  return { app, database, redis };
}
