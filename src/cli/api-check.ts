/**
 * npm run api:check     fails when docs/openapi.json is not the document the
 *                       code builds, or when the API changed incompatibly
 *                       without a changelog entry naming the new snapshot.
 * npm run api:snapshot  (--write) writes the snapshot, refusing an
 *                       incompatible change the changelog does not name.
 *
 * The baseline (the contract clients were last given) is, in order:
 * the snapshot at git ref $API_BASE_REF (CI on a branch: the target branch);
 * the committed snapshot, when writing or when the code drifted from it;
 * otherwise the snapshot before its last committed change (git history).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp } from "../app.ts";
import { openDatabase } from "../platform/db/pool.ts";
import {
  checkContract,
  contractProblems,
  serializeDocument,
} from "../platform/http/api-contract.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const snapshotPath = "docs/openapi.json";
const changelogPath = "docs/api-changelog.md";
const writing = process.argv.includes("--write");

/** The document exactly as the app serves it, with a fixed server URL. */
async function buildDocument(): Promise<unknown> {
  const database = await openDatabase({ dataDir: "memory://" });
  const app = await buildApp({
    database,
    authSecret: "api-check-api-check-api-check-api-check",
    publicUrl: "http://localhost:3000",
    logLevel: "silent",
    rateLimit: false,
    overload: false,
  });
  await app.ready();
  const document = JSON.parse(JSON.stringify(app.swagger()));
  await app.close();
  await database.close();
  return document;
}

function readText(path: string): string | null {
  try {
    return readFileSync(join(root, path), "utf8");
  } catch {
    return null;
  }
}

function git(...args: string[]): string {
  return execFileSync("git", args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/** The snapshot before its latest change, from git; null for a first snapshot or no history. */
function previousSnapshot(workingText: string | null): string | null {
  try {
    const baseRef = process.env.API_BASE_REF;
    if (baseRef) return git("show", `${baseRef}:${snapshotPath}`);
    const committed = git("show", `HEAD:${snapshotPath}`);
    if (committed !== workingText) return committed;
    const lastChange = git("log", "-n", "1", "--format=%H", "--", snapshotPath).trim();
    return lastChange ? git("show", `${lastChange}^:${snapshotPath}`) : null;
  } catch {
    return null;
  }
}

const current = await buildDocument();
const snapshotText = readText(snapshotPath);
const drifted = snapshotText !== serializeDocument(current);
const baselineText =
  (writing || drifted) && !process.env.API_BASE_REF ? snapshotText : previousSnapshot(snapshotText);
const report = checkContract({
  current,
  snapshotText,
  baseline: baselineText === null ? null : JSON.parse(baselineText),
  changelog: readText(changelogPath) ?? "",
});
const problems = contractProblems(report, { writing });

if (baselineText === null) {
  process.stdout.write("No earlier snapshot to compare with: only drift is checked.\n");
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join("\n\n")}\n`);
  process.exit(1);
}
if (writing && report.drift) {
  writeFileSync(join(root, snapshotPath), report.currentText);
  process.stdout.write(`Wrote ${snapshotPath} (snapshot ${report.hash}).\n`);
} else {
  const compatible =
    report.incompatible.length === 0
      ? "no incompatible changes"
      : "incompatible changes acknowledged in the changelog";
  process.stdout.write(`API contract ok: snapshot ${report.hash}, ${compatible}.\n`);
}
