import "./platform/runtime.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { stopTracing } from "./platform/observability/trace-shutdown.ts";
import { startFromConfig } from "./server.ts";

async function main() {
  const config = loadConfig();
  const { app, database, redis } = await startFromConfig(config);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down: finishing in-flight requests");
    // A request that never finishes must not keep the process alive forever.
    setTimeout(() => {
      app.log.error("in-flight requests did not finish within 15 s; exiting anyway");
      process.exit(1);
    }, 15_000).unref();
    // Stop accepting, let in-flight requests finish, then close the pool and Redis.
    await app.close();
    await database.close();
    await redis?.quit();
    await stopTracing();
    app.log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ database: database.kind, docs: `${config.publicUrl}/docs` }, "Taskpilot is ready");
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(
      `Taskpilot failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
});
