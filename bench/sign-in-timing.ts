/**
 * `npx node bench/sign-in-timing.ts`: does a failed sign-in take as long for an
 * unknown email as for a known email with the wrong password? (Timing must
 * not tell an attacker which emails have accounts.) Interleaves the two kinds
 * of attempt, each from its own client address so no limit kicks in, and
 * prints the medians. Not a test: timing on a shared machine is noisy.
 *
 *   npx node bench/sign-in-timing.ts [--db pglite|postgres] [--attempts 20]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { buildApp } from "../src/app.ts";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { parseFlags } from "./cli.ts";
import { openBenchDatabase } from "./database.ts";

const flags = parseFlags(
  "npx node bench/sign-in-timing.ts [--db pglite|postgres] [--attempts 20]",
  {
    options: {
      db: { type: "string", default: "pglite" },
      attempts: { type: "string", default: "20" },
    },
  },
);
const attempts = flags.integer("attempts", flags.values.attempts);

const bench = await openBenchDatabase({
  db: flags.choice("db", flags.values.db, ["pglite", "postgres"]),
  databaseUrl: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  poolSize: 10,
});
try {
  await runMigrations(bench.database.pool);
  const app = await buildApp({
    database: bench.database,
    authSecret: randomBytes(32).toString("base64url"),
    publicUrl: "http://127.0.0.1",
    logLevel: "silent",
    authRateLimit: false,
  });
  await app.ready();
  const email = `timing-${randomUUID()}@example.com`;
  const signUp = await app.inject({
    method: "POST",
    url: "/api/auth/sign-up/email",
    payload: { name: "Timing", email, password: "correct horse battery staple" },
  });
  if (signUp.statusCode !== 200) throw new Error(`sign-up failed: ${signUp.body}`);

  let address = 0;
  const failedSignIn = async (target: string) => {
    address += 1;
    const started = process.hrtime.bigint();
    const response = await app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      remoteAddress: `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`,
      payload: { email: target, password: "not the password at all" },
    });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (response.statusCode !== 401) throw new Error(`expected 401, got ${response.statusCode}`);
    return elapsed;
  };
  const unknownEmail = () => failedSignIn(`nobody-${randomUUID()}@example.com`);
  const wrongPassword = () => failedSignIn(email);

  for (let i = 0; i < 5; i += 1) {
    await unknownEmail();
    await wrongPassword();
  }
  const times = { unknown: [] as number[], wrong: [] as number[] };
  for (let i = 0; i < attempts; i += 1) {
    // Alternate which goes first, so drift in machine load hits both alike.
    if (i % 2 === 0) {
      times.unknown.push(await unknownEmail());
      times.wrong.push(await wrongPassword());
    } else {
      times.wrong.push(await wrongPassword());
      times.unknown.push(await unknownEmail());
    }
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[middle] ?? 0)
      : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  };
  const unknown = median(times.unknown);
  const wrong = median(times.wrong);
  console.log(`${bench.version}; ${attempts} attempts of each kind`);
  console.log(`median unknown email:   ${unknown.toFixed(1)} ms`);
  console.log(`median wrong password:  ${wrong.toFixed(1)} ms`);
  console.log(
    `difference:             ${(wrong - unknown).toFixed(1)} ms (${(((wrong - unknown) / wrong) * 100).toFixed(1)}% of the wrong-password time)`,
  );
  await app.close();
} finally {
  await bench.dispose();
}
