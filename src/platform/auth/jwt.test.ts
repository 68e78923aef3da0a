import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JSONWebKeySet,
  jwtVerify,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import type { Profile } from "../../modules/profile/contracts.ts";
import type { Auth } from "./auth.ts";
import { rotateJwtKey } from "./jwt.ts";

const t = useTestApp();
const publicUrl = "http://localhost:3000";

/**
 * The app's better-auth instance. buildApp attaches it, but a Fastify
 * instance is thenable, so `App` (the awaited type) loses the property.
 */
const auth = () => (t.app as unknown as { auth: Auth }).auth;

async function jwtFor(user: TestUser): Promise<string> {
  const response = await t.app.inject({ url: "/api/auth/token", headers: user.headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ token: string }>().token;
}

async function publishedKeys(): Promise<JSONWebKeySet> {
  const response = await t.app.inject({ url: "/api/auth/jwks" });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<JSONWebKeySet>();
}

function me(token: string) {
  return t.app.inject({ url: "/v1/me", headers: { authorization: `Bearer ${token}` } });
}

/** A token signed with our real key but carrying the given claims. */
async function signedByUs(claims: Record<string, unknown>): Promise<string> {
  const { token } = await auth().api.signJWT({ body: { payload: claims } });
  return token;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function expectRejected(response: Awaited<ReturnType<typeof me>>) {
  expectProblem(response, 401, "unauthenticated");
  expect(response.headers["www-authenticate"]).toBe(
    'Bearer realm="taskpilot", error="invalid_token"',
  );
}

describe("GET /api/auth/token", () => {
  it("issues a 15-minute EdDSA JWT for the session that the published JWKS verifies", async () => {
    const user = await signUp(t.app);
    const token = await jwtFor(user);
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: "EdDSA", kid: expect.any(String) });
    const { payload } = await jwtVerify(token, createLocalJWKSet(await publishedKeys()), {
      issuer: publicUrl,
      audience: publicUrl,
    });
    expect(payload.sub).toBe(user.id);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(15 * 60);
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "sub"]);
  });

  it("publishes only public Ed25519 keys", async () => {
    await jwtFor(await signUp(t.app));
    const { keys } = await publishedKeys();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({
        kty: "OKP",
        crv: "Ed25519",
        alg: "EdDSA",
        kid: expect.any(String),
      });
      expect(key).not.toHaveProperty("d");
    }
  });

  it("answers 401 without a session, also to a JWT (a token cannot renew itself)", async () => {
    const response = await t.app.inject({ url: "/api/auth/token" });
    expectProblem(response, 401, "unauthenticated");
    const token = await jwtFor(await signUp(t.app));
    const renewal = await t.app.inject({
      url: "/api/auth/token",
      headers: { authorization: `Bearer ${token}` },
    });
    expectProblem(renewal, 401, "unauthenticated");
  });
});

describe("a JWT on /v1", () => {
  it("authenticates as its user, with every scope", async () => {
    const user = await signUp(t.app);
    const token = await jwtFor(user);
    const profile = await me(token);
    expect(profile.statusCode, profile.body).toBe(200);
    expect(profile.json<Profile>().id).toBe(user.id);
    const headers = { authorization: `Bearer ${token}` };
    const created = await t.app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers,
      payload: { title: "From a service" },
    });
    expect(created.statusCode, created.body).toBe(201);
    const key = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers,
      payload: { name: "minted by a service", scopes: ["tasks:read"] },
    });
    expect(key.statusCode, key.body).toBe(201);
  });

  it("leaves the session token working as a Bearer credential beside it", async () => {
    const user = await signUp(t.app);
    await jwtFor(user);
    const response = await t.app.inject({ url: "/v1/me", headers: user.headers });
    expect(response.statusCode).toBe(200);
    expect(response.json<Profile>().id).toBe(user.id);
  });

  it("is not swapped for the session cookie when it is bad", async () => {
    const user = await signUp(t.app);
    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      payload: { email: user.email, password: "correct horse battery staple" },
    });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
    expect((await t.app.inject({ url: "/v1/me", headers: { cookie } })).statusCode).toBe(200);
    const token = await jwtFor(user);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${base64url.encode(JSON.stringify({ sub: user.id }))}.${signature}`;
    for (const authorization of [`Bearer ${forged}`, "Bearer not-a-session", "Basic abc"]) {
      const response = await t.app.inject({ url: "/v1/me", headers: { cookie, authorization } });
      expect(response.statusCode, authorization).toBe(401);
    }
  });

  it("expires 15 minutes after it was issued (app clock)", async () => {
    const token = await jwtFor(await signUp(t.app));
    const { iat = 0, exp = 0 } = decodeJwt(token);
    expect(exp - iat).toBe(15 * 60);
    const before = t.clock.now();
    try {
      t.clock.set(new Date((exp - 1) * 1000));
      expect((await me(token)).statusCode).toBe(200);
      t.clock.set(new Date(exp * 1000));
      expectRejected(await me(token));
    } finally {
      t.clock.set(before);
    }
  });

  it("stops working when its user is deleted", async () => {
    const user = await signUp(t.app);
    const token = await jwtFor(user);
    const context = await auth().$context;
    await context.internalAdapter.deleteUser(user.id);
    expectRejected(await me(token));
  });
});

describe("forged and unacceptable JWTs answer 401", () => {
  async function genuine() {
    const user = await signUp(t.app);
    const token = await jwtFor(user);
    const { kid } = decodeProtectedHeader(token);
    const now = seconds(t.clock.now());
    const claims = { sub: user.id, iss: publicUrl, aud: publicUrl, iat: now, exp: now + 600 };
    return { user, token, kid: String(kid), claims };
  }

  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

  it("alg none", async () => {
    const { kid, claims } = await genuine();
    const unsigned = `${encode({ alg: "none", typ: "JWT", kid })}.${encode(claims)}.`;
    expectRejected(await me(unsigned));
  });

  it("HS256 signed with the public key's bytes (algorithm confusion)", async () => {
    const { kid, claims } = await genuine();
    const publicKey = (await publishedKeys()).keys.find((key) => key.kid === kid);
    if (!publicKey?.x) throw new Error("our key is not in the JWKS");
    for (const secret of [base64url.decode(publicKey.x), Buffer.from(JSON.stringify(publicKey))]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", kid })
        .sign(new Uint8Array(secret));
      expectRejected(await me(forged));
    }
  });

  it("signed by another Ed25519 key under our kid", async () => {
    const { kid, claims } = await genuine();
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid })
      .sign(privateKey);
    expectRejected(await me(forged));
  });

  it("signed by another key under an unknown kid", async () => {
    const { claims } = await genuine();
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: "not-our-key" })
      .sign(privateKey);
    expectRejected(await me(forged));
  });

  it("a tampered payload", async () => {
    const { token, claims } = await genuine();
    const victim = await signUp(t.app);
    const [header, , signature] = token.split(".");
    expectRejected(await me(`${header}.${encode({ ...claims, sub: victim.id })}.${signature}`));
  });

  it("expired", async () => {
    const { claims } = await genuine();
    const expired = await signedByUs({ ...claims, iat: claims.iat - 1000, exp: claims.iat - 60 });
    expectRejected(await me(expired));
  });

  it("not yet valid (nbf in the future)", async () => {
    const { claims } = await genuine();
    expectRejected(await me(await signedByUs({ ...claims, nbf: claims.iat + 300 })));
  });

  it("for another audience", async () => {
    const { claims } = await genuine();
    expectRejected(await me(await signedByUs({ ...claims, aud: "https://other.example" })));
  });

  it("from another issuer", async () => {
    const { claims } = await genuine();
    expectRejected(await me(await signedByUs({ ...claims, iss: "https://other.example" })));
  });

  it("and the same claims signed by us are accepted (the cases above fail for their reason)", async () => {
    const { user, claims } = await genuine();
    const response = await me(await signedByUs(claims));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Profile>().id).toBe(user.id);
    expect(decodeJwt(await signedByUs(claims)).sub).toBe(user.id);
  });
});

describe("key rotation", () => {
  it("verifies tokens from a new key without a restart, and old tokens until they expire", async () => {
    const user = await signUp(t.app);
    const before = await jwtFor(user);
    expect((await me(before)).statusCode).toBe(200);

    const newKid = await rotateJwtKey(auth());
    const after = await jwtFor(user);
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect(decodeProtectedHeader(before).kid).not.toBe(newKid);
    expect((await publishedKeys()).keys.map((key) => key.kid)).toContain(newKid);

    // Unknown kids reload the keys at most every 5 s of app time, so garbage
    // kids cannot make every request read the database; step past a window
    // an earlier forgery test may have opened.
    t.clock.advance(5_000);
    const response = await me(after);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Profile>().id).toBe(user.id);
    expect((await me(before)).statusCode).toBe(200);
  });
});
