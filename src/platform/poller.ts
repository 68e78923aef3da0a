/**
 * Background work on a timer, one round at a time: every `everyMs` a round
 * starts unless the last one is still running; a round that fails is
 * reported and the next one tries again. `close()` stops the timer and
 * waits for the round in hand; a long round can check `closed` to end early.
 */
export class Poller {
  readonly #everyMs: number;
  readonly #round: () => Promise<unknown>;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: {
    everyMs: number;
    round: () => Promise<unknown>;
    onError: (error: unknown) => void;
  }) {
    this.#everyMs = options.everyMs;
    this.#round = options.round;
    this.#onError = options.onError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setInterval(() => {
      this.#running ??= this.#round()
        .then(() => undefined)
        .catch(this.#onError)
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#everyMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
