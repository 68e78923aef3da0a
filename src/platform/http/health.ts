import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { migrationsApplied, migrationsFolder } from "../db/migrate.ts";
import { DomainError } from "./errors.ts";
import { problemResponse } from "./route-helpers.ts";

const expectedMigrations = (
  JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  }
).entries.length;

/** An optional feature that may be unavailable while the app still serves (e.g. semantic search). */
export type FeatureHealth = { status: "ok" | "unavailable"; detail?: string };

const featureHealthSchema = z.object({
  status: z.enum(["ok", "unavailable"]),
  detail: z
    .string()
    .optional()
    .meta({ description: "Why it is unavailable, and what answers instead" }),
});

export function registerHealthRoutes(
  app: FastifyInstance,
  pool: pg.Pool,
  features: () => Record<string, FeatureHealth> = () => ({}),
): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  // Probes are never rate limited; liveness answers even under load (see overload.ts).
  typed.get("/healthz", {
    config: { rateLimit: false, loadShedding: false },
    schema: {
      tags: ["Operations"],
      summary: "Liveness: the process is up",
      response: { 200: z.object({ status: z.literal("ok") }) },
    },
    handler: async () => ({ status: "ok" as const }),
  });
  typed.get("/readyz", {
    config: { rateLimit: false },
    schema: {
      tags: ["Operations"],
      summary: "Readiness: the database answers and migrations are applied",
      description:
        "`features` reports optional features that can be unavailable on a ready instance " +
        "(semantic search needs the pgvector extension; typo tolerance needs pg_trgm).",
      response: {
        200: z.object({
          status: z.literal("ready"),
          database: z.literal("ok"),
          features: z.record(z.string(), featureHealthSchema),
        }),
        503: problemResponse,
      },
    },
    handler: async () => {
      const ready = await migrationsApplied(pool, expectedMigrations).catch(() => false);
      if (!ready) {
        throw new DomainError("unavailable", "The database is unreachable or not migrated", {
          headers: { "retry-after": "5" },
        });
      }
      return { status: "ready" as const, database: "ok" as const, features: features() };
    },
  });
}
