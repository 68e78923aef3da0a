import { readFileSync } from "node:fs";
import { z } from "zod";
import { containsInjection, fencedJson, redactPiiIn } from "./safety.ts";

/**
 * Prompt templates live in `prompts/<id>.v<version>.md`: front matter, then a
 * `# system` and a `# user` section. Variables are validated with Zod before
 * rendering. Inline variables (dates, time zones) are produced by the server
 * and inserted as text; everything users wrote goes into a `<data>` block as
 * escaped JSON, never into the instructions.
 */

const timezone = z.string().regex(/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/, "must be an IANA zone");

const taskData = z.object({
  title: z.string().max(200),
  description: z.string().max(4_000).nullable(),
  status: z.enum(["open", "completed"]),
  priority: z.string(),
  dueAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  tags: z.array(z.string()).max(20),
});

const subtaskData = z.object({
  title: z.string().max(200),
  status: z.enum(["open", "completed"]),
  dueAt: z.string().nullable(),
});

const activityData = z.object({ type: z.string(), at: z.string(), by: z.string().nullable() });

const digestTask = taskData.omit({ description: true });

/** What the user typed into quick add, and the workspace's category names to pick from. */
const quickAddData = {
  text: z.string().max(500),
  categories: z.array(z.string().max(100)).max(100),
};

export const templates = {
  summary: {
    version: 1,
    inline: {},
    data: {
      task: taskData,
      subtasks: z.array(subtaskData).max(50),
      activity: z.array(activityData).max(20),
    },
  },
  digest: {
    version: 1,
    inline: { today: z.iso.date(), timezone },
    data: { tasks: z.array(digestTask).max(100) },
  },
  breakdown: {
    version: 1,
    inline: {},
    data: { task: taskData },
  },
  chat: {
    version: 1,
    inline: { today: z.iso.date(), weekday: z.string().regex(/^[A-Z][a-z]+day$/), timezone },
    data: {},
  },
  quickadd: {
    version: 1,
    inline: {},
    data: quickAddData,
  },
  "quickadd-repair": {
    version: 1,
    inline: {},
    data: {
      ...quickAddData,
      previousOutput: z.string().max(8_000),
      problems: z.array(z.string()).max(20),
    },
  },
  "breakdown-repair": {
    version: 1,
    inline: {},
    data: {
      task: taskData,
      previousOutput: z.string().max(8_000),
      problems: z.array(z.string()).max(20),
    },
  },
} as const;

export type TemplateId = keyof typeof templates;
type Spec<T extends TemplateId> = (typeof templates)[T];
type Shape<S> = { [K in keyof S]: S[K] extends z.ZodType ? z.infer<S[K]> : never };
export type TemplateVariables<T extends TemplateId> = Shape<Spec<T>["inline"]> &
  Shape<Spec<T>["data"]>;

export type RenderedPrompt = {
  templateId: TemplateId;
  templateVersion: number;
  system: string;
  user: string;
  /** Safety flags raised while rendering, e.g. "possible_prompt_injection". */
  flags: string[];
};

type ParsedTemplate = { system: string; user: string };
const loaded = new Map<string, ParsedTemplate>();
const promptsDir = new URL("../../../prompts/", import.meta.url);

function load(id: TemplateId): ParsedTemplate {
  const version = templates[id].version;
  const name = `${id}.v${version}`;
  const cached = loaded.get(name);
  if (cached) return cached;
  const text = readFileSync(new URL(`${name}.md`, promptsDir), "utf8");
  const match = /^---\n([\s\S]*?)\n---\n# system\n([\s\S]*?)\n# user\n([\s\S]*)$/.exec(text);
  const front = match?.[1] ?? "";
  if (!match || !front.includes(`id: ${id}`) || !front.includes(`version: ${version}`)) {
    throw new Error(`prompts/${name}.md: front matter must name id ${id} and version ${version}`);
  }
  const parsed = { system: (match[2] ?? "").trim(), user: (match[3] ?? "").trim() };
  loaded.set(name, parsed);
  return parsed;
}

// Built once per template: Zod compiles an object schema on its first parse,
// which costs about 0.1 ms, far more than the parse itself.
const variableSchemas = new Map<TemplateId, z.ZodType>();

function variablesSchema(id: TemplateId): z.ZodType {
  let schema = variableSchemas.get(id);
  if (!schema) {
    schema = z.object({ ...templates[id].inline, ...templates[id].data });
    variableSchemas.set(id, schema);
  }
  return schema;
}

/** A marker local models read to know which template they are answering. */
export const templateMarker = (id: string, version: number) => `[template ${id}.v${version}]`;

/**
 * Renders a template. `external` redacts PII from the data, because the text
 * is about to leave for a provider outside this process.
 */
export function renderPrompt<T extends TemplateId>(
  id: T,
  variables: TemplateVariables<T>,
  options: { external: boolean },
): RenderedPrompt {
  const spec = templates[id];
  const valid = variablesSchema(id).parse(variables) as Record<string, unknown>;
  const template = load(id);
  const flags = new Set<string>();
  const replacements = new Map<string, string>();
  for (const name of Object.keys(spec.inline)) replacements.set(name, String(valid[name]));
  for (const name of Object.keys(spec.data)) {
    const block = dataBlock(name, valid[name], options);
    if (block.flagged) flags.add("possible_prompt_injection");
    replacements.set(name, block.text);
  }
  const user = template.user.replace(/\{\{(\w+)\}\}/g, (placeholder, name: string) => {
    const replacement = replacements.get(name);
    if (replacement === undefined) throw new Error(`${id}: unknown variable ${placeholder}`);
    return replacement;
  });
  return {
    templateId: id,
    templateVersion: spec.version,
    system: `${templateMarker(id, spec.version)}\n${template.system}`,
    user,
    flags: [...flags],
  };
}

/**
 * Stored text as a data block: escaped JSON that cannot close its block,
 * PII-redacted when `external`, and marked when it reads like instructions.
 * Templates and the assistant's tool results both reach a model this way.
 */
export function dataBlock(
  name: string,
  value: unknown,
  options: { external: boolean },
): { text: string; flagged: boolean } {
  const shown = options.external ? redactPiiIn(value) : value;
  const flagged = containsInjection(shown);
  const marker = flagged ? ' flagged="possible-prompt-injection"' : "";
  return { text: `<data name="${name}"${marker}>\n${fencedJson(shown)}\n</data>`, flagged };
}

/** The data blocks of a rendered user message, parsed back (for the offline model). */
export function readDataBlocks(user: string): Record<string, unknown> {
  const blocks: Record<string, unknown> = {};
  for (const match of user.matchAll(/<data name="(\w+)"[^>]*>\n([\s\S]*?)\n<\/data>/g)) {
    if (match[1] && match[2]) blocks[match[1]] = JSON.parse(match[2]);
  }
  return blocks;
}

/** The template a rendered system message came from. */
export function readTemplateMarker(system: string): { id: string; version: number } | null {
  const match = /^\[template ([a-z-]+)\.v(\d+)\]/.exec(system);
  return match?.[1] ? { id: match[1], version: Number(match[2]) } : null;
}
