import { parseDue } from "../tasks/schedule/index.ts";
import type { TaskPriority } from "../tasks/schema.ts";

/**
 * The offline assistant's ear: a deterministic reading of one chat message
 * into an intent. It knows a fixed set of phrasings and says "unknown"
 * rather than guess; the offline agent (offline-agent.ts) carries intents
 * out through the same tools a model would use.
 */

export type DueWindow =
  | "overdue"
  | "today"
  | "tomorrow"
  | "this_week"
  | "next_week"
  | "this_month"
  | "upcoming";

export type TaskFilter = {
  status?: "open" | "completed" | "all";
  priorities?: TaskPriority[];
  tag?: string;
  /** A category by name, looked up when the intent is carried out. */
  category?: string;
  due?: DueWindow;
  /** Words that must appear in the title or description. */
  words?: string;
};

export type TaskReference =
  | { kind: "title"; text: string }
  | { kind: "all"; filter: TaskFilter }
  | { kind: "it" }
  | { kind: "position"; index: number };

export type TargetAction = "complete" | "reopen" | "delete";

export type Intent =
  | { kind: "add"; text: string }
  | { kind: "list"; filter: TaskFilter; unread: string }
  | { kind: "search"; query: string }
  | { kind: TargetAction; target: TaskReference }
  | { kind: "reschedule"; target: TaskReference; when: string | null }
  | { kind: "prioritise"; target: TaskReference; priority: TaskPriority }
  | { kind: "summary" }
  | { kind: "help" }
  | { kind: "greeting" }
  | { kind: "thanks" }
  | { kind: "choose"; choice: number | "all" }
  | { kind: "when"; when: string }
  | { kind: "cancel" }
  | { kind: "confirm" }
  | { kind: "missing"; action: "add" | TargetAction | "reschedule" }
  | { kind: "unknown" };

/** What the previous answer is waiting for, which changes how a short reply reads. */
export type Awaiting = "choice" | "date" | null;

export type ParseOptions = { now: Date; timeZone: string; awaiting: Awaiting };

const ordinals: Record<string, number> = {
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  last: -1,
};

const priorityWords: Record<string, TaskPriority[]> = {
  urgent: ["urgent"],
  important: ["high", "urgent"],
  high: ["high", "urgent"],
  medium: ["medium"],
  normal: ["medium"],
  low: ["low"],
};

const setPriorityWords: Record<string, TaskPriority> = {
  urgent: "urgent",
  important: "high",
  high: "high",
  medium: "medium",
  normal: "medium",
  low: "low",
  no: "none",
  none: "none",
};

/** Politeness and punctuation that never change what is asked. */
function normalise(message: string): string {
  let text = message.trim().replace(/\s+/g, " ");
  text = text.replace(/^(?:(?:hey|ok|okay|so|and|also|now|then|please|pls|kindly)[,!]?\s+)+/i, "");
  text = text.replace(/^(?:can|could|would|will) you\s+(?:please\s+)?/i, "");
  text = text.replace(/^i(?:'d| would) like (?:you )?to\s+/i, "");
  text = text.replace(/[\s,]*(?:please|pls|thanks|thank you)[.!]*$/i, "");
  return text.replace(/[\s?!.]+$/, "").trim();
}

const unquote = (text: string) => text.replace(/^["“'‘](.+)["”'’]$/, "$1");

function parsePosition(text: string): number | null {
  const match =
    /^(?:(?:the|number|no\.?|#)\s*)?(\d+|first|second|third|fourth|fifth|last)(?:st|nd|rd|th)?(?:\s+(?:one|task))?$/i.exec(
      text,
    );
  if (!match?.[1]) return null;
  const word = match[1].toLowerCase();
  return ordinals[word] ?? Number.parseInt(word, 10);
}

const filler = new Set(
  (
    "my me all the a an task tasks todo todos to-do to-dos thing things item items stuff list of " +
    "for that are is i have do got due open pending remaining left there any anything what which " +
    "show list with some now currently still outstanding please whats what's is are i've"
  ).split(" "),
);

/** Filters named in free text; what it could not place is returned as `unread`. */
export function parseFilter(text: string): { filter: TaskFilter; unread: string } {
  const filter: TaskFilter = {};
  let rest = ` ${text.toLowerCase()} `;
  const take = (pattern: RegExp, apply: (match: RegExpExecArray) => void) => {
    const match = pattern.exec(rest);
    if (!match) return;
    apply(match);
    rest = rest.replace(match[0], " ");
  };
  take(/\b(?:overdue|late|past due)\b/, () => {
    filter.due = "overdue";
  });
  take(/\b(?:today|tonight)\b/, () => {
    filter.due = "today";
  });
  take(/\btomorrow\b/, () => {
    filter.due = "tomorrow";
  });
  take(/\bthis week\b/, () => {
    filter.due = "this_week";
  });
  take(/\bnext week\b/, () => {
    filter.due = "next_week";
  });
  take(/\bthis month\b/, () => {
    filter.due = "this_month";
  });
  take(/\b(?:coming up|upcoming|soon|in the next (?:7|seven) days)\b/, () => {
    filter.due = "upcoming";
  });
  take(/\b(?:including|and) (?:completed|done|finished)(?: ones)?\b/, () => {
    filter.status = "all";
  });
  take(/\b(?:completed|done|finished|closed)\b/, () => {
    filter.status = "completed";
  });
  take(/\b(urgent|important|high|medium|normal|low)(?:[- ]priority)?\b/, (match) => {
    filter.priorities = priorityWords[match[1] ?? ""] ?? [];
  });
  take(/(?:\btagged|\bwith (?:the )?tags?|\blabell?ed|(?<!\S)@)\s*([\p{L}\p{N}_-]+)/u, (match) => {
    filter.tag = match[1];
  });
  take(/\b(?:in|under|from) (?:the |my )?(.+?)(?: (?:category|list|project))?\s*$/, (match) => {
    filter.category = match[1];
  });
  const unread = rest
    .split(/\s+/)
    .filter((word) => word !== "" && !filler.has(word))
    .join(" ");
  return { filter, unread };
}

/** "the dentist task", "it", "the second one", "all overdue tasks". */
function parseTarget(text: string): TaskReference {
  const cleaned = text
    .trim()
    .replace(/^(?:the|my|a|an|that|this)\s+/i, "")
    .replace(/\s+(?:task|todo|to-do|item)$/i, "");
  if (/^(?:it|that|this|that one|this one|them|those|these)$/i.test(cleaned)) return { kind: "it" };
  const position = parsePosition(text.trim());
  if (position !== null) return { kind: "position", index: position };
  const all = /^(?:all|every|each|everything)\b(?:\s+(?:of\s+)?(?:my\s+|the\s+)?)?(.*)$/i.exec(
    cleaned,
  );
  if (all) {
    const { filter, unread } = parseFilter(all[1] ?? "");
    return { kind: "all", filter: unread ? { ...filter, words: unread } : filter };
  }
  return { kind: "title", text: unquote(cleaned) };
}

/** The most words a date phrase is looked for in: "the first monday of next month at 9 in the morning". */
const maxWhenWords = 12;

/**
 * "dentist to friday 3pm": the first split whose right side reads entirely
 * as a date, among its last `maxWhenWords` words (reading every suffix of a
 * 4,000-character message took minutes).
 */
function splitWhen(text: string, options: ParseOptions): { target: string; when: string | null } {
  const words = text.split(" ");
  for (let cut = Math.max(1, words.length - maxWhenWords); cut < words.length; cut++) {
    const when = words
      .slice(cut)
      .join(" ")
      .replace(/^(?:to|until|till|for|on|at|by)\s+/i, "");
    if (parseDue(when, options)) return { target: words.slice(0, cut).join(" "), when };
  }
  const connector = /^(.+?)\s+(?:to|until|till|for)\s+(.+)$/i.exec(text);
  if (connector?.[1] && connector[2]) return { target: connector[1], when: connector[2] };
  return { target: text, when: null };
}

type Rule = (text: string, options: ParseOptions) => Intent | null;

const match =
  (pattern: RegExp, build: (groups: string[], options: ParseOptions) => Intent | null): Rule =>
  (text, options) => {
    const found = pattern.exec(text);
    return found
      ? build(
          found.slice(1).map((group) => group ?? ""),
          options,
        )
      : null;
  };

const rules: Rule[] = [
  match(/^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|yo)$/i, () => ({
    kind: "greeting",
  })),
  match(/^(?:thanks|thank you|thx|cheers|great|perfect|nice)$/i, () => ({ kind: "thanks" })),
  match(/^(?:help|what can you do|how does this work|commands)$/i, () => ({ kind: "help" })),
  match(/^(?:cancel|never ?mind|forget it|stop|no|nope|none|neither)$/i, () => ({
    kind: "cancel",
  })),
  match(/^(?:yes|yep|yeah|sure|ok|okay|do it|go ahead|confirm|approve)$/i, () => ({
    kind: "confirm",
  })),
  match(
    /^(?:summari[sz]e|summary|overview|status|how am i doing|what'?s on my plate|give me (?:a |an )?(?:summary|overview|rundown)|brief me|digest)\b/i,
    () => ({ kind: "summary" }),
  ),
  match(
    /^(?:add|create|new|remind me|remind me to)(?: (?:a|an|new|another))?(?: (?:task|todo|to-do|reminder))?$/i,
    () => ({
      kind: "missing",
      action: "add",
    }),
  ),
  match(
    /^(?:add|create|new)(?: (?:a|an|new|another))?(?: (?:task|todo|to-do|item|reminder))?(?:\s*:|\s+(?:called|named|titled|to))?\s+(.+)$/i,
    ([text]) => ({ kind: "add", text: stripListSuffix(text ?? "") }),
  ),
  match(
    /^(?:remind me to|remember to|i (?:need|have|must|should|gotta|got) to|don'?t (?:let me )?forget to|todo:?|to-?do:)\s+(.+)$/i,
    ([text]) => ({ kind: "add", text: stripListSuffix(text ?? "") }),
  ),
  match(
    /^(?:find|search(?: for)?|look(?:ing)? for|look up|where(?:'s| is)|do i have (?:a |any )?tasks? (?:about|for|called|named|mentioning)|is there (?:a |any )?tasks? (?:about|for|called|named|mentioning))\s+(.+)$/i,
    ([query]) => {
      const cleaned = (query ?? "")
        .replace(/^(?:the|my|a|an|any)\s+/i, "")
        .replace(/\s+(?:task|tasks|todo|todos)$/i, "");
      return cleaned ? { kind: "search", query: unquote(cleaned) } : null;
    },
  ),
  match(
    /^(?:make|set|mark)\s+(.+?)\s+(?:as\s+)?(?:an?\s+)?(urgent|important|high|medium|normal|low|no)(?:[- ]priority)?$/i,
    ([target, word]) => ({
      kind: "prioritise",
      target: parseTarget(target ?? ""),
      priority: setPriorityWords[(word ?? "").toLowerCase()] ?? "none",
    }),
  ),
  match(
    /^(?:set|change)\s+(?:the\s+)?priority\s+(?:of|for|on)\s+(.+?)\s+to\s+(urgent|high|medium|normal|low|none)$/i,
    ([target, word]) => ({
      kind: "prioritise",
      target: parseTarget(target ?? ""),
      priority: setPriorityWords[(word ?? "").toLowerCase()] ?? "none",
    }),
  ),
  match(/^prioriti[sz]e\s+(.+)$/i, ([target]) => ({
    kind: "prioritise",
    target: parseTarget(target ?? ""),
    priority: "high",
  })),
  match(
    /^mark\s+(.+?)\s+(?:as\s+)?(?:not done|undone|incomplete|not complete|not finished|unfinished|open|to ?do)$/i,
    ([target]) => ({ kind: "reopen", target: parseTarget(target ?? "") }),
  ),
  match(/^(?:reopen|re-open|uncomplete|unfinish)\s+(.+)$/i, ([target]) => ({
    kind: "reopen",
    target: parseTarget(target ?? ""),
  })),
  match(/^open\s+(.+?)\s+again$/i, ([target]) => ({
    kind: "reopen",
    target: parseTarget(target ?? ""),
  })),
  match(/^mark\s+(.+?)\s+(?:as\s+)?(?:done|complete|completed|finished)$/i, ([target]) => ({
    kind: "complete",
    target: parseTarget(target ?? ""),
  })),
  match(/^(?!what\b|which\b)(.+?)\s+is\s+(?:done|complete|completed|finished)$/i, ([target]) => ({
    kind: "complete",
    target: parseTarget(target ?? ""),
  })),
  match(
    /^(?:complete|finish|close|check off|tick off|cross off|done with|i(?:'ve| have)? (?:finished|completed|done))\s+(.+)$/i,
    ([target]) => ({ kind: "complete", target: parseTarget(target ?? "") }),
  ),
  match(/^(?:delete|remove|trash|erase|get rid of|drop|discard|scrap)\s+(.+)$/i, ([target]) => ({
    kind: "delete",
    target: parseTarget(target ?? ""),
  })),
  match(
    /^(?:change|set|update)\s+(?:the\s+)?(?:due date|deadline|date|due time|time)\s+(?:of|for|on)\s+(.+?)\s+to\s+(.+)$/i,
    ([target, when]) => ({
      kind: "reschedule",
      target: parseTarget(target ?? ""),
      when: when ?? "",
    }),
  ),
  match(
    /^(?:move|reschedule|postpone|push(?: back)?|defer|delay|shift|bump)\s+(.+)$/i,
    ([rest], options) => {
      const { target, when } = splitWhen(rest ?? "", options);
      return { kind: "reschedule", target: parseTarget(target), when };
    },
  ),
  match(
    /^what (?:did|have) i (?:complete|completed|finish|finished|get done|done)\b(.*)$/i,
    ([rest]) => {
      const { filter, unread } = parseFilter(rest ?? "");
      return { kind: "list", filter: { ...filter, status: "completed" }, unread };
    },
  ),
  match(
    /^(?:show|list|display|view|see|get|give me|tell me|what(?:'s| is| are)|which|any|anything|do i have|have i got|what do i have)\b(.*)$/i,
    ([rest]) => ({ kind: "list", ...parseFilter(rest ?? "") }),
  ),
];

/**
 * Verbs with nothing after them: ask what they apply to rather than guess.
 * A Map, because the key is the user's whole message: an object literal
 * would answer "__proto__" or "constructor" with what every object has.
 */
const bareVerbs = new Map<string, "add" | TargetAction | "reschedule">([
  ["complete", "complete"],
  ["finish", "complete"],
  ["delete", "delete"],
  ["remove", "delete"],
  ["reopen", "reopen"],
  ["move", "reschedule"],
  ["reschedule", "reschedule"],
  ["postpone", "reschedule"],
]);

function stripListSuffix(text: string): string {
  return text.replace(/\s+(?:to|on) (?:my|the) (?:to-?do |task )?(?:list|tasks)$/i, "").trim();
}

export function parseMessage(message: string, options: ParseOptions): Intent {
  const text = normalise(message);
  if (text === "") return { kind: "unknown" };
  if (options.awaiting === "choice") {
    if (/^(?:all|all of them|both|every one|each one|each of them)$/i.test(text)) {
      return { kind: "choose", choice: "all" };
    }
    const position = parsePosition(text);
    if (position !== null) return { kind: "choose", choice: position };
  }
  if (options.awaiting === "date" && parseDue(text, options)) return { kind: "when", when: text };
  const bare = bareVerbs.get(text.toLowerCase());
  if (bare) return { kind: "missing", action: bare };
  for (const rule of rules) {
    const intent = rule(text, options);
    if (intent) return intent;
  }
  return { kind: "unknown" };
}
