/**
 * How main.ts flushes traces on its way out without importing the tracer
 * (tracing.ts, preloaded by `npm start`, registers its shutdown here; when
 * it was not loaded there is nothing to flush).
 */
let stop: (() => Promise<void>) | undefined;

export function onTracingStop(shutdown: () => Promise<void>): void {
  stop = shutdown;
}

/** Sends the spans still buffered; a no-op without tracing. */
export async function stopTracing(): Promise<void> {
  await stop?.();
}
