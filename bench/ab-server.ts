/**
 * One side of `bench/ab.ts`: serves a checkout's app (its own src/ and
 * node_modules) as the bench does, on a database another process seeded,
 * and tells its parent the port it listens on.
 *
 *   node bench/ab-server.ts <checkout root>     (AB_DATABASE_URL in the env)
 */
const [root] = process.argv.slice(2);
const databaseUrl = process.env.AB_DATABASE_URL;
if (!root || !databaseUrl) {
  throw new Error("usage: AB_DATABASE_URL=... node bench/ab-server.ts <checkout root>");
}
await import(`${root}/src/platform/runtime.ts`);
const { buildApp } = await import(`${root}/src/app.ts`);
const { openDatabase } = await import(`${root}/src/platform/db/pool.ts`);
const logger = await import(`${root}/src/platform/observability/logger.ts`);
const { default: pino } = await import(`${root}/node_modules/pino/pino.js`);
// Logged as that checkout's `npm start` logs, to /dev/null: through its
// `logDestination` where it has one, else pino's default (synchronous) one.
const logStream =
  typeof logger.logDestination === "function"
    ? logger.logDestination("/dev/null")
    : pino.destination({ dest: "/dev/null", sync: true });
const database = await openDatabase({ databaseUrl, poolSize: 10 });
const app = await buildApp({
  database,
  authSecret: "ab-bench-secret-not-a-real-one-0123456789ab",
  publicUrl: "http://127.0.0.1",
  logLevel: "info",
  logStream,
  authRateLimit: false,
  rateLimit: false,
  search: { worker: false },
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
