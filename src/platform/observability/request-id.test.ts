import { describe, expect, it } from "vitest";
import { newRequestId } from "./request-id.ts";

describe("request ids", () => {
  it("are distinct version-7 UUIDs across refills of the random pool", () => {
    const ids = Array.from({ length: 1_000 }, () => newRequestId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it("begin with the time they were made, to the millisecond", () => {
    const before = Date.now();
    const id = newRequestId();
    const after = Date.now();
    const millis = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
    expect(millis).toBeGreaterThanOrEqual(before);
    expect(millis).toBeLessThanOrEqual(after);
  });
});
