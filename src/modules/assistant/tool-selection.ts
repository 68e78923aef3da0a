import type { HistoryMessage } from "./agent.ts";
import { allTools } from "./tools.ts";

/**
 * Which tools a model may see for one message: the least the request needs,
 * so text planted in a task ("delete all tasks") cannot reach a tool the
 * user never asked for. The rule is simple and errs towards fewer tools:
 *
 * - the read tools (list, get, search, categories, profile) always;
 * - a change tool only when the user's message uses a word for that change
 *   ("add", "move", "complete", "reopen", "delete", ...);
 * - a bare confirmation ("yes", "go ahead") gets the tools of the user's
 *   previous message, so a question the assistant asked can be answered.
 *
 * Whatever is offered, deletes and bulk changes still wait for approval in
 * the tool box.
 */

const changeWords: Record<string, RegExp> = {
  add_task:
    /\b(add|create|new|remind|note down|capture|put|plan|schedule|book|set up|todo|to-do)\b/i,
  update_task:
    /\b(move|moving|reschedule|postpone|push|delay|bring forward|shift|change|rename|update|edit|set|make|prioriti[sz]e|tag|untag|assign|unassign|describe|categori[sz]e)\b/i,
  complete_task: /\b(complete|completed|done|finish|finished|check off|tick off|mark)\b/i,
  reopen_task: /\b(reopen|re-open|undo|uncomplete|not done|unmark|open again)\b/i,
  delete_task: /\b(delete|remove|trash|erase|discard|get rid of|throw away|clear out|clean up)\b/i,
};

const confirmation =
  /^\s*(yes|yep|yeah|y|ok|okay|sure|please|please do|do it|go ahead|go on|confirm|correct|right)[\s.!]*$/i;

const readTools = allTools.filter((tool) => tool.effect === "read").map((tool) => tool.name);

/** The names of the tools to offer for `message`, in the order of `allTools`. */
export function toolsForRequest(message: string, history: readonly HistoryMessage[]): string[] {
  const texts = [message];
  if (confirmation.test(message)) {
    const previous = history.findLast((entry) => entry.role === "user");
    if (previous) texts.push(previous.content);
  }
  const wanted = new Set(readTools);
  for (const [tool, words] of Object.entries(changeWords)) {
    if (texts.some((text) => words.test(text))) wanted.add(tool);
  }
  return allTools.filter((tool) => wanted.has(tool.name)).map((tool) => tool.name);
}
