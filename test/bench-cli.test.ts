import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/** Runs a bench script as `npx node bench/<script>` would, and what it says before any work. */
function run(script: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [`bench/${script}`, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe("bench scripts' flags", () => {
  it.each([
    ["scale.ts", ["--rounds", "x"], '--rounds must be an integer >= 1, got "x"'],
    ["scale.ts", ["--cluster", "some"], '--cluster must be one of none, large, both, got "some"'],
    ["scale.ts", ["--bogus"], "Unknown option '--bogus'"],
    ["ab.ts", [], "name the earlier commit to compare with"],
    ["ab.ts", ["HEAD", "--scenarios", "list,lst"], "--scenarios must be one of"],
    ["ab.ts", ["HEAD", "--viewer-of=-1"], "--viewer-of must be an integer >= 0"],
    ["platform.ts", ["--connections", "0"], '--connections must be an integer >= 1, got "0"'],
    ["costs.ts", ["--db", "pglit"], '--db must be one of postgres, pglite, got "pglit"'],
    ["sign-in-timing.ts", ["--attempts", "2.5"], '--attempts must be an integer >= 1, got "2.5"'],
  ])("%s %j: one line naming the flag, the usage, exit 2", (script, args, message) => {
    const { status, stderr, stdout } = run(script, ...args);
    expect(status).toBe(2);
    const [first, usage, ...rest] = stderr.trimEnd().split("\n");
    expect(first).toContain(message);
    expect(usage).toMatch(/^usage: (npm run bench|npx node bench)/);
    expect(rest).toEqual([]);
    expect(stdout).toBe("");
  });
});
