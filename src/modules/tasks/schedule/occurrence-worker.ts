import { nextOccurrence, RecurrenceNotFound, RuleNotAccepted } from "./recurrence.ts";

/**
 * What a worker answers: the next occurrence (null: the series has ended),
 * or why there is none to give.
 */
export type Evaluation = Date | null | { unresolvable: string };

/**
 * Runs in a worker thread of `occurrences.ts`'s pool: one rule evaluation,
 * nothing else. Reasons are answers, not throws: an error crosses the
 * thread as a plain Error, without its class or name.
 */
export function evaluate(job: {
  rule: string;
  anchor: Date;
  after: Date;
  timeZone: string;
}): Evaluation {
  try {
    return nextOccurrence(job.rule, job);
  } catch (error) {
    if (error instanceof RuleNotAccepted)
      return { unresolvable: "not a rule this server evaluates" };
    if (error instanceof RecurrenceNotFound) {
      return { unresolvable: "no occurrence within 10,000 of its periods" };
    }
    throw error;
  }
}
