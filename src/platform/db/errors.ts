/** True when `error` (or the driver error Drizzle wrapped) is a unique violation of `constraint`. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const candidate = error instanceof Error && error.cause ? error.cause : error;
  const { code, constraint: violated } = (candidate ?? {}) as {
    code?: string;
    constraint?: string;
  };
  return code === "23505" && violated === constraint;
}
