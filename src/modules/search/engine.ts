import type { FastifyBaseLogger } from "fastify";
import type { Executor } from "../../platform/db/transaction.ts";
import type { AiGateway } from "../ai/gateway.ts";
import { defaultSearchSettings, type SearchSettings } from "./settings.ts";
import { prepareSearchStore, type SearchCapabilities } from "./store.ts";
import { EmbeddingWorker } from "./worker.ts";

/** Search as one app has it: what the database supports, the embed chain, the worker. */
export type TaskSearch = {
  capabilities: SearchCapabilities;
  gateway: AiGateway;
  settings: SearchSettings;
  worker: EmbeddingWorker;
};

declare module "../../platform/context.ts" {
  interface AppServices {
    search?: TaskSearch;
  }
}

/** Sets up the optional store (never fails: missing parts are reported) and the worker. */
export async function createTaskSearch(deps: {
  db: Executor;
  gateway: AiGateway;
  now: () => Date;
  log: FastifyBaseLogger;
  settings?: Partial<SearchSettings> | undefined;
}): Promise<TaskSearch> {
  const settings = { ...defaultSearchSettings, ...deps.settings };
  const capabilities = await prepareSearchStore(deps.db, deps.log);
  const worker = new EmbeddingWorker({ ...deps, settings });
  return { capabilities, gateway: deps.gateway, settings, worker };
}

/** What /readyz reports about search. */
export function searchHealth(search: TaskSearch) {
  const view = (capability: SearchCapabilities["semantic"], fallback: string) =>
    capability.available
      ? { status: "ok" as const }
      : { status: "unavailable" as const, detail: `${capability.reason}; ${fallback}` };
  return {
    semanticSearch: view(
      search.capabilities.semantic,
      "semantic and hybrid searches answer with keyword search",
    ),
    typoTolerantSearch: view(search.capabilities.typos, "keyword search matches whole words only"),
  };
}
