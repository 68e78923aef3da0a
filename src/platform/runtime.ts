/**
 * V8 settings for a server process, applied when this module loads: main.ts
 * imports it first, and so do the benchmarks, which run the server in their
 * own process and must measure the runtime production gets.
 *
 * Allocation-site pretenuring is off. Under load V8 judged pg's row parsing
 * (the rows, their strings and timestamps) long-lived, because every
 * scavenge found some requests in flight, and from then on allocated every
 * row of every query straight into old space: the heap grew ~7 MB per
 * scavenge instead of ~0.4 MB, full collections came every few seconds, and
 * a list request cost ~8% more CPU (bench/README.md, "Runtime").
 */
import v8 from "node:v8";

v8.setFlagsFromString("--no-allocation-site-pretenuring");
