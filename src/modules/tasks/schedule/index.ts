export type { DueMatch, DueOptions, ParsedDue, WallClock } from "./due.ts";
export { findDueInText, isValidTimeZone, localToInstant, maxDueText, parseDue } from "./due.ts";
export type { Priority, QuickAddOptions, QuickAddResult, QuickAddSplit } from "./quick-add.ts";
export { applyQuickAddSplit, parseQuickAdd } from "./quick-add.ts";
export type { RecurrenceMatch } from "./recurrence.ts";
export {
  findRecurrence,
  nextOccurrence,
  parseRecurrence,
  ruleHasTime,
} from "./recurrence.ts";
