import { describe, expect, it } from "vitest";
import { DomainError } from "./errors.ts";
import { checkVersion, LostUpdate, retryLostUpdates } from "./lost-update.ts";

/** A verb that loses the race `losses` times, then returns "done". */
function losingVerb(losses: number) {
  const verb = async () => {
    verb.calls++;
    if (verb.calls <= losses) throw new LostUpdate("The task changed while you edited it");
    return "done";
  };
  verb.calls = 0;
  return verb;
}

describe("retryLostUpdates", () => {
  it("runs the verb again when no version was pinned, until it wins", async () => {
    const verb = losingVerb(3);
    await expect(retryLostUpdates(undefined, verb)).resolves.toBe("done");
    expect(verb.calls).toBe(4);
  });

  it("retries for If-Match: * too", async () => {
    const verb = losingVerb(1);
    await expect(retryLostUpdates("any", verb)).resolves.toBe("done");
    expect(verb.calls).toBe(2);
  });

  it("answers 412 at once when a version was pinned", async () => {
    const verb = losingVerb(1);
    const error = await retryLostUpdates([7], verb).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: "precondition_failed",
      message: "The task changed while you edited it",
    });
    expect(verb.calls).toBe(1);
  });

  it("gives up with a 409 that says to retry after ten lost rounds", async () => {
    const verb = losingVerb(100);
    const error = await retryLostUpdates(undefined, verb).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "conflict",
      status: 409,
      message: "The task changed while you edited it; retry",
    });
    expect(verb.calls).toBe(10);
  });

  it("passes other errors through without retrying", async () => {
    let calls = 0;
    const failure = new DomainError("not_found", "Task not found");
    const error = await retryLostUpdates(undefined, async () => {
      calls++;
      throw failure;
    }).catch((caught: unknown) => caught);
    expect(error).toBe(failure);
    expect(calls).toBe(1);
  });
});

describe("checkVersion", () => {
  it("passes when If-Match names the current version among others, or any, or is absent", () => {
    expect(() => checkVersion([3], 3)).not.toThrow();
    expect(() => checkVersion([2, 3], 3)).not.toThrow();
    expect(() => checkVersion("any", 3)).not.toThrow();
    expect(() => checkVersion(undefined, 3)).not.toThrow();
  });

  it("answers 412 when If-Match names only other versions, or only tags never issued", () => {
    for (const expected of [[2], [2, 4], []]) {
      expect(() => checkVersion(expected, 3)).toThrow(
        expect.objectContaining({ code: "precondition_failed" }),
      );
    }
  });
});
