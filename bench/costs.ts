/**
 * `npx node bench/costs.ts`: what one request's parts cost, one call at a time
 * (no concurrency), in wall time and in CPU time of this Node process. It
 * backs the "biggest per-request costs" in the bench report: better-auth's
 * getSession against the two SQL statements it sends, Web Crypto HMACs,
 * Drizzle's query building, and the unused `search` column.
 *
 *   npx node bench/costs.ts [--db postgres|pglite] [--users 200] [--tasks 20000] [--iterations 2000]
 */
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import { createHMAC } from "@better-auth/utils/hmac";
import { and, eq, isNull, sql } from "drizzle-orm";
import { buildApp } from "../src/app.ts";
import { tasks } from "../src/modules/tasks/schema.ts";
import { member } from "../src/modules/workspaces/schema.ts";
import type { Auth } from "../src/platform/auth/auth.ts";
import { runMigrations } from "../src/platform/db/migrate.ts";
import { statements } from "./baseline.ts";
import { parseFlags } from "./cli.ts";
import { openBenchDatabase } from "./database.ts";
import { seedDatabase } from "./seed.ts";

const flags = parseFlags(
  "npx node bench/costs.ts [--db postgres|pglite] [--users 200] [--tasks 20000] [--iterations 2000]",
  {
    options: {
      db: { type: "string", default: "postgres" },
      "database-url": { type: "string" },
      users: { type: "string", default: "200" },
      tasks: { type: "string", default: "20000" },
      iterations: { type: "string", default: "2000" },
    },
  },
);
const { values } = flags;
const db = flags.choice("db", values.db, ["postgres", "pglite"]);
const iterations = flags.integer("iterations", values.iterations);
const userCount = flags.integer("users", values.users);
const taskCount = flags.integer("tasks", values.tasks);

const bench = await openBenchDatabase({
  db,
  databaseUrl:
    values["database-url"] ??
    process.env.BENCH_DATABASE_URL ??
    "postgres://postgres@127.0.0.1:5432/test",
  poolSize: 10,
});
try {
  const { pool, db: drizzleDb } = bench.database;
  await runMigrations(pool);
  const seed = await seedDatabase(pool, { users: userCount, tasks: taskCount, seed: 7 }, () => {});
  const secret = randomBytes(32).toString("base64url");
  const app = await buildApp({
    database: bench.database,
    authSecret: secret,
    publicUrl: "http://127.0.0.1",
    logLevel: "silent",
    authRateLimit: false,
    // One address plays a thousand users: the request limits would measure themselves.
    rateLimit: false,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = address !== null && typeof address === "object" ? address.port : 0;
  // The app's own better-auth instance (buildApp attaches it), as its authentication hook uses it.
  const { auth } = app as unknown as { auth: Auth };
  if (!auth?.api)
    throw new Error("buildApp no longer exposes its better-auth instance as app.auth");
  const users = seed.users.filter((user) => user.taskIds.length > 0);
  const pick = (i: number) => {
    const user = users[i % users.length];
    if (!user) throw new Error("no users");
    return { ...user, taskId: user.taskIds[0] ?? "" };
  };

  console.log(`${bench.version}; ${seed.rows.users} users, ${seed.rows.tasks} tasks`);
  console.log(`${iterations} sequential calls each after 200 warm-up calls\n`);
  console.log("| Call | wall ms/call | Node CPU ms/call |");
  console.log("|---|---:|---:|");
  const measure = async (label: string, call: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await call(i);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < iterations; i++) await call(i);
    const wall = (performance.now() - started) / iterations;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000 / iterations;
    console.log(`| ${label} | ${wall.toFixed(3)} | ${cpuMs.toFixed(3)} |`);
  };

  await measure("raw pg: session by token, then user (what getSession sends)", async (i) => {
    const session = await pool.query<{ user_id: string }>(statements.session, [pick(i).token]);
    await pool.query(statements.user, [session.rows[0]?.user_id]);
  });
  await measure("better-auth auth.api.getSession, bearer token", async (i) => {
    const found = await auth.api.getSession({
      headers: new Headers({ authorization: `Bearer ${pick(i).token}` }),
    });
    if (!found) throw new Error("session not found");
  });
  const sessionJoin = `select u.id, u.name, u.email, u.timezone, s.expires_at from "session" s join "user" u on u.id = s.user_id where s.token = $1 and s.expires_at > now()`;
  await measure("raw pg: session join user, one named prepared statement", async (i) => {
    await pool.query({ name: "bench_session_user", text: sessionJoin, values: [pick(i).token] });
  });
  await measure("3 HMAC-SHA256 via Web Crypto (bearer sign + verify, cookie verify)", async (i) => {
    const hmac = createHMAC("SHA-256", "base64urlnopad");
    const signature = await hmac.sign(secret, pick(i).token);
    await hmac.verify(secret, pick(i).token, signature);
    await hmac.verify(secret, pick(i).token, signature);
  });
  await measure("3 HMAC-SHA256 via node:crypto createHmac", async (i) => {
    for (let k = 0; k < 3; k++) createHmac("sha256", secret).update(pick(i).token).digest();
  });
  await measure("raw pg: findVisibleTask statement", async (i) => {
    await pool.query(statements.visibleTask, [pick(i).id, pick(i).taskId]);
  });
  const visible = (userId: string, taskId: string) =>
    drizzleDb
      .select({ row: tasks, role: member.role })
      .from(tasks)
      .innerJoin(
        member,
        and(eq(member.organizationId, tasks.workspaceId), eq(member.userId, userId)),
      )
      .where(and(eq(tasks.id, taskId), isNull(tasks.deletedAt)));
  await measure("drizzle: findVisibleTask query, built per call (as in src)", async (i) => {
    await visible(pick(i).id, pick(i).taskId);
  });
  const prepared = drizzleDb
    .select({ row: tasks, role: member.role })
    .from(tasks)
    .innerJoin(
      member,
      and(eq(member.organizationId, tasks.workspaceId), eq(member.userId, sql.placeholder("user"))),
    )
    .where(and(eq(tasks.id, sql.placeholder("task")), isNull(tasks.deletedAt)))
    .prepare("bench_visible_task");
  await measure("drizzle: same query, .prepare()d once", async (i) => {
    await prepared.execute({ user: pick(i).id, task: pick(i).taskId });
  });
  await measure("raw pg: list page (50 open tasks by dueAt, one page per workspace)", async (i) => {
    await pool.query(statements.list, ["open", 51, pick(i).id, 51]);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, token?: string) =>
    new Promise<void>((resolve, reject) => {
      const request = http.get(
        {
          agent,
          host: "127.0.0.1",
          port,
          path,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        },
        (response) => {
          response.resume();
          response.on("end", () =>
            response.statusCode === 200
              ? resolve()
              : reject(new Error(`GET ${path} -> ${response.statusCode}`)),
          );
        },
      );
      request.on("error", reject);
    });
  await measure("HTTP GET /healthz (framework + client floor)", () => get("/healthz"));
  await measure("HTTP GET /v1/tasks/{id}", (i) =>
    get(`/v1/tasks/${pick(i).taskId}`, pick(i).token),
  );
  await measure("HTTP GET /v1/tasks?status=open&sort=dueAt&limit=50", (i) =>
    get("/v1/tasks?status=open&sort=dueAt&limit=50", pick(i).token),
  );
  agent.destroy();
  console.log(
    "\nNode CPU is this whole process: for the HTTP rows it includes the client side (node:http, keep-alive); with PGlite it includes the database.",
  );
  await app.close();
} finally {
  await bench.dispose();
}
