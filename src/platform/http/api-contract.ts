import { createHash } from "node:crypto";
import { apiCompare, type Diff } from "api-smart-diff";

/**
 * The API contract check (npm run api:check): the OpenAPI document the code
 * builds is committed as a snapshot, and an incompatible change to it needs
 * an entry in the API changelog that names the new snapshot's hash. The
 * classification (what breaks a client) is api-smart-diff's; this module
 * only decides what to demand.
 */

/** The snapshot as committed: the built document, two-space indented. */
export function serializeDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** A short, stable name for a snapshot, quoted in the changelog. */
export function documentHash(snapshotText: string): string {
  return createHash("sha256").update(snapshotText).digest("hex").slice(0, 12);
}

/**
 * The changes from `before` to `after` that can break an existing client
 * (removed operations or response fields, new required inputs, narrowed
 * request enums, changed types...), one readable line each. Only changes
 * under `paths` count: schemas are compared where operations use them.
 */
export function incompatibleChanges(before: unknown, after: unknown): string[] {
  // apiCompare edits its arguments (a removed path comes back, empty, in
  // `after`), so it gets copies.
  const { diffs } = apiCompare(structuredClone(before), structuredClone(after));
  const lines = diffs
    .filter((diff) => diff.path[0] === "paths" && (diff.type === "breaking" || changesType(diff)))
    .map(describe);
  return [...new Set(lines)];
}

/**
 * A changed `type` breaks clients on either side of the wire; api-smart-diff
 * 1.0 rates it compatible inside a response (an integer that turns into a
 * string is not), so it is counted here whatever the rating.
 */
function changesType(diff: Diff): boolean {
  return diff.path.at(-1) === "type" && diff.action === "replace";
}

function describe(diff: Diff): string {
  const [, path, method] = diff.path;
  const operation = typeof method === "string" ? `${method.toUpperCase()} ${path}` : String(path);
  const what = diff.description ?? `${diff.action} ${diff.path.slice(3).join(".")}`;
  return `${operation}: ${what}`;
}

/** The newest entry of the changelog: the text of its first `## ` section. */
export function newestChangelogEntry(changelog: string): string {
  return changelog.split(/^## /m).slice(1)[0] ?? "";
}

export type ContractReport = {
  /** The built document as it would be committed, and its hash. */
  currentText: string;
  hash: string;
  /** The committed snapshot is not the built document. */
  drift: boolean;
  /** Incompatible changes from the baseline to the built document. */
  incompatible: string[];
  /** The changelog's newest entry names `hash`. */
  acknowledged: boolean;
};

/**
 * Compares the built document with the committed snapshot (drift) and with
 * the baseline, the contract clients were last given (incompatibility).
 */
export function checkContract(input: {
  current: unknown;
  snapshotText: string | null;
  baseline: unknown | null;
  changelog: string;
}): ContractReport {
  const currentText = serializeDocument(input.current);
  const hash = documentHash(currentText);
  return {
    currentText,
    hash,
    drift: input.snapshotText !== currentText,
    incompatible: input.baseline === null ? [] : incompatibleChanges(input.baseline, input.current),
    acknowledged: newestChangelogEntry(input.changelog).includes(hash),
  };
}

/** What is wrong, one message each; empty when the contract check passes. */
export function contractProblems(report: ContractReport, options: { writing: boolean }): string[] {
  const problems: string[] = [];
  if (report.incompatible.length > 0 && !report.acknowledged) {
    problems.push(
      [
        `The API changed incompatibly (${report.incompatible.length} change(s)):`,
        ...report.incompatible.map((line) => `  - ${line}`),
        `Add an entry at the top of docs/api-changelog.md that names snapshot ${report.hash}`,
        "and says what clients must do, or make the change compatible.",
      ].join("\n"),
    );
  }
  if (report.drift && !options.writing) {
    problems.push(
      `docs/openapi.json is not the document the code builds (now ${report.hash}): run npm run api:snapshot and commit it.`,
    );
  }
  return problems;
}
