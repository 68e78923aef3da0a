import { eq } from "drizzle-orm";
import { LRUCache } from "lru-cache";
import { type ChangeFeed, NotifiedGate } from "../../platform/db/change-feed.ts";
import type { Executor } from "../../platform/db/transaction.ts";
import { workspace } from "../workspaces/schema.ts";

/**
 * Each workspace's redaction setting, read once and kept until the database
 * announces a change to the workspace (change feed; migration 0009), so an
 * AI call does not pay a query for it. While the feed is down every call
 * reads the setting; a lookup that raced a change is not kept.
 */
export class RedactionLookup {
  readonly #settings = new LRUCache<string, { redact: boolean | null }>({ max: 10_000 });
  readonly #gate = new NotifiedGate(() => this.#settings.clear());

  constructor(changes: ChangeFeed | undefined) {
    changes?.subscribe({
      changed: (kind, id) => {
        if (kind === "workspace") this.forget(id);
      },
      up: () => this.#gate.resume(),
      down: () => this.#gate.suspend(),
    });
  }

  /**
   * Whether PII is redacted before a workspace's text leaves for an external
   * provider: the workspace's `aiRedactPii` when its admins set it, else the
   * deployment's default (`AI_REDACT_PII`, passed as `fallback`).
   */
  async redacts(db: Executor, workspaceId: string | null, fallback: boolean): Promise<boolean> {
    if (workspaceId === null) return fallback;
    const known = this.#gate.serving ? this.#settings.get(workspaceId) : undefined;
    if (known) return known.redact ?? fallback;
    const since = this.#gate.generation;
    const [row] = await db
      .select({ aiRedactPii: workspace.aiRedactPii })
      .from(workspace)
      .where(eq(workspace.id, workspaceId));
    const redact = row ? row.aiRedactPii : null;
    if (this.#gate.accepts(since)) this.#settings.set(workspaceId, { redact });
    return redact ?? fallback;
  }

  /** Drops one workspace's setting (it changed). */
  forget(workspaceId: string): void {
    this.#gate.changed();
    this.#settings.delete(workspaceId);
  }
}
