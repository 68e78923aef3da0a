import type { Nodes, Root } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";

/**
 * Output safety for model text: Markdown links, images, link definitions and
 * raw `<img>`/`<a>` tags pointing outside the allowlist are taken out (a
 * link keeps its text). Where they are is read by a CommonMark parser
 * (micromark, through mdast), not by patterns: a pattern missed
 * `[a [b] c](url)`, `![a [b]](url)` and `[text][ref]` with its definition
 * elsewhere, all of which a Markdown renderer shows as links, and the
 * patterns were quadratic on an unclosed `[` (365 ms at 32,000 characters).
 */

type Edit = { start: number; end: number; open?: boolean };

function allowedUrl(url: string, allowlist: readonly string[]): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return false;
    const host = parsed.hostname.toLowerCase();
    return allowlist.some((allowed) => host === allowed || host.endsWith(`.${allowed}`));
  } catch {
    return false; // relative or malformed: nowhere we vouch for
  }
}

const startOf = (node: Nodes) => node.position?.start.offset ?? 0;
const endOf = (node: Nodes) => node.position?.end.offset ?? 0;

/**
 * `<img ...>` tags, and `<a ...>` tags whose href is not allowed, inside raw
 * HTML. A tag still waiting for its ">" runs to the end and is `open`.
 */
function htmlEdits(html: string, at: number, allowlist: readonly string[], edits: Edit[]) {
  const tag = /<(img|a)\b/gi;
  let close: number | undefined; // the next ">": searched once per stretch, so linear
  for (let match = tag.exec(html); match; match = tag.exec(html)) {
    if (close === undefined || (close !== -1 && close < match.index)) {
      close = html.indexOf(">", match.index);
    }
    const end = close === -1 ? html.length : close + 1;
    const text = html.slice(match.index, end);
    const href = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(text);
    const link = href ? (href[1] ?? href[2] ?? href[3] ?? "") : "";
    if (match[1]?.toLowerCase() === "img" || !allowedUrl(link, allowlist)) {
      edits.push({ start: at + match.index, end: at + end, open: close === -1 });
    }
    tag.lastIndex = end;
  }
}

/** Every node of the tree, without recursion: 16,000 nested quotes ("> > > ...") are one parse. */
function nodesOf(tree: Root): Nodes[] {
  const nodes: Nodes[] = [];
  const stack: Nodes[] = [tree];
  for (let node = stack.pop(); node; node = stack.pop()) {
    nodes.push(node);
    if ("children" in node) stack.push(...node.children);
  }
  return nodes;
}

/**
 * What to take out of `text` so no disallowed link or image remains, as
 * offsets into `text`, in order; and where each top-level block starts.
 */
function editsOf(text: string, allowlist: readonly string[]): { edits: Edit[]; blocks: number[] } {
  const tree = fromMarkdown(text);
  const nodes = nodesOf(tree);
  const definitions = new Map<string, string>();
  // CommonMark: the first definition of a label wins (nodes are in reverse document order).
  for (const node of nodes)
    if (node.type === "definition") definitions.set(node.identifier, node.url);

  const edits: Edit[] = [];
  const allowed = (url: string | undefined) => allowedUrl(url ?? "", allowlist);
  const remove = (node: Nodes) => edits.push({ start: startOf(node), end: endOf(node) });
  for (const node of nodes) {
    if (node.type === "link" || node.type === "linkReference") {
      const url = node.type === "link" ? node.url : definitions.get(node.identifier);
      if (allowed(url)) continue;
      // The link becomes its text: what surrounds its children goes.
      const first = node.children[0];
      const last = node.children.at(-1);
      if (!first || !last) remove(node);
      else
        edits.push(
          { start: startOf(node), end: startOf(first) },
          { start: endOf(last), end: endOf(node) },
        );
    } else if (node.type === "image" || node.type === "definition") {
      if (!allowed(node.url)) remove(node);
    } else if (node.type === "imageReference") {
      if (!allowed(definitions.get(node.identifier))) remove(node);
    } else if (node.type === "html") {
      htmlEdits(text.slice(startOf(node), endOf(node)), startOf(node), allowlist, edits);
    }
  }
  return { edits: edits.sort((a, b) => a.start - b.start), blocks: tree.children.map(startOf) };
}

/** `text` without the edits, from `from` to `to`; edits are offsets into `text` minus `shift`. */
function applyEdits(text: string, from: number, to: number, edits: readonly Edit[], shift = 0) {
  let out = "";
  let at = from;
  for (const { start: editStart, end: editEnd } of edits) {
    const start = editStart + shift;
    const end = editEnd + shift;
    if (end <= from || start >= to) continue;
    out += text.slice(at, Math.max(at, start));
    at = Math.max(at, Math.min(end, to));
  }
  return out + text.slice(at, to);
}

/** Removes images and links to hosts outside the allowlist; a link keeps its text. */
export function sanitizeOutput(text: string, allowlist: readonly string[]): string {
  return applyEdits(text, 0, text.length, editsOf(text, allowlist).edits);
}

/** Characters an edit can start at: "[" (link, reference, definition), "<" (autolink, HTML). */
const mayStartEdit = /[[<]/;

/**
 * The same filter for a stream. Text goes out as soon as nothing later can
 * make it part of a link: up to the first "[", "![" or "<" of the paragraph
 * being written, and whole paragraphs once a blank line ends them (no link
 * crosses one). What goes out is filtered in the context of what came
 * before it, from the start of its top-level block, so a split link or a
 * code fence opened earlier is read as a renderer reads the whole answer.
 * A definition that arrives after its `[text][ref]` is removed, which
 * leaves that reference as plain text. Each character is scanned once; a
 * parse runs when a paragraph that held a "[" or "<" is complete, at most
 * once per quarter of the block's length.
 */
export class StreamingSanitizer {
  #source = "";
  #released = 0;
  /** Where the next parse starts: the top-level block holding the first unreleased character. */
  #base = 0;
  #scanned = 0;
  /** True while the line being scanned holds only spaces and tabs so far. */
  #blankSoFar = true;
  /** The first character of the open paragraph that may start a link, if any. */
  #hold: number | undefined;
  /** No parse (but the last) before the source is this long. */
  #retryAt = 0;
  readonly #allowlist: readonly string[];

  constructor(allowlist: readonly string[]) {
    this.#allowlist = allowlist;
  }

  push(delta: string): string {
    this.#source += delta;
    this.#scan();
    return this.#release(this.#hold ?? this.#scanned);
  }

  flush(): string {
    this.#scanned = this.#source.length;
    return this.#release(this.#source.length, true);
  }

  #scan() {
    const source = this.#source;
    let i = this.#scanned;
    for (; i < source.length; i++) {
      const c = source[i];
      if (c === "\n") {
        if (this.#blankSoFar) this.#hold = undefined; // a blank line ends the paragraph
        this.#blankSoFar = true;
        continue;
      }
      if (c === " " || c === "\t") continue;
      // A "!" at the end may be an image's first character: look again when more arrives.
      if (c === "!" && i === source.length - 1) break;
      this.#blankSoFar = false;
      const opens = c === "[" || c === "<" || (c === "!" && source[i + 1] === "[");
      if (opens && this.#hold === undefined) this.#hold = i;
    }
    this.#scanned = i;
  }

  #release(cut: number, final = false): string {
    const from = this.#released;
    if (cut <= from) return "";
    if (!mayStartEdit.test(this.#source.slice(from, cut))) {
      this.#released = cut;
      return this.#source.slice(from, cut);
    }
    if (!final && this.#source.length < this.#retryAt) return "";
    const base = this.#base;
    const { edits, blocks } = editsOf(this.#source.slice(base), this.#allowlist);
    // The next parse waits for a quarter of this one's length: a long block
    // (a loose list of 400 linked items) is parsed a few dozen times, not
    // once per item (4.9 s for 16,000 characters).
    this.#retryAt = this.#source.length + (this.#source.length - base) / 4;
    // What an edit spans goes out whole: one crossing the cut, or a tag still
    // waiting for its ">", holds the cut back to where it starts. Latest
    // first: moving the cut back can only catch edits that start earlier.
    let end = cut;
    if (!final) {
      for (const edit of edits.toReversed()) {
        if (edit.start + base < end && (edit.end + base > end || edit.open))
          end = edit.start + base;
      }
    }
    if (end <= from) return "";
    this.#released = end;
    const block = blocks.findLast((start) => start + base <= end);
    this.#base = block === undefined ? base : block + base;
    return applyEdits(this.#source, from, end, edits, base);
  }
}
