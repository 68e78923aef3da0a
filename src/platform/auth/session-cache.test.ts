import { describe, expect, it } from "vitest";
import { credentialOf, SessionCache } from "./session-cache.ts";

describe("SessionCache", () => {
  it("remembers a credential for between half and all of its time to live", () => {
    const cache = new SessionCache({ ttlMs: 1_000 });
    for (const credential of ["Bearer a", "Bearer b", "Bearer c"]) {
      cache.remember(credential, "user", 1_000_000, 0);
      expect(cache.get(credential, 499)).toBe("user");
      expect(cache.get(credential, 1_000)).toBeUndefined();
    }
  });

  it("never outlives the session itself", () => {
    const cache = new SessionCache({ ttlMs: 60_000 });
    cache.remember("Bearer a", "user-a", 500, 0);
    expect(cache.get("Bearer a", 499)).toBe("user-a");
    expect(cache.get("Bearer a", 500)).toBeUndefined();
  });

  it("remembers nothing when its time to live is zero", () => {
    const cache = new SessionCache({ ttlMs: 0 });
    cache.remember("Bearer a", "user-a", 1_000_000, 0);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
  });

  it("drops the oldest entry when full, and everything on clear", () => {
    const cache = new SessionCache({ ttlMs: 1_000, maxEntries: 2 });
    cache.remember("Bearer a", "user-a", 1_000_000, 0);
    cache.remember("Bearer b", "user-b", 1_000_000, 0);
    cache.remember("Bearer c", "user-c", 1_000_000, 0);
    expect(cache.get("Bearer a", 1)).toBeUndefined();
    expect(cache.get("Bearer c", 1)).toBe("user-c");
    cache.clear();
    expect(cache.get("Bearer c", 1)).toBeUndefined();
  });
});

describe("credentialOf", () => {
  it("prefers the bearer header, then the (secure) session cookie", () => {
    expect(credentialOf({ authorization: "Bearer t", cookie: "better-auth.session_token=c" })).toBe(
      "Bearer t",
    );
    expect(credentialOf({ cookie: "a=1; better-auth.session_token=abc.sig; b=2" })).toBe(
      "cookie:abc.sig",
    );
    expect(credentialOf({ cookie: "__Secure-better-auth.session_token=xyz" })).toBe("cookie:xyz");
  });

  it("finds nothing without credentials", () => {
    expect(credentialOf({})).toBeNull();
    expect(credentialOf({ authorization: "Basic abc", cookie: "theme=dark" })).toBeNull();
  });
});
