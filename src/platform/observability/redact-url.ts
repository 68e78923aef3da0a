/**
 * URLs as they may be written to logs and traces: an OAuth callback's
 * `code` and `state`, a verification link's `token`, a reset link's path
 * token and any parameter named like a secret are replaced. No imports:
 * the tracer (tracing.ts) loads this before the modules it instruments.
 */
export const censor = "[redacted]";

const secretParameter =
  /([?&;])(code|state|ticket|sig|signature|[\w.-]*?(?:token|secret|password|api[_-]?key))=[^&;#]*/gi;
const secretPathSegment = /(\/reset-password\/)[^/?#]+/i;

/** The URL as it may be written to a log: secret query values and path tokens replaced. */
export function urlForLog(url: string): string {
  let safe = url;
  if (safe.includes("/reset-password/")) safe = safe.replace(secretPathSegment, `$1${censor}`);
  if (safe.includes("=")) safe = safe.replace(secretParameter, `$1$2=${censor}`);
  return safe;
}
