/**
 * `npx node bench/render.ts bench/results/<run>.json`: writes the run's markdown
 * table again from its JSON, after a change to the report's layout. The
 * numbers are the JSON's; nothing is measured.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type BenchReport, toMarkdown } from "./report.ts";

for (const file of process.argv.slice(2)) {
  if (!file.endsWith(".json")) throw new Error(`${file}: expected a results .json`);
  const report = JSON.parse(readFileSync(file, "utf8")) as BenchReport;
  writeFileSync(file.replace(/\.json$/, ".md"), toMarkdown(report));
  console.log(`wrote ${file.replace(/\.json$/, ".md")}`);
}
