import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { v7 as uuidv7 } from "uuid";
import { ConfigError, loadConfig } from "../config.ts";
import { createMcpServer } from "../modules/assistant/mcp.ts";
import type { Actor } from "../platform/auth/actor.ts";
import type { Context } from "../platform/context.ts";
import { DomainError } from "../platform/http/errors.ts";
import { startFromConfig } from "../server.ts";

/**
 * `npx taskpilot mcp`: the MCP server over stdio for desktop clients. Stdout
 * carries the protocol and nothing else, so logs (and anything a library
 * prints) go to stderr.
 */
console.log = console.error;
console.info = console.error;

type ResolveCredential = (headers: Record<string, string>) => Promise<Actor | null>;

/**
 * The credential from the environment, as the headers an HTTP client would
 * send: an API key (TASKPILOT_API_KEY), or a session token (TASKPILOT_TOKEN).
 */
function credentialHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.TASKPILOT_API_KEY) return { "x-api-key": env.TASKPILOT_API_KEY };
  if (env.TASKPILOT_TOKEN) return { authorization: `Bearer ${env.TASKPILOT_TOKEN}` };
  throw new ConfigError(
    "Set TASKPILOT_API_KEY (an API key) or TASKPILOT_TOKEN (a session token) to say who you are",
  );
}

async function main() {
  const headers = credentialHeaders(process.env);
  const config = loadConfig();
  const { app, database, redis } = await startFromConfig(config, { logStream: process.stderr });
  await app.ready();
  const resolve: ResolveCredential = app.resolveCredential;
  if (!(await resolve(headers))) {
    throw new ConfigError("The credential in TASKPILOT_API_KEY / TASKPILOT_TOKEN was not accepted");
  }

  // Checked again for every call: a revoked credential stops working at once.
  const contextFor = async (): Promise<Context> => {
    const actor = await resolve(headers);
    if (!actor) throw new DomainError("unauthenticated", "The credential is no longer valid");
    const requestId = uuidv7();
    return {
      actor,
      db: database.db,
      requestId,
      now: () => new Date(),
      services: app.services,
      log: app.log.child({ requestId, transport: "mcp-stdio" }),
    };
  };

  const server = createMcpServer(contextFor);
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await server.close();
    await app.close();
    await database.close();
    await redis?.quit();
    process.exit(0);
  };
  // The client ends the session by closing our stdin (or by a signal).
  process.stdin.on("end", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  await server.connect(new StdioServerTransport());
  app.log.info({ database: database.kind }, "Taskpilot MCP server on stdio");
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
