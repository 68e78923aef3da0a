import { describe, expect, it } from "vitest";
import { credentialOf, SessionCache } from "./session-cache.ts";

const serving = (options: { ttlMs: number; maxEntries?: number }) =>
  new SessionCache({ ...options, serving: true });

describe("SessionCache", () => {
  it("remembers a credential for between half and all of its time to live", () => {
    const cache = serving({ ttlMs: 1_000 });
    for (const credential of ["Bearer a", "Bearer b", "Bearer c"]) {
      cache.remember(credential, "user", 1_000_000, 0, cache.generation);
      expect(cache.get(credential, 499)).toBe("user");
      expect(cache.get(credential, 1_000)).toBeUndefined();
    }
  });

  it("never outlives the session itself", () => {
    const cache = serving({ ttlMs: 60_000 });
    cache.remember("Bearer a", "user-a", 500, 0, cache.generation);
    expect(cache.get("Bearer a", 499)).toBe("user-a");
    expect(cache.get("Bearer a", 500)).toBeUndefined();
  });

  it("remembers nothing when its time to live is zero", () => {
    const cache = serving({ ttlMs: 0 });
    cache.remember("Bearer a", "user-a", 1_000_000, 0, cache.generation);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
  });

  it("drops the oldest entry when full, and everything on clear", () => {
    const cache = serving({ ttlMs: 1_000, maxEntries: 2 });
    cache.remember("Bearer a", "user-a", 1_000_000, 0, cache.generation);
    cache.remember("Bearer b", "user-b", 1_000_000, 0, cache.generation);
    cache.remember("Bearer c", "user-c", 1_000_000, 0, cache.generation);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
    expect(cache.get("Bearer c", 1)).toBe("user-c");
    cache.clear();
    expect(cache.get("Bearer c", 1)).toBeUndefined();
  });

  it("forgets every credential of one user and keeps the others'", () => {
    const cache = serving({ ttlMs: 60_000 });
    cache.remember("Bearer a1", "user-a", 1_000_000, 0, cache.generation);
    cache.remember("cookie:a2", "user-a", 1_000_000, 0, cache.generation);
    cache.remember("Bearer b", "user-b", 1_000_000, 0, cache.generation);
    cache.forgetUser("user-a");
    expect(cache.get("Bearer a1", 1)).toBeUndefined();
    expect(cache.get("cookie:a2", 1)).toBeUndefined();
    expect(cache.get("Bearer b", 1)).toBe("user-b");
  });

  it("keeps one entry per credential, and forgets a user whose older credentials were evicted", () => {
    const cache = serving({ ttlMs: 60_000, maxEntries: 2 });
    cache.remember("Bearer a1", "user-a", 1_000_000, 0, cache.generation);
    cache.remember("Bearer a1", "user-a", 1_000_000, 0, cache.generation);
    expect(cache.size).toBe(1);
    cache.remember("Bearer b", "user-b", 1_000_000, 0, cache.generation);
    // Full: a second credential of user-a evicts the oldest entry, user-a's first.
    cache.remember("Bearer a2", "user-a", 1_000_000, 0, cache.generation);
    expect(cache.get("Bearer a1", 1)).toBeUndefined();
    cache.forgetUser("user-a");
    expect(cache.get("Bearer a2", 1)).toBeUndefined();
    expect(cache.get("Bearer b", 1)).toBe("user-b");
    expect(cache.size).toBe(1);
    // Signed in again after being forgotten: cached, and forgotten again.
    cache.remember("Bearer a3", "user-a", 1_000_000, 2, cache.generation);
    expect(cache.get("Bearer a3", 3)).toBe("user-a");
    cache.forgetUser("user-a");
    expect(cache.get("Bearer a3", 3)).toBeUndefined();
  });

  it("does not keep an answer read before a change it heard of meanwhile", () => {
    const cache = serving({ ttlMs: 60_000 });
    const since = cache.generation;
    // The session check was in flight when a revocation was announced.
    cache.forgetUser("user-a");
    cache.remember("Bearer a", "user-a", 1_000_000, 0, since);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
  });

  it("serves nothing until resumed and nothing while suspended, and comes back empty", () => {
    const cache = new SessionCache({ ttlMs: 60_000 });
    cache.remember("Bearer a", "user-a", 1_000_000, 0, cache.generation);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
    cache.resume();
    cache.remember("Bearer a", "user-a", 1_000_000, 0, cache.generation);
    expect(cache.get("Bearer a", 1)).toBe("user-a");
    cache.suspend();
    expect(cache.serving).toBe(false);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
    cache.resume();
    expect(cache.get("Bearer a", 1)).toBeUndefined();
  });
});

describe("credentialOf", () => {
  const plain = "better-auth.session_token";
  const secure = "__Secure-better-auth.session_token";

  it("prefers the bearer header, then the session cookie of the name better-auth reads", () => {
    expect(credentialOf({ authorization: "Bearer t", cookie: `${plain}=c` }, plain)).toBe(
      "Bearer t",
    );
    expect(credentialOf({ cookie: `a=1; ${plain}=abc.sig; b=2` }, plain)).toBe("cookie:abc.sig");
    expect(credentialOf({ cookie: `${secure}=xyz` }, secure)).toBe("cookie:xyz");
  });

  it("reads no other name: an unprefixed cookie behind https, or a prefixed one over http", () => {
    expect(credentialOf({ cookie: `${plain}=xyz` }, secure)).toBeNull();
    expect(credentialOf({ cookie: `${secure}=alias; ${plain}=real` }, plain)).toBe("cookie:real");
    expect(credentialOf({ cookie: `x${plain}=abc` }, plain)).toBeNull();
  });

  it("finds nothing without credentials", () => {
    expect(credentialOf({}, plain)).toBeNull();
    expect(credentialOf({ authorization: "Basic abc", cookie: "theme=dark" }, plain)).toBeNull();
  });
});
