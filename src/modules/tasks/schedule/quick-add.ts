import { DateTime } from "luxon";
import type { DueMatch } from "./due.ts";
import { findDueInText } from "./due.ts";
import { findRecurrence, nextOccurrence, ruleHasTime } from "./recurrence.ts";

export type Priority = "urgent" | "high" | "medium" | "low";

export type QuickAddResult = {
  title: string;
  categoryId: string | null;
  tags: string[];
  priority: Priority | null;
  dueAt: Date | null;
  allDay: boolean;
  recurrence: string | null;
};

export type QuickAddOptions = {
  now: Date;
  timeZone: string;
  categories: ReadonlyArray<{ id: string; name: string }>;
};

const PRIORITIES: Record<string, Priority> = {
  "1": "urgent",
  "2": "high",
  "3": "medium",
  "4": "low",
};
const MAX_TAGS = 20;
const MAX_TAG_LENGTH = 50;
const END = "(?=$|[\\s.,;:!?)])";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Consumed spans are blanked rather than cut so that later matches keep their string offsets.
function blank(text: string, from: number, length: number): string {
  return text.slice(0, from) + " ".repeat(length) + text.slice(from + length);
}

function normalizeName(name: string): string {
  return name.trim().replace(/\s+/g, " ").toLowerCase();
}

/** The #s of a text that are read as categories (5,000 categories × 250 #s took 2.2 s). */
const maxCategoryMarks = 10;

function extractCategory(text: string, categories: QuickAddOptions["categories"]) {
  const byName = new Map(categories.map((c) => [normalizeName(c.name), c.id]));
  for (const m of text.matchAll(/(?<!\S)#(["'])(.+?)\1/g)) {
    const id = byName.get(normalizeName(m[2] ?? ""));
    if (id !== undefined) return { id, text: blank(text, m.index, m[0].length) };
  }
  // Each # is tried against every category: a bound on the #s keeps that linear in the categories.
  const hashes = [...text.matchAll(/(?<!\S)#/g)].slice(0, maxCategoryMarks);
  if (hashes.length === 0) return { id: null, text };
  // Longest names first so "#side project" prefers "Side Project" over "Side".
  const patterns = [...categories]
    .sort((a, b) => b.name.length - a.name.length)
    .map((category) => {
      const words = category.name.trim().split(/\s+/).map(escapeRegExp).join("\\s+");
      return { id: category.id, pattern: words ? new RegExp(`${words}${END}`, "iy") : null };
    });
  for (const hash of hashes) {
    for (const { id, pattern } of patterns) {
      if (!pattern) continue;
      pattern.lastIndex = hash.index + 1;
      const m = pattern.exec(text);
      if (m) return { id, text: blank(text, hash.index, m[0].length + 1) };
    }
  }
  return { id: null, text };
}

function extractTags(text: string) {
  const tags: string[] = [];
  let work = text;
  for (const m of text.matchAll(/(?<!\S)@([\p{L}\p{N}_-]+)(?=$|[\s.,;:!?)])/gu)) {
    const tag = (m[1] ?? "").toLowerCase();
    if (tag.length > MAX_TAG_LENGTH) continue;
    if (!tags.includes(tag)) {
      if (tags.length >= MAX_TAGS) continue;
      tags.push(tag);
    }
    work = blank(work, m.index, m[0].length);
  }
  return { tags, text: work };
}

function extractPriority(text: string) {
  const m = /(?<!\S)p([1-4])(?=$|[\s.,;:!?)])/i.exec(text);
  if (!m) return { priority: null, text };
  return { priority: PRIORITIES[m[1] ?? ""] ?? null, text: blank(text, m.index, m[0].length) };
}

function removeDue(text: string, due: DueMatch, recurring: boolean): string {
  // "starting"/"from" only introduce a date when a recurrence is present ("every monday starting mar 16").
  const lead = recurring
    ? /(?:^|\s)(?:due|by|starting|from|beginning)\s+$/i
    : /(?:^|\s)(?:due|by)\s+$/i;
  const before = lead.exec(text.slice(0, due.index));
  const from = before ? before.index : due.index;
  return blank(text, from, due.index + due.length - from);
}

function tidy(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .replace(/\s+([,.;:!?])/g, "$1")
    .replace(/^[\s,;:-]+|[\s,;:-]+$/g, "");
}

function scheduleRecurring(rule: string, due: DueMatch | null, options: QuickAddOptions) {
  const zone = options.timeZone;
  const timed = ruleHasTime(rule);
  let anchor: Date;
  if (due) {
    anchor = timed ? DateTime.fromJSDate(due.dueAt, { zone }).startOf("day").toJSDate() : due.dueAt;
  } else {
    const today = DateTime.fromJSDate(options.now, { zone });
    anchor = (timed ? today.startOf("day") : today.endOf("day")).toJSDate();
  }
  // An explicit date starts the series on that day; otherwise the first occurrence after now is due.
  const after = due ? new Date(anchor.getTime() - 1) : options.now;
  const dueAt = nextOccurrence(rule, { anchor, after, timeZone: zone }) ?? due?.dueAt ?? null;
  return { dueAt, allDay: timed ? false : (due?.allDay ?? true) };
}

export function parseQuickAdd(text: string, options: QuickAddOptions): QuickAddResult {
  const category = extractCategory(text, options.categories);
  const tagged = extractTags(category.text);
  const prioritized = extractPriority(tagged.text);
  let work = prioritized.text;

  const recurrence = findRecurrence(work);
  if (recurrence) work = blank(work, recurrence.index, recurrence.length);

  const due = findDueInText(work, options);
  if (due) work = removeDue(work, due, recurrence !== null);

  let dueAt = due?.dueAt ?? null;
  let allDay = due?.allDay ?? false;
  if (recurrence) ({ dueAt, allDay } = scheduleRecurring(recurrence.rule, due, options));

  const title = tidy(work);
  return {
    // Nothing but metadata: the words stay the title. Nothing but separators
    // (","): what was typed, which tidying would leave empty.
    title: title === "" ? tidy(text) || text.trim() : title,
    categoryId: category.id,
    tags: tagged.tags,
    priority: prioritized.priority,
    dueAt,
    allDay,
    recurrence: recurrence?.rule ?? null,
  };
}

/** A model's split of a quick-add line: named fields, dates only as the user's own words. */
export type QuickAddSplit = {
  title: string;
  priority: Priority | null;
  tags: string[];
  category: string | null;
  due: string | null;
  recurrence: string | null;
};

const folded = (text: string) => text.replace(/\s+/g, " ").trim().toLowerCase();

/**
 * Combines a model's split with our own parse of the same text. The model
 * names the title, priority, tags and category; the schedule stays ours: its
 * due and recurrence phrases count only when they are words the user typed
 * and our parser reads them in the user's time zone. Otherwise (a computed or
 * invented date) the offline parse's schedule stands.
 */
export function applyQuickAddSplit(
  text: string,
  split: QuickAddSplit,
  options: QuickAddOptions,
): QuickAddResult {
  const offline = parseQuickAdd(text, options);
  const typed = folded(text);
  const phrases = [split.recurrence, split.due].filter(
    (phrase): phrase is string => phrase !== null && typed.includes(folded(phrase)),
  );
  const fromPhrases =
    phrases.length > 0 ? parseQuickAdd(phrases.join(" "), { ...options, categories: [] }) : null;
  const schedule =
    fromPhrases && (fromPhrases.dueAt !== null || fromPhrases.recurrence !== null)
      ? fromPhrases
      : offline;
  const byName = new Map(options.categories.map((c) => [normalizeName(c.name), c.id]));
  const tags = extractTags(split.tags.map((tag) => `@${tag.replace(/^@/, "")}`).join(" ")).tags;
  const title = tidy(split.title);
  return {
    title: title === "" ? offline.title : title,
    categoryId:
      split.category === null ? null : (byName.get(normalizeName(split.category)) ?? null),
    tags,
    priority: split.priority,
    dueAt: schedule.dueAt,
    allDay: schedule.allDay,
    recurrence: schedule.recurrence,
  };
}
