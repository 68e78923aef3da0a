import { nextOccurrence } from "./recurrence.ts";

/** Runs in a worker thread of `occurrences.ts`'s pool: one rule evaluation, nothing else. */
export function evaluate(job: {
  rule: string;
  anchor: Date;
  after: Date;
  timeZone: string;
}): Date | null {
  return nextOccurrence(job.rule, job);
}
