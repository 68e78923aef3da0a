import { randomFillSync } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

// 256 ids' worth of randomness per call into the CSPRNG: uuid's own source
// asks for 16 bytes per id, and that call was 3% of the server's CPU on
// GET /v1/tasks/{id} (bench profile, 2026-12-05).
const pool = new Uint8Array(16 * 256);
let next = pool.length;

/**
 * A new request id: a UUIDv7 (time-ordered to the millisecond, so log lines
 * sort by arrival) whose random bits come from a pooled buffer. Ids made in
 * the same millisecond are not ordered among themselves; request ids need
 * only be unique. Entity ids keep uuid's monotonic `v7()`.
 */
export function newRequestId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const random = pool.subarray(next, next + 16);
  next += 16;
  return uuidv7({ random });
}
