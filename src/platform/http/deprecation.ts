import type { FastifyInstance } from "fastify";

/**
 * A route on its way out: `config: { deprecated: { since, sunset, link } }`.
 * Its answers carry `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a
 * `Link` to the migration notes; the OpenAPI document marks it deprecated.
 * Dates are ISO days (UTC).
 */
export type Deprecation = {
  /** The day the route became deprecated. */
  since: string;
  /** The day after which it may stop answering. */
  sunset?: string;
  /** Where a client reads what to use instead. */
  link?: string;
};

declare module "fastify" {
  interface FastifyContextConfig {
    deprecated?: Deprecation;
  }
}

const isoDay = /^\d{4}-\d{2}-\d{2}$/;

function dayStart(day: string, field: string): Date {
  const date = new Date(`${day}T00:00:00Z`);
  if (!isoDay.test(day) || Number.isNaN(date.getTime()) || !date.toISOString().startsWith(day)) {
    throw new Error(`deprecated.${field} must be an ISO day (YYYY-MM-DD), got "${day}"`);
  }
  return date;
}

/** The response headers for a deprecation, computed once per route. */
export function deprecationHeaders(deprecation: Deprecation): Record<string, string> {
  const headers: Record<string, string> = {
    deprecation: `@${Math.floor(dayStart(deprecation.since, "since").getTime() / 1000)}`,
  };
  if (deprecation.sunset) {
    // The end of the sunset day: the route still answers on that day.
    const end = new Date(dayStart(deprecation.sunset, "sunset").getTime() + 86_399_000);
    headers.sunset = end.toUTCString();
  }
  if (deprecation.link) headers.link = `<${deprecation.link}>; rel="deprecation"; type="text/html"`;
  return headers;
}

/**
 * Sends the deprecation headers of deprecated routes on every answer,
 * including a 401 (a client should learn about it before it has a key).
 * Bad dates fail when the route is registered, not when it is called.
 */
export function registerDeprecations(app: FastifyInstance): void {
  const computed = new WeakMap<Deprecation, Record<string, string>>();
  app.addHook("onRoute", (route) => {
    const deprecation = route.config?.deprecated;
    if (deprecation) computed.set(deprecation, deprecationHeaders(deprecation));
  });
  app.addHook("onRequest", (request, reply, done) => {
    const deprecation = request.routeOptions.config.deprecated;
    if (deprecation) reply.headers(computed.get(deprecation) ?? deprecationHeaders(deprecation));
    done();
  });
}
