/**
 * Input and output safety. Input: length caps, control characters, PII
 * redaction before text leaves for an external provider, and heuristics
 * that flag stored text which reads like instructions to the model. Output:
 * Markdown images and links to hosts outside the allowlist are removed
 * (`output-links.ts`).
 */

// C0 and C1 control characters except tab and newline, plus bidi overrides
// and zero-width characters that can hide text from a human reviewer.
const controlCharacters =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Strips control characters, normalises newlines and caps the length. */
export function cleanText(text: string, maxLength: number): string {
  const cleaned = text.replace(/\r\n?/g, "\n").replace(controlCharacters, "").trim();
  return cleaned.length > maxLength ? `${cleaned.slice(0, maxLength - 1).trimEnd()}…` : cleaned;
}

// Starts only where a local part can start: retried from every letter of a long run
// without an @ after it, the search was quadratic (100 ms for 8,000 characters).
const email =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const cardCandidate = /\b\d(?:[ -]?\d){12,18}\b/g;
const isoDate = /\d{4}-\d{2}-\d{2}/;
const phoneCandidate = /(?:\+|\b)\d[\d ().-]{7,18}\d\b/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Replaces e-mail addresses, payment card numbers (Luhn-checked) and phone
 * numbers (9 to 15 digits, not ISO dates, so dates and times stay) with placeholders.
 */
export function redactPii(text: string): string {
  // Most strings hold neither an "@" nor a digit: nothing to scan for.
  const withoutEmail = text.includes("@") ? text.replace(email, "[email]") : text;
  if (!/\d/.test(withoutEmail)) return withoutEmail;
  return withoutEmail
    .replace(cardCandidate, (match) => {
      const digits = match.replace(/\D/g, "");
      return luhnValid(digits) ? "[card number]" : match;
    })
    .replace(phoneCandidate, (match) => {
      if (isoDate.test(match)) return match;
      const digits = match.replace(/\D/g, "").length;
      return digits >= 9 && digits <= 15 ? "[phone]" : match;
    });
}

// Whole strings the server made (ids, timestamps): their digit runs are not phone numbers.
const idOrInstant =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?)$/i;

/** `redactPii` over every string of a JSON-like value, leaving ids and timestamps whole. */
export function redactPiiIn<T>(value: T): T {
  return mapStrings(value, (text) => (idOrInstant.test(text) ? text : redactPii(text)));
}

const injectionPatterns = [
  /\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(instructions?|prompts?|rules|above|previous|system)\b/i,
  /\b(you are now|act as|pretend to be|new instructions|from now on)\b/i,
  /\b(system prompt|developer message|jailbreak)\b/i,
  /<\/?\s*(data|system|assistant|instructions?)\b/i,
  // Spaces and tabs only: `\s*` ran across every following blank line from each line start.
  /^[ \t]*(system|assistant|user)[ \t]*:/im,
  /\b(reveal|print|show|repeat)\b[^.\n]{0,30}\b(prompt|instructions|secrets?|api key)\b/i,
];

/** True when stored text reads like an attempt to instruct the model. */
export function looksLikeInjection(text: string): boolean {
  return injectionPatterns.some((pattern) => pattern.test(text));
}

/** Every string in a JSON-like value, transformed. */
export function mapStrings<T>(value: T, transform: (text: string) => string): T {
  if (typeof value === "string") return transform(value) as T;
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, transform)) as T;
  if (value && typeof value === "object") {
    // fromEntries defines own keys: a "__proto__" key from parsed JSON stays a
    // key (assignment would set the copy's prototype and drop it untransformed).
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, mapStrings(item, transform)]),
    ) as T;
  }
  return value;
}

/** True when `visit` is true for some string in a JSON-like value (which is left as it is). */
function someString(value: unknown, visit: (text: string) => boolean): boolean {
  if (typeof value === "string") return visit(value);
  if (Array.isArray(value)) return value.some((item) => someString(item, visit));
  if (value && typeof value === "object") {
    return Object.values(value).some((item) => someString(item, visit));
  }
  return false;
}

/** Every string inside a JSON-like value, in order (for the moderation endpoint). */
export function textsOf(value: unknown): string[] {
  const texts: string[] = [];
  someString(value, (text) => {
    if (!idOrInstant.test(text)) texts.push(text);
    return false;
  });
  return texts;
}

/** True when any string inside the value trips the injection heuristics. */
export function containsInjection(value: unknown): boolean {
  return someString(value, looksLikeInjection);
}

const fenceEscapes: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026" };

/**
 * JSON for a data block: `<`, `>` and `&` are escaped, so stored text can
 * never close its block or open a new one.
 */
export function fencedJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/[<>&]/g, (character) => fenceEscapes[character]!);
}

export { filterLinks, linkSanitizer } from "./link-filter.ts";
