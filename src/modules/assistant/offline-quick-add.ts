const quickPriority: Record<string, string> = { urgent: "p1", high: "p2", medium: "p3", low: "p4" };

/**
 * Natural words to quick-add syntax: "high priority" -> p2, "tagged home and
 * garden" -> @home @garden, "in Work" -> #"Work" when that category exists.
 * Anything else stays as written, so quick add reads dates and repeats.
 */
export function toQuickAddText(text: string, categoryNames: readonly string[]): string {
  let out = text
    .replace(/\b(?:with |at |as )?(urgent|high|medium|low)[- ]priority\b/i, (_, word: string) => {
      return quickPriority[word.toLowerCase()] ?? "";
    })
    .replace(/\bpriority (urgent|high|medium|low)\b/i, (_, word: string) => {
      return quickPriority[word.toLowerCase()] ?? "";
    })
    .replace(
      /\b(?:tagged|with (?:the )?tags?|labell?ed)\s+([\p{L}\p{N}_-]+(?:(?:\s*,\s*|\s+and\s+)[\p{L}\p{N}_-]+)*)/iu,
      (_, list: string) =>
        list
          .split(/\s*,\s*|\s+and\s+/)
          .map((tag) => `@${tag}`)
          .join(" "),
    );
  // Longest names first, so "in Side Project" prefers "Side Project" over "Side".
  for (const name of [...categoryNames].sort((a, b) => b.length - a.length)) {
    const words = name.trim().split(/\s+/).map(escapeRegExp).join("\\s+");
    const phrase = new RegExp(
      `\\b(?:in|under|into|to|for) (?:the |my )?${words}(?: (?:category|list|project))?(?=$|[\\s.,;:!?])`,
      "i",
    );
    if (phrase.test(out)) {
      out = out.replace(phrase, `#"${name}"`);
      break;
    }
  }
  return out.replace(/\s+/g, " ").trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
