import { type ParseArgsConfig, parseArgs } from "node:util";
import { integer, UsageError } from "./options.ts";

/**
 * Flags for the bench scripts other than `npm run bench` (which has its own
 * usage text in options.ts): an unknown flag or a bad value is one line on
 * stderr naming the flag, then the script's usage line, and exit code 2,
 * never a stack trace or a run with NaN in it.
 */
export function parseFlags<T extends ParseArgsConfig>(usage: string, config: T) {
  const fail = (message: string): never => {
    process.stderr.write(`${message}\nusage: ${usage}\n`);
    process.exit(2);
  };
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    // node:util's own usage errors (unknown flag, missing value) carry ERR_PARSE_ARGS_* codes.
    if (!String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")) throw error;
    return fail((error as Error).message);
  }
  const guard = <V>(read: () => V): V => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return fail(error.message);
    }
  };
  return {
    ...parsed,
    /** An integer flag >= min; `_` may group digits (1_000_000). */
    integer: (name: string, raw: string, min = 1) => guard(() => integer(name, raw, min)),
    /** A flag that must be one of `choices`. */
    choice: <C extends string>(name: string, raw: string, choices: readonly C[]): C =>
      guard(() => {
        if ((choices as readonly string[]).includes(raw)) return raw as C;
        throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${raw}"`);
      }),
    fail,
  };
}
