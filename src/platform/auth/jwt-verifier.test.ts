import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { JwtVerifier, looksLikeJwt } from "./jwt.ts";

const issuer = "http://localhost:3000";

async function signingKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA" };
  const sign = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ sub: "user-1", ...claims })
      .setProtectedHeader({ alg: "EdDSA", kid })
      .setIssuer(issuer)
      .setAudience(issuer)
      .setIssuedAt(1_000)
      .setExpirationTime(1_000 + 900)
      .sign(privateKey);
  return { jwk, sign, privateKey };
}

/** A verifier over a key set the test changes, counting how often it is read. */
function verifierOver(published: JWK[], options: { minReloadMs?: number; maxAgeMs?: number }) {
  let clock = 1_000_000;
  const loads = { count: 0 };
  const verifier = new JwtVerifier({
    loadKeys: async () => {
      loads.count += 1;
      return { keys: [...published] };
    },
    issuer,
    audience: issuer,
    now: () => new Date(clock),
    ...options,
  });
  return {
    verifier,
    loads,
    advance: (milliseconds: number) => {
      clock += milliseconds;
    },
  };
}

describe("JwtVerifier", () => {
  it("reads the keys once and verifies from memory after that", async () => {
    const first = await signingKey("k1");
    const { verifier, loads } = verifierOver([first.jwk], {});
    for (let i = 0; i < 5; i += 1) {
      expect(await verifier.verify(await first.sign())).toMatchObject({ sub: "user-1" });
    }
    expect(loads.count).toBe(1);
  });

  it("reloads for an unknown kid at most once per interval, however many arrive", async () => {
    const first = await signingKey("k1");
    const stranger = await signingKey("garbage");
    const { verifier, loads, advance } = verifierOver([first.jwk], { minReloadMs: 5_000 });
    await verifier.verify(await first.sign());
    const forged = await stranger.sign();
    const answers = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(forged)));
    expect(answers.every((answer) => answer === null)).toBe(true);
    expect(loads.count).toBe(2);
    advance(4_999);
    expect(await verifier.verify(forged)).toBeNull();
    expect(loads.count).toBe(2);
    advance(1);
    expect(await verifier.verify(forged)).toBeNull();
    expect(loads.count).toBe(3);
  });

  it("picks up a key added after the first load (rotation) on its first token", async () => {
    const first = await signingKey("k1");
    const published = [first.jwk];
    const { verifier } = verifierOver(published, { minReloadMs: 5_000 });
    expect(await verifier.verify(await first.sign())).not.toBeNull();
    const second = await signingKey("k2");
    published.push(second.jwk);
    expect(await verifier.verify(await second.sign())).toMatchObject({ sub: "user-1" });
  });

  it("drops a deleted key when the copy is older than its maximum age", async () => {
    const first = await signingKey("k1");
    const published = [first.jwk];
    const { verifier, loads, advance } = verifierOver(published, { maxAgeMs: 60_000 });
    const token = await first.sign();
    expect(await verifier.verify(token)).not.toBeNull();
    published.length = 0;
    advance(59_999);
    expect(await verifier.verify(token)).not.toBeNull();
    advance(1);
    expect(await verifier.verify(token)).toBeNull();
    expect(loads.count).toBe(2);
  });

  it("requires exp and sub, and rejects what is not a JWT at all", async () => {
    const first = await signingKey("k1");
    const { verifier } = verifierOver([first.jwk], {});
    const withoutExp = await new SignJWT({ sub: "user-1" })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
      .setIssuer(issuer)
      .setAudience(issuer)
      .sign(first.privateKey);
    expect(await verifier.verify(withoutExp)).toBeNull();
    expect(await verifier.verify(await first.sign({ sub: undefined }))).toBeNull();
    for (const garbage of ["a.b.c", "....", "", "x"]) {
      expect(await verifier.verify(garbage)).toBeNull();
    }
  });
});

describe("looksLikeJwt", () => {
  it("tells JWTs (three base64url parts) from session tokens", () => {
    expect(looksLikeJwt("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln")).toBe(true);
    expect(looksLikeJwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")).toBe(true);
    expect(looksLikeJwt("Jx1b8VkS2mQ0pLr7sT4uW9yZ3aB6cD5e")).toBe(false);
    expect(looksLikeJwt("Jx1b8VkS2mQ0pLr7sT4uW9yZ3aB6cD5e.c2lnbmF0dXJl")).toBe(false);
    expect(looksLikeJwt("a.b.c.d")).toBe(false);
  });
});
