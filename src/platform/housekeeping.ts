import type { FastifyInstance } from "fastify";

/** A recurring clean-up: deletes what has expired and says how many rows went. */
export type Chore = {
  /** Names the chore in its log lines. */
  name: string;
  everyMs: number;
  run: () => Promise<number>;
};

/**
 * Runs each chore once the app is ready and then every `everyMs`, on timers
 * that do not hold the process open, until the app closes. A chore that
 * fails is logged and tried again next time; one still running is not
 * started twice. Every instance runs them: the deletes are idempotent and
 * take no locks beyond the rows they remove.
 */
export function scheduleChores(app: FastifyInstance, chores: readonly Chore[]): void {
  const timers: NodeJS.Timeout[] = [];
  let closing = false;
  const start = (chore: Chore) => {
    let running = false;
    const runOnce = async () => {
      if (running || closing) return;
      running = true;
      try {
        const removed = await chore.run();
        if (removed > 0) app.log.info({ chore: chore.name, removed }, "housekeeping removed rows");
      } catch (error) {
        app.log.warn({ err: error, chore: chore.name }, "housekeeping failed; will retry");
      } finally {
        running = false;
      }
    };
    void runOnce();
    const timer = setInterval(() => void runOnce(), chore.everyMs);
    timer.unref();
    timers.push(timer);
  };
  app.addHook("onReady", async () => {
    for (const chore of chores) start(chore);
  });
  app.addHook("onClose", async () => {
    closing = true;
    for (const timer of timers) clearInterval(timer);
  });
}
