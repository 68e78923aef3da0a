import { describe, expect, it } from "vitest";
import { unstorableText } from "./validation.ts";

describe("unstorableText", () => {
  it("finds nothing in ordinary text, emoji and other planes included", () => {
    expect(
      unstorableText({ title: "Plan 🚀 ünïcode 漢字", tags: ["a", "b"], n: 1, ok: null }),
    ).toBe(undefined);
  });

  it("names the path of a string with U+0000 at any depth", () => {
    expect(unstorableText({ filter: { tags: ["fine", "bad\u0000"] } })).toEqual({
      path: ["filter", "tags", 1],
      message: "must not contain the NUL character (U+0000)",
    });
  });

  it("names the path of a string with an unpaired surrogate, high or low", () => {
    expect(unstorableText({ a: "x\uD800" })?.path).toEqual(["a"]);
    expect(unstorableText({ b: "\uDC00y" })?.path).toEqual(["b"]);
    expect(unstorableText("\uD83D\uDE80")).toBe(undefined);
  });

  it("reports a bad object key at its parent", () => {
    expect(unstorableText({ outer: { "k\u0000": 1 } })).toEqual({
      path: ["outer"],
      message: "has a field name that must not contain the NUL character (U+0000)",
    });
  });

  it("walks a body nested deeper than the call stack without throwing", () => {
    let deep: unknown = "bottom\u0000";
    for (let level = 0; level < 100_000; level++) deep = [deep];
    expect(unstorableText(deep)?.path).toHaveLength(100_000);
  });
});
