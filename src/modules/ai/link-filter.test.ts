import { describe, expect, it } from "vitest";
import { filterLinks, linkSanitizer, workerReader } from "./link-filter.ts";
import { escapeMarkup, StreamingSanitizer, sanitizeOutput } from "./output-links.ts";

const allowlist = ["taskpilot.example"];

/** `parts` through `sanitizer`, each push awaited before the next. */
async function streamed(sanitizer: StreamingSanitizer, parts: readonly string[]) {
  let out = "";
  for (const part of parts) out += await sanitizer.push(part);
  return out + (await sanitizer.flush());
}

const texts = [
  "See the [docs](https://evil.example/x) or [ours](https://taskpilot.example/t).",
  "[x]<img>(https://evil.example)",
  '<a href="https://taskpilot.example/t" title="ours">ours</a> ![p](https://evil.example/p.png)',
  "- one\n- [two](https://evil.example)\n\n```\n[kept](https://evil.example)\n```\n",
  "No markup at all: a < b is not here, nor brackets.",
];

/** ~6,000 characters of list items with a "[": tens to hundreds of ms to parse. */
const heavy = `${"- item [a]\n".repeat(540)}\n[x](https://evil.example)`;

describe("link filter in a worker", () => {
  it("answers what the in-place filter answers, whole and streamed", async () => {
    for (const text of texts) {
      const whole = sanitizeOutput(text, allowlist);
      expect(await filterLinks(text, allowlist), text).toBe(whole);
      const chunks = text.match(/.{1,5}/gs) ?? [];
      expect(await streamed(linkSanitizer(allowlist), chunks), text).toBe(whole);
    }
    expect(sanitizeOutput(texts[0] ?? "", allowlist)).toBe(
      "See the docs or [ours](https://taskpilot.example/t).",
    );
  });

  it("escapes text it cannot parse within its budget, and goes on parsing after", async () => {
    // Parsed in place, the heavy text keeps its list and loses only the link.
    expect(sanitizeOutput(heavy, allowlist).endsWith("- item [a]\n\nx")).toBe(true);
    const hurried = workerReader(1);
    expect(await hurried.filter(heavy, allowlist)).toBe(escapeMarkup(heavy));
    const stream = new StreamingSanitizer(allowlist, hurried);
    const out = await streamed(stream, [heavy, "\n\nThen [y](https://evil.example).\n"]);
    expect(out).toBe(escapeMarkup(`${heavy}\n\nThen [y](https://evil.example).\n`));
    // The stopped worker is replaced: the next text is parsed as usual.
    expect(await filterLinks("[a](https://evil.example) b", allowlist)).toBe("a b");
  });
});
