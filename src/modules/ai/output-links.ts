import type { Nodes, Root } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";

/**
 * Output safety for model text: Markdown links, images and link definitions
 * pointing outside the allowlist are taken out (a link keeps its text), and
 * so are raw HTML tags but plain ones and `<a>` with an allowed href. Where
 * they are is read by a Markdown parser (micromark, through mdast, in the
 * CommonMark and GFM readings), not by patterns: a pattern missed
 * `[a [b] c](url)`, `![a [b]](url)` and `[text][ref]` with its definition
 * elsewhere, all of which a Markdown renderer shows as links, and the
 * patterns were quadratic on an unclosed `[` (365 ms at 32,000 characters).
 */

type Edit = { start: number; end: number; open?: boolean };

/** What a parse of a text found: what to take out, and where top-level blocks start. */
export type Reading = { edits: Edit[]; blocks: number[] };

/**
 * Where the parsing runs: in place, or in a worker thread with a time
 * budget (`link-filter.ts`). `read` is `editsOf`, `filter` is
 * `sanitizeOutput`, each with the same answers.
 */
export type LinkReader = {
  read(text: string, allowlist: readonly string[]): Promise<Reading | null>;
  filter(text: string, allowlist: readonly string[]): Promise<string>;
};

function allowedUrl(url: string, allowlist: readonly string[]): boolean {
  // A renderer writes a backslash as %5C where the URL parser reads "/": with
  // https://taskpilot.example\\@evil.example the browser goes to evil.example.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  if (/[\\\s\u0000-\u001f\u007f]/.test(url)) return false;
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

/** Raw HTML tags kept when they carry no attributes at all. */
const plainTags = new Set(
  "b i em strong code pre br hr p ul ol li sub sup s del ins kbd mark small blockquote h1 h2 h3 h4 h5 h6 table thead tbody tr th td span div".split(
    " ",
  ),
);

/** Where the tag starting at `start` ends (its ">"), reading quoted attribute values whole; -1 if it does not yet. */
function tagEnd(html: string, start: number): number {
  for (let i = start + 1; i < html.length; i++) {
    const c = html[i];
    if (c === ">") return i;
    if (c !== "=") continue;
    let j = i + 1;
    while (j < html.length && " \t\n\r\f".includes(html.charAt(j))) j++;
    const quote = html[j];
    if (quote !== '"' && quote !== "'") continue;
    const close = html.indexOf(quote, j + 1);
    if (close === -1) return -1;
    i = close;
  }
  return -1;
}

/**
 * The one shape of `<a>` kept: href and title attributes with quoted values
 * and nothing else, and no value holding a character that could end a tag,
 * open another or start an entity. Reading attributes loosely and checking
 * the href found does not do: a browser read `<a title=a=title=" href=https://evil.example/ "
 * href="https://ours/">` as a link to evil.example, and a title holding
 * `"--><img ...>` closed a comment opened before it and loaded the image.
 */
const plainLink = /^<a(?:\s+(?:href|title)\s*=\s*(?:"[^"'<>=&`]*"|'[^"'<>=&`]*'))*\s*>$/i;
const quotedHref = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;
/** A tag with nothing in it but its name: all a browser can read it as is that tag. */
const bareTag = /^<\/?[a-z][a-z0-9]*\s*\/?>$/i;

/**
 * Whether a raw tag stays: a plain tag without attributes (opening or
 * closing), or a plain `<a>` with one allowed href. A kept tag holds no
 * quote but in the `<a>` shape above, so it ends where a browser ends it:
 * `</div =">" <img src=...>` read as one closing tag here, and as a closing
 * tag then an image in a browser.
 */
function keptTag(name: string, tag: string, allowlist: readonly string[]): boolean {
  if (tag.startsWith("</")) return (name === "a" || plainTags.has(name)) && bareTag.test(tag);
  if (name !== "a") return plainTags.has(name) && bareTag.test(tag);
  if (!plainLink.test(tag)) return false;
  const hrefs = [...tag.matchAll(quotedHref)].map((match) => match[1] ?? match[2] ?? "");
  if (hrefs.length === 0) return true;
  // Entities are decoded by the browser, not by the URL check: &sol; is a "/".
  return hrefs.length === 1 && !hrefs[0]?.includes("&") && allowedUrl(hrefs[0] ?? "", allowlist);
}

/**
 * Raw HTML tags to take out: every tag but plain ones without attributes
 * and `<a>` with an allowed href (so `<image>`, `<svg><image href>`,
 * `<video poster>`, `srcset` and `style="...url()"` all go). A tag still
 * waiting for its ">" runs to the end and is `open`.
 */
function htmlEdits(
  html: string,
  at: number,
  allowlist: readonly string[],
  edits: Edit[],
  canGrow: boolean,
) {
  const tagStart = /<\/?([A-Za-z][A-Za-z0-9-]*)/g;
  for (let match = tagStart.exec(html); match; match = tagStart.exec(html)) {
    const close = tagEnd(html, match.index);
    const end = close === -1 ? html.length : close + 1;
    const name = (match[1] ?? "").toLowerCase();
    if (close === -1 || !keptTag(name, html.slice(match.index, end), allowlist)) {
      edits.push({ start: at + match.index, end: at + end, open: close === -1 && canGrow });
    }
    if (close === -1) return;
    tagStart.lastIndex = end;
  }
}

/**
 * The edits of one raw HTML node. Its source may hold container markers
 * the renderer leaves out: in a block quote, `<a\n> href="https://evil.example">`
 * is written out as `<a\nhref="https://evil.example">`, and the marker's
 * ">" ended the tag for `tagEnd`. Such a node is judged by what is written
 * out (its value), and goes whole if anything in it would go.
 */
function htmlNodeEdits(
  value: string,
  text: string,
  start: number,
  end: number,
  allowlist: readonly string[],
  edits: Edit[],
) {
  // Only a node with nothing but white space after it can still grow: one
  // that text follows has ended (a blank line, or its end condition), and a
  // tag it leaves unclosed waits for no ">" (holding the stream's cut there
  // stalled it until the text was too long to read).
  const canGrow = /^\s*$/.test(text.slice(end));
  if (text.slice(start, end) === value) return htmlEdits(value, start, allowlist, edits, canGrow);
  const found: Edit[] = [];
  htmlEdits(value, 0, allowlist, found, canGrow);
  if (found.length > 0) edits.push({ start, end, open: found.some((edit) => edit.open) });
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
 * The two readings a client's renderer may use: CommonMark, and GitHub's
 * (tables, footnotes, autolinked URLs). They disagree: a table cell ends at
 * "|" before a code span does, so "| `a | [x](url) | b` |" holds a link for
 * GFM and only code for CommonMark, and an autolinked URL can take a code
 * span's opening backtick. Both readings run on every parsed text.
 */
const commonMark = undefined;
const githubFlavoured = { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] };

/**
 * Longest text the parser reads, and deepest nesting of containers (">",
 * "-", "1.") at a line start. micromark is ~10 µs a character on list-heavy
 * text: 8,000 characters of list items took 200-500 ms per reading on this
 * machine, and one line of 4,000 "- " took 5 s in all. Past either, the text
 * is escaped instead of read.
 */
const maxParsed = 6_000;
const tooDeep = /^(?:[ \t]*(?:>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))){17}/m;

/**
 * Most setext heading underlines ("=" or "-" lines under a line of text)
 * the parser reads: its cost grows with their square (400 in 6,000
 * characters: 60 ms; 800: 170 ms; 1,500: 600 ms, with both readings). Past
 * it, the text is escaped instead of read.
 */
const maxUnderlines = 300;
const underline = /\S[^\r\n]*(?:\r\n|\r|\n) {0,3}(?:=+|-+)[ \t]*(?=\r|\n|$)/g;

function tooManyUnderlines(text: string): boolean {
  let count = 0;
  for (const _ of text.matchAll(underline)) if (++count > maxUnderlines) return true;
  return false;
}

/** What one reading of `text` says to take out. */
function editsIn(tree: Root, text: string, allowlist: readonly string[], edits: Edit[]) {
  const nodes = nodesOf(tree);
  const definitions = new Map<string, string>();
  // The first definition of a label wins (nodes are in reverse document order).
  for (const node of nodes)
    if (node.type === "definition") definitions.set(node.identifier, node.url);
  const allowed = (url: string | undefined) => allowedUrl(url ?? "", allowlist);
  const remove = (node: Nodes) => edits.push({ start: startOf(node), end: endOf(node) });
  for (const node of nodes) {
    if (node.type === "link" || node.type === "linkReference") {
      const url = node.type === "link" ? node.url : definitions.get(node.identifier);
      if (allowed(url)) continue;
      // The link becomes its text: what surrounds its children goes (nothing,
      // for a URL GFM links by itself, which stays as text).
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
      htmlNodeEdits(node.value, text, startOf(node), endOf(node), allowlist, edits);
    }
  }
}

/**
 * What to take out of `text` so that neither reading finds a disallowed
 * link or image, as offsets into `text`, in order; and where top-level
 * blocks start in both readings. Null when the text is too long or deep to
 * read, or a reading cannot take it (mdast-util-gfm recurses, and ~5,000
 * nested "> " overflow the stack): it is then escaped instead.
 */
export function editsOf(text: string, allowlist: readonly string[]): Reading | null {
  if (text.length > maxParsed || tooDeep.test(text) || tooManyUnderlines(text)) return null;
  const edits: Edit[] = [];
  let blocks: number[] | undefined;
  for (const options of [commonMark, githubFlavoured]) {
    let tree: Root;
    try {
      tree = fromMarkdown(text, options);
    } catch (error) {
      if (error instanceof RangeError) return null;
      throw error;
    }
    editsIn(tree, text, allowlist, edits);
    const starts = tree.children.map(startOf);
    const common = new Set(starts);
    blocks = blocks ? blocks.filter((start) => common.has(start)) : starts;
  }
  return {
    edits: edits.filter((edit) => edit.end > edit.start).sort((a, b) => a.start - b.start),
    blocks: blocks ?? [],
  };
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

/** Passes before giving up on removing and escaping instead. */
const maxPasses = 3;

/**
 * With every "\\" and "[" escaped and every "<" an entity, no link, image
 * or tag can remain in any reading ("\\<" would still open a tag inside a
 * raw HTML block, where backslashes are text).
 */
export const escapeMarkup = (text: string) =>
  text.replace(/[\\[<]/g, (character) => (character === "<" ? "&lt;" : `\\${character}`));

/** Characters an edit can start at: "[" (link, reference, definition), "<" (autolink, HTML). */
export const mayStartEdit = /[[<]/;

/**
 * Removes images and links to hosts outside the allowlist; a link keeps its
 * text. Text without "[" or "<" has none and is not parsed. What is left is
 * read again until nothing more goes: a removal joins its neighbours, and
 * `[x]<img>(url)` or `[[x](url)](url)` became a link. Text that does not
 * settle in three passes, or is too long or deep to read, is escaped.
 */
export function sanitizeOutput(text: string, allowlist: readonly string[]): string {
  let out = text;
  for (let pass = 0; pass < maxPasses; pass++) {
    if (!mayStartEdit.test(out)) return out;
    const read = editsOf(out, allowlist);
    if (!read) return escapeMarkup(text);
    if (read.edits.length === 0) return out;
    out = applyEdits(out, 0, out.length, read.edits);
  }
  return escapeMarkup(out);
}

/** Parsing in place, on the calling thread (tests; the app parses in `link-filter.ts`'s worker). */
export const inPlace: LinkReader = {
  read: async (text, allowlist) => editsOf(text, allowlist),
  filter: async (text, allowlist) => sanitizeOutput(text, allowlist),
};

/**
 * True at the start of `text` or after a blank line, at `at`. Line endings
 * are "\n", "\r\n" and a lone "\r", as in CommonMark.
 */
function freshStart(text: string, at: number): boolean {
  let endings = 0;
  for (let i = at - 1; i >= 0; i--) {
    const c = text[i];
    if (c === "\n" || c === "\r") {
      if (c === "\n" || text[i + 1] !== "\n") endings++;
    } else if (c !== " " && c !== "\t") return endings >= 2;
  }
  return true;
}

/** Where the line holding `at` starts. */
const lineStart = (text: string, at: number) =>
  Math.max(text.lastIndexOf("\n", at - 1), text.lastIndexOf("\r", at - 1)) + 1;

/**
 * The same filter for a stream. Text goes out as soon as nothing later can
 * make it part of a link: up to the first "[", "![" or "<" of the paragraph
 * being written, and whole paragraphs once a blank line ends them (no link
 * crosses one). Each piece is judged after what actually went out before
 * it in its top-level block, followed by the rest of the source, so it is
 * read as the client will read it: a removal, a join or an escape earlier
 * in the stream changes how later text reads (a removed `<pre x>` opens no
 * raw HTML block for the client), and reading the source instead let links
 * through. A definition that arrives after its `[text][ref]` is removed,
 * which leaves that reference as plain text. Each character is scanned
 * once; a parse runs when a paragraph that held a "[" or "<" is complete,
 * at most once per quarter of the text it reads.
 */
export class StreamingSanitizer {
  #source = "";
  #released = 0;
  /**
   * What went out since the top-level block the next parse starts at: the
   * client's text there, which the next piece is read after.
   */
  #sent = "";
  #scanned = 0;
  /** True while the line being scanned holds only spaces and tabs so far. */
  #blankSoFar = true;
  /** The first character of the open paragraph that may start a link, if any. */
  #hold: number | undefined;
  /** Set once a block could not be read: everything after goes out escaped. */
  #escapeRest = false;
  /** No parse (but the last) before the source is this long. */
  #retryAt = 0;
  readonly #allowlist: readonly string[];
  readonly #reader: LinkReader;

  constructor(allowlist: readonly string[], reader: LinkReader) {
    this.#allowlist = allowlist;
    this.#reader = reader;
  }

  /** What of the text so far may go out now. Await each call before the next. */
  push(delta: string): Promise<string> {
    this.#source += delta;
    this.#scan();
    return this.#release(this.#hold ?? this.#scanned);
  }

  /** The rest, once the text is complete. */
  flush(): Promise<string> {
    this.#scanned = this.#source.length;
    return this.#release(this.#source.length, true);
  }

  #scan() {
    const source = this.#source;
    let i = this.#scanned;
    for (; i < source.length; i++) {
      const c = source[i];
      if (c === "\n" || c === "\r") {
        // The "\n" of a "\r\n": that line has already ended.
        if (c === "\n" && source[i - 1] === "\r") continue;
        if (this.#blankSoFar) this.#hold = undefined; // a blank line ends the paragraph
        this.#blankSoFar = true;
        continue;
      }
      if (c === " " || c === "\t") continue;
      // A "!" at the end may be an image's first character: look again when more arrives.
      if (c === "!" && i === source.length - 1) break;
      this.#blankSoFar = false;
      // A backslash too: sent ahead of an escaped "\\[", it would pair with the escape.
      const opens = c === "[" || c === "<" || c === "\\" || (c === "!" && source[i + 1] === "[");
      if (opens && this.#hold === undefined) this.#hold = i;
    }
    this.#scanned = i;
  }

  /** Hands `text` to the client, and remembers it as what the client has. */
  #send(text: string): string {
    this.#sent += text;
    return text;
  }

  async #release(cut: number, final = false): Promise<string> {
    const from = this.#released;
    if (cut <= from) return "";
    const piece = this.#source.slice(from, cut);
    if (this.#escapeRest) {
      this.#released = cut;
      return this.#send(escapeMarkup(piece));
    }
    if (!mayStartEdit.test(piece)) {
      this.#released = cut;
      return this.#send(piece);
    }
    if (!final && this.#source.length < this.#retryAt) return "";
    // The client's text since the base, then the source still to go out:
    // offset `o` of `text` past `sent` is `o + shift` of the source.
    const sent = this.#sent;
    const text = sent + this.#source.slice(from);
    const shift = from - sent.length;
    const read = await this.#reader.read(text, this.#allowlist);
    if (!read) {
      // Too long or deep to read in time (see sanitizeOutput): it goes out escaped,
      // and so does the rest of the stream. Without a parse there is no
      // telling where a block starts: after a blank line inside a list item,
      // an indented line read as code was a live link.
      this.#escapeRest = true;
      this.#released = cut;
      return this.#send(escapeMarkup(piece));
    }
    const { edits, blocks } = read;
    // The next parse waits for a quarter of this one's length: a long block
    // (a loose list of 400 linked items) is parsed a few dozen times, not
    // once per item (4.9 s for 16,000 characters).
    this.#retryAt = this.#source.length + text.length / 4;
    // What an edit spans goes out whole: one crossing the cut, or a tag still
    // waiting for its ">", holds the cut back to where it starts. Latest
    // first: moving the cut back can only catch edits that start earlier.
    let end = cut;
    if (!final) {
      for (const edit of edits.toReversed()) {
        if (edit.start + shift < end && (edit.end + shift > end || edit.open))
          end = edit.start + shift;
      }
    }
    if (end <= from) return "";
    this.#released = end;
    const out = applyEdits(text, sent.length, end - shift, edits);
    // Removals join neighbours (see sanitizeOutput), and text to come can
    // change what went out (a definition after its reference): the piece is
    // then read again after what went out before it, and goes out escaped
    // if what went out would have to change.
    const removed = edits.some((edit) => edit.start < end - shift && edit.end > sent.length);
    const earlier = edits.some((edit) => edit.start < sent.length);
    let emitted = out;
    if (removed || earlier) {
      const settled = await this.#reader.filter(sent + out, this.#allowlist);
      emitted = settled.startsWith(sent) ? settled.slice(sent.length) : escapeMarkup(out);
    }
    // What went out never ends with "<": the next piece would be read after
    // it, but a removal there could join it to a tag name ("<" + "<i x\n\n>"
    // + "img ...") that starts in what the client already has, where
    // escaping the piece cannot reach it. Inside a raw HTML block a blank
    // line does not end the block, so nothing else holds such a "<" back.
    // `&lt;` shows as "<" wherever a removal can happen (code has none).
    if (emitted.endsWith("<")) emitted = `${emitted.slice(0, -1)}&lt;`;
    const client = sent + emitted;
    // The next parse starts at a block that text still to come cannot join
    // to the one before it: one after a blank line, in what the client has.
    // (A "#" cut off at the end parsed as a heading, then went on as a
    // paragraph with its backticks paired differently, and a link in it
    // was read as code.) The parse saw the client's text up to the piece,
    // and the piece itself only when nothing in it changed: a block it found
    // after `<b x="</pre>">` was no block for the client, whose `<pre>`
    // stayed open once that tag went.
    const seen = removed || earlier ? sent.length : end - shift;
    const block = blocks.findLast((start) => start <= seen && freshStart(client, start));
    // From the start of its line: a block's offset is where its marker is,
    // and "   - [a]" read from the "-" puts the item's content three columns
    // left of where the client has it (a line indented 6 became code).
    this.#sent = block === undefined ? client : client.slice(lineStart(client, block));
    return emitted;
  }
}
