import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, processTestTimeoutMs, startServer, tempDir } from "../test/server-process.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { defaultRateLimits } from "./platform/http/rate-limit/policy.ts";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratchDir(): string {
  const dir = tempDir("config");
  cleanups.push(dir.remove);
  return dir.path;
}

/** Runs `work` with the working directory in a fresh temp dir, so ./data lands there. */
function inScratchCwd<T>(work: (cwd: string) => T): T {
  const previous = process.cwd();
  const cwd = scratchDir();
  process.chdir(cwd);
  try {
    return work(process.cwd());
  } finally {
    process.chdir(previous);
  }
}

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const strongSecret = "s".repeat(32);

describe("loadConfig", () => {
  it("starts with no configuration at all: port 3000 on 127.0.0.1, data in ./data", () => {
    inScratchCwd((cwd) => {
      const config = loadConfig({});
      expect(config).toMatchObject({
        port: 3000,
        host: "127.0.0.1",
        dataDir: join(cwd, "data"),
        databaseUrl: undefined,
        databasePoolSize: 10,
        publicUrl: "http://127.0.0.1:3000",
        logLevel: "info",
      });
      expect(config.authSecret.length).toBeGreaterThanOrEqual(32);
    });
  });

  it("generates AUTH_SECRET once, keeps it in DATA_DIR with mode 0600 and reuses it", () => {
    const dataDir = join(scratchDir(), "nested", "data");
    const first = loadConfig({ DATA_DIR: dataDir });
    const file = join(dataDir, "auth-secret");
    expect(readFileSync(file, "utf8").trim()).toBe(first.authSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: dataDir }).authSecret).toBe(first.authSecret);
    expect(loadConfig({ DATA_DIR: scratchDir() }).authSecret).not.toBe(first.authSecret);
  });

  it("replaces a stored secret that is too short to be safe", () => {
    const dataDir = scratchDir();
    writeFileSync(join(dataDir, "auth-secret"), "short\n");
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.authSecret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dataDir, "auth-secret"), "utf8").trim()).toBe(config.authSecret);
  });

  it("works with NODE_ENV=production and nothing else", () => {
    inScratchCwd(() => {
      expect(loadConfig({ NODE_ENV: "production" })).toMatchObject({ port: 3000 });
    });
  });

  it("prefers a given AUTH_SECRET and writes nothing", () => {
    const dataDir = scratchDir();
    const config = loadConfig({ DATA_DIR: dataDir, AUTH_SECRET: strongSecret });
    expect(config.authSecret).toBe(strongSecret);
    expect(() => statSync(join(dataDir, "auth-secret"))).toThrow();
  });

  it("reads every variable it knows", () => {
    const config = loadConfig({
      PORT: "8080",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgresql://app@db:5432/taskpilot",
      DATABASE_POOL_SIZE: "25",
      REDIS_URL: "rediss://cache:6380",
      PUBLIC_URL: "https://tasks.example.com/",
      AUTH_SECRET: strongSecret,
      SMTP_URL: "smtps://mailer:secret@smtp.example.com:465",
      MAIL_FROM: "Tasks <tasks@example.com>",
      LOG_LEVEL: "warn",
      METRICS_TOKEN: "scrape-me-0123456789",
      WEBHOOK_ALLOW_PRIVATE: "true",
    });
    expect(config).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      databaseUrl: "postgresql://app@db:5432/taskpilot",
      databasePoolSize: 25,
      redisUrl: "rediss://cache:6380",
      publicUrl: "https://tasks.example.com",
      smtpUrl: "smtps://mailer:secret@smtp.example.com:465",
      mailFrom: "Tasks <tasks@example.com>",
      logLevel: "warn",
      metricsToken: "scrape-me-0123456789",
      webhookAllowPrivate: true,
    });
  });

  it("sends no mail without SMTP_URL", () => {
    const config = loadConfig({ DATA_DIR: scratchDir() });
    expect(config.smtpUrl).toBeUndefined();
  });

  it("starts with the API platform defaults: limits on, no proxies, no CORS", () => {
    const config = loadConfig({ DATA_DIR: scratchDir() });
    expect(config).toMatchObject({
      webhookAllowPrivate: false,
      trustProxy: [],
      corsOrigins: [],
      rateLimit: defaultRateLimits,
      databasePoolTimeoutMs: 5_000,
      databaseStatementTimeoutMs: 30_000,
      authCacheMaxEntries: 10_000,
      overload: { maxEventLoopDelayMs: 1_000, maxRssBytes: 0, retryAfterSeconds: 10 },
    });
    expect(config.overload.maxHeapUsedBytes).toBeGreaterThan(0);
  });

  it("reads the API platform variables", () => {
    const config = loadConfig({
      DATA_DIR: scratchDir(),
      TRUST_PROXY: "10.0.0.0/8, 192.168.1.7 ,loopback,::1/128",
      CORS_ORIGINS: "https://app.example.com,http://localhost:5173",
      RATE_LIMIT_WINDOW_SECONDS: "10",
      RATE_LIMIT_ANONYMOUS: "5",
      RATE_LIMIT_USER: "100",
      RATE_LIMIT_API_KEY: "200",
      RATE_LIMIT_AUTH: "3",
      RATE_LIMIT_AI: "7",
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
      OVERLOAD_MAX_HEAP_MB: "512",
      OVERLOAD_MAX_RSS_MB: "1024",
      OVERLOAD_RETRY_AFTER_SECONDS: "30",
      DATABASE_POOL_TIMEOUT_MS: "2000",
      DATABASE_STATEMENT_TIMEOUT_MS: "0",
      AUTH_CACHE_MAX_ENTRIES: "250000",
    });
    expect(config).toMatchObject({
      trustProxy: ["10.0.0.0/8", "192.168.1.7", "loopback", "::1/128"],
      corsOrigins: ["https://app.example.com", "http://localhost:5173"],
      rateLimit: { windowMs: 10_000, anonymous: 5, user: 100, apiKey: 200, auth: 3, ai: 7 },
      overload: {
        maxEventLoopDelayMs: 0,
        maxHeapUsedBytes: 512 * 1024 * 1024,
        maxRssBytes: 1024 * 1024 * 1024,
        retryAfterSeconds: 30,
      },
      databasePoolTimeoutMs: 2_000,
      databaseStatementTimeoutMs: 0,
      authCacheMaxEntries: 250_000,
    });
    expect(loadConfig({ DATA_DIR: scratchDir(), CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
  });

  it("turns rate limiting off with RATE_LIMIT_ENABLED=false", () => {
    expect(loadConfig({ DATA_DIR: scratchDir(), RATE_LIMIT_ENABLED: "false" }).rateLimit).toBe(
      false,
    );
  });

  it("checks responses only when RESPONSE_CHECK asks for it", () => {
    expect(loadConfig({ DATA_DIR: scratchDir() }).checkResponses).toBe(false);
    expect(loadConfig({ DATA_DIR: scratchDir(), RESPONSE_CHECK: "true" }).checkResponses).toBe(
      true,
    );
  });

  it("derives a reachable PUBLIC_URL for a wildcard or IPv6 host", () => {
    const base = { DATA_DIR: scratchDir() };
    expect(loadConfig({ ...base, HOST: "0.0.0.0", PORT: "81" }).publicUrl).toBe(
      "http://localhost:81",
    );
    expect(loadConfig({ ...base, HOST: "::1" }).publicUrl).toBe("http://[::1]:3000");
  });

  it("treats empty variables as unset", () => {
    const config = loadConfig({ DATA_DIR: scratchDir(), PORT: "", LOG_LEVEL: "", AUTH_SECRET: "" });
    expect(config).toMatchObject({ port: 3000, logLevel: "info" });
  });

  it("reads DATABASE_DIRECT_URL, and only beside DATABASE_URL", () => {
    const server = {
      DATA_DIR: scratchDir(),
      DATABASE_URL: "postgres://app@pgbouncer:6432/taskpilot",
      AUTH_SECRET: "a-secret-of-at-least-thirty-two-characters",
    };
    expect(loadConfig(server).databaseDirectUrl).toBeUndefined();
    expect(
      loadConfig({ ...server, DATABASE_DIRECT_URL: "postgres://app@db:5432/taskpilot" })
        .databaseDirectUrl,
    ).toBe("postgres://app@db:5432/taskpilot");
    const alone = configError({ DATABASE_DIRECT_URL: "postgres://app@db:5432/taskpilot" });
    expect(alone.message).toBe(
      "Invalid configuration: DATABASE_DIRECT_URL needs DATABASE_URL (it is the direct way to that server)",
    );
  });

  it("requires AUTH_SECRET when DATABASE_URL is set", () => {
    const error = configError({ DATABASE_URL: "postgres://db/taskpilot" });
    expect(error.message).toContain("AUTH_SECRET");
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["DATABASE_DIRECT_URL", "redis://x"],
    ["LOG_LEVEL", "loud"],
    ["AUTH_SECRET", "too-short"],
    ["METRICS_TOKEN", "too-short"],
    ["METRICS_TOKEN", "has a space in it 0123"],
    ["PUBLIC_URL", "ftp://example.com"],
    ["REDIS_URL", "http://cache"],
    ["SMTP_URL", "http://mail.example.com"],
    ["DATABASE_POOL_SIZE", "0"],
    ["DATABASE_POOL_TIMEOUT_MS", "10"],
    ["TRUST_PROXY", "10.0.0.0/33"],
    ["TRUST_PROXY", "proxy.internal"],
    ["CORS_ORIGINS", "https://app.example.com/path"],
    ["CORS_ORIGINS", "*,https://app.example.com"],
    ["CORS_ORIGINS", "app.example.com"],
    ["RATE_LIMIT_ENABLED", "maybe"],
    ["RESPONSE_CHECK", "yes please"],
    ["RATE_LIMIT_USER", "0"],
    ["OVERLOAD_MAX_HEAP_MB", "-1"],
    ["AUTH_CACHE_MAX_ENTRIES", "0"],
    ["AUTH_CACHE_MAX_ENTRIES", "2000000"],
  ])("rejects %s=%s with a message naming the variable", (variable, value) => {
    const error = configError({ DATA_DIR: scratchDir(), [variable]: value });
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
    expect(error.message).not.toContain("\n");
  });
});

describe("loadConfig: external sign-in providers", () => {
  const oidc = {
    OIDC_ISSUER: "https://login.example.com/realms/acme",
    OIDC_CLIENT_ID: "taskpilot",
    OIDC_CLIENT_SECRET: "s3cret",
  };
  const withDataDir = (env: Record<string, string>) => ({ DATA_DIR: scratchDir(), ...env });

  it("configures none by default", () => {
    expect(loadConfig(withDataDir({})).oauth).toEqual({});
  });

  it("reads an OpenID provider with defaults for id, name and scopes, and both presets", () => {
    const config = loadConfig(
      withDataDir({
        ...oidc,
        GITHUB_CLIENT_ID: "gh-id",
        GITHUB_CLIENT_SECRET: "gh-secret",
        GOOGLE_CLIENT_ID: "g-id",
        GOOGLE_CLIENT_SECRET: "g-secret",
      }),
    );
    expect(config.oauth).toEqual({
      oidc: {
        providerId: "oidc",
        name: "OpenID Connect",
        issuer: oidc.OIDC_ISSUER,
        clientId: "taskpilot",
        clientSecret: "s3cret",
        scopes: ["openid", "email", "profile"],
      },
      github: { clientId: "gh-id", clientSecret: "gh-secret" },
      google: { clientId: "g-id", clientSecret: "g-secret" },
    });
  });

  it("takes a provider id, name and scopes, and always asks for openid", () => {
    const config = loadConfig(
      withDataDir({
        ...oidc,
        OIDC_PROVIDER_ID: "acme-sso",
        OIDC_PROVIDER_NAME: "Acme SSO",
        OIDC_SCOPES: "email profile groups",
      }),
    );
    expect(config.oauth.oidc).toMatchObject({
      providerId: "acme-sso",
      name: "Acme SSO",
      scopes: ["openid", "email", "profile", "groups"],
    });
  });

  it("accepts a plain http issuer only on the loopback interface", () => {
    const local = loadConfig(withDataDir({ ...oidc, OIDC_ISSUER: "http://127.0.0.1:8080" }));
    expect(local.oauth.oidc?.issuer).toBe("http://127.0.0.1:8080");
    expect(
      configError(withDataDir({ ...oidc, OIDC_ISSUER: "http://login.example.com" })).message,
    ).toBe("Invalid configuration: OIDC_ISSUER must be an https URL (http only on localhost)");
  });

  it.each([
    [{ OIDC_ISSUER: oidc.OIDC_ISSUER }, "OIDC_CLIENT_ID is required when OIDC_ISSUER is set"],
    [
      { OIDC_ISSUER: oidc.OIDC_ISSUER, OIDC_CLIENT_ID: "x" },
      "OIDC_CLIENT_SECRET is required when OIDC_ISSUER is set",
    ],
    [
      { OIDC_CLIENT_ID: "x", OIDC_CLIENT_SECRET: "y" },
      "OIDC_ISSUER is required when OIDC_CLIENT_ID is set",
    ],
    [{ OIDC_SCOPES: "openid email" }, "OIDC_ISSUER is required when OIDC_SCOPES is set"],
    [{ GITHUB_CLIENT_ID: "x" }, "GITHUB_CLIENT_SECRET is required when GITHUB_CLIENT_ID is set"],
    [
      { GOOGLE_CLIENT_SECRET: "y" },
      "GOOGLE_CLIENT_ID is required when GOOGLE_CLIENT_SECRET is set",
    ],
  ])("stops on a half-configured provider %j, naming the missing variable", (env, message) => {
    expect(configError(withDataDir(env)).message).toBe(`Invalid configuration: ${message}`);
  });

  it.each([
    ["OIDC_ISSUER", "not a url"],
    ["OIDC_ISSUER", "https://login.example.com/?tenant=1"],
    ["OIDC_PROVIDER_ID", "Acme SSO"],
    ["OIDC_PROVIDER_ID", "credential"],
    ["OIDC_PROVIDER_ID", "github"],
    ["OIDC_SCOPES", "openid,email"],
    ["OIDC_CLIENT_SECRET", "   "],
  ])("rejects %s=%j with a message naming the variable", (variable, value) => {
    const error = configError(withDataDir({ ...oidc, [variable]: value }));
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });
});

describe("starting the server", { timeout: processTestTimeoutMs }, () => {
  it("exits non-zero with one readable line naming a bad variable and no stack", async () => {
    const dataDir = scratchDir();
    const server = startServer({ PORT: "abc", DATA_DIR: dataDir, HOST: "127.0.0.1" });
    cleanups.push(server.kill);
    const code = await server.exited;
    expect(code).not.toBe(0);
    const lines = server.stderr().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe("Invalid configuration: PORT must be a port number from 0 to 65535");
    expect(server.stderr()).not.toMatch(/\bat \S+|\.ts:\d+/);
  });

  it("starts and answers /healthz with a good one", async () => {
    const port = await freePort();
    const server = startServer({ PORT: String(port), DATA_DIR: scratchDir() });
    cleanups.push(server.kill);
    await server.waitForOutput("Taskpilot is ready");
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
