import type { Context } from "../../platform/context.ts";
import { DomainError } from "../../platform/http/errors.ts";
import type { QuickAddSplitter } from "../tasks/service.ts";
import { quickAddOutputSchema } from "./contracts.ts";
import { parseJson } from "./features.ts";
import type { AiGateway } from "./gateway.ts";
import { renderPrompt } from "./prompts.ts";
import { cleanText } from "./safety.ts";

/** Failures after which quick add quietly uses the offline parser (the ledger has the rows). */
const fallbackCodes = new Set(["upstream_error", "upstream_timeout", "budget_exceeded"]);

function splitProblems(text: string): string[] {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch {
    return ["the answer is not valid JSON"];
  }
  const parsed = quickAddOutputSchema.safeParse(value);
  if (parsed.success) return [];
  return parsed.error.issues.map(
    (issue) => `${issue.path.join(".") || "answer"}: ${issue.message}`,
  );
}

/**
 * LLM-assisted quick add: the `quickadd` chain splits the text into fields
 * (validated with Zod, repaired once). Null means "parse it offline": the
 * chain reached `local`, or it failed (invalid output, upstream error,
 * timeout, budget), which is logged and ledgered but never shown to the user.
 */
export function quickAddSplitter(ai: AiGateway): QuickAddSplitter {
  return async (ctx: Context, input) => {
    const variables = {
      text: cleanText(input.text, 500),
      categories: input.categories.slice(0, 100).map((name) => cleanText(name, 100)),
    };
    try {
      const answer = await ai.run(ctx, {
        feature: "quickadd",
        template: "quickadd",
        render: (external) => renderPrompt("quickadd", variables, { external }),
        repair: (previousOutput, problems) => (external) =>
          renderPrompt(
            "quickadd-repair",
            { ...variables, previousOutput: previousOutput.slice(0, 8_000), problems },
            { external },
          ),
        validate: splitProblems,
        cacheInput: { variables },
        workspaceId: input.workspaceId,
        moderation: { kind: "typed", field: "text", text: variables.text },
        maxOutputTokens: 300,
        sanitize: false,
        stream: false,
      });
      if (answer.provider === "local") return null;
      const split = quickAddOutputSchema.parse(parseJson(answer.text));
      // With PII redacted the model saw "[email]" where the user typed an
      // address; such a title would lose it, so the offline parse wins.
      const placeholder = /\[(?:email|phone|card number)\]/;
      if (placeholder.test(split.title) && !placeholder.test(input.text)) return null;
      return split;
    } catch (error) {
      if (!(error instanceof DomainError) || !fallbackCodes.has(error.code)) throw error;
      ctx.log.info({ code: error.code }, "quick add falls back to the offline parser");
      return null;
    }
  };
}
