#!/usr/bin/env node
// `taskpilot <command>`: runs a Taskpilot CLI on the project's pinned Node 24
// (the `node` devDependency), since the system Node may be too old to run
// TypeScript. Plain JavaScript so that any Node can start it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const commands = {
  mcp: "src/cli/mcp-stdio.ts",
  migrate: "src/cli/migrate.ts",
};

const [command, ...args] = process.argv.slice(2);
const script = commands[command ?? ""];
if (!script) {
  process.stderr.write(
    `Usage: taskpilot <command>\n  mcp      MCP server on stdio (TASKPILOT_API_KEY or TASKPILOT_TOKEN)\n  migrate  apply database migrations\n`,
  );
  process.exit(command ? 2 : 0);
}

const root = fileURLToPath(new URL("..", import.meta.url));
const pinned = join(root, "node_modules", "node", "bin", "node");
// Node 22.18+ runs TypeScript without flags; older ones need the pinned binary.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const canRunTypeScript = major > 22 || (major === 22 && minor >= 18);
const node = existsSync(pinned) ? pinned : canRunTypeScript ? process.execPath : null;
if (!node) {
  process.stderr.write("Taskpilot needs Node 22.18 or newer; run `npm install` in the project.\n");
  process.exit(1);
}

// stdio is inherited: for `mcp`, stdin and stdout are the protocol itself.
const child = spawn(node, [join(root, script), ...args], {
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
