import { randomUUID } from "node:crypto";
import { hashPassword as legacyScryptHash } from "better-auth/crypto";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { postAuth, signIn, testPassword } from "../../../test/auth-helpers.ts";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectValidationError } from "../../../test/tasks-helpers.ts";
import {
  argon2Parameters,
  hashPassword,
  isCommonPassword,
  needsRehash,
  verifyPasswordHash,
} from "./password.ts";
import { account } from "./schema.ts";

describe("password hashes", () => {
  it("are argon2id PHC strings with at least OWASP's minimum cost (19 MiB, 2 passes)", async () => {
    const hash = await hashPassword(testPassword);
    expect(hash).toMatch(
      /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
    const [, memory, passes] = /m=(\d+),t=(\d+)/.exec(hash) ?? [];
    expect(Number(memory)).toBeGreaterThanOrEqual(19_456);
    expect(Number(passes)).toBeGreaterThanOrEqual(2);
    expect(argon2Parameters.parallelism).toBeGreaterThanOrEqual(1);
    expect(await hashPassword(testPassword)).not.toBe(hash);
  });

  it("verify the right password only", async () => {
    const hash = await hashPassword("a long enough secret");
    expect(await verifyPasswordHash(hash, "a long enough secret")).toBe(true);
    expect(await verifyPasswordHash(hash, "a long enough secreT")).toBe(false);
    expect(await verifyPasswordHash(hash, "")).toBe(false);
  });

  it("read the same password in any Unicode normal form", async () => {
    const composed = "caf\u00e9 au lait noir";
    const decomposed = "cafe\u0301 au lait noir";
    expect(await verifyPasswordHash(await hashPassword(composed), decomposed)).toBe(true);
  });

  it("still verify better-auth's former scrypt hashes, and call them outdated", async () => {
    const legacy = await legacyScryptHash(testPassword);
    expect(legacy).toMatch(/^[0-9a-f]+:[0-9a-f]+$/);
    expect(await verifyPasswordHash(legacy, testPassword)).toBe(true);
    expect(await verifyPasswordHash(legacy, "something else")).toBe(false);
    expect(needsRehash(legacy)).toBe(true);
    expect(needsRehash(await hashPassword(testPassword))).toBe(false);
    expect(needsRehash("$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA")).toBe(true);
  });

  it("treat a corrupt stored hash as a mismatch, not an error", async () => {
    for (const stored of ["", "garbage", "$argon2id$v=19$m=x", "$2b$10$abcdefghijk"]) {
      expect(await verifyPasswordHash(stored, testPassword), stored).toBe(false);
    }
  });
});

describe("the common-password list", () => {
  it("knows the usual suspects in any case, and not a passphrase", () => {
    for (const common of [
      "password",
      "Password",
      "PASSWORD",
      "12345678",
      "iloveyou",
      "qwertyuiop",
    ]) {
      expect(isCommonPassword(common), common).toBe(true);
    }
    expect(isCommonPassword(testPassword)).toBe(false);
    expect(isCommonPassword("violet-kettle-orbit-42")).toBe(false);
  });
});

describe("password rules on the HTTP API", () => {
  const t = useTestApp();

  it("rejects a common password at sign-up with 400 naming password", async () => {
    for (const common of ["password", "Password1", "12345678", "football"]) {
      const response = await postAuth(t.app, "sign-up/email", {
        name: "N",
        email: `common-${randomUUID()}@example.com`,
        password: common,
      });
      expectValidationError(response, "password");
    }
  });

  it("rejects a common new password on change-password, naming newPassword", async () => {
    const user = await signUp(t.app);
    const response = await postAuth(
      t.app,
      "change-password",
      { currentPassword: testPassword, newPassword: "password123" },
      user.headers,
    );
    expectValidationError(response, "newPassword");
    await signIn(t.app, user.email);
  });

  it("stores new passwords as argon2id", async () => {
    const user = await signUp(t.app);
    const [row] = await t.database.db
      .select({ password: account.password })
      .from(account)
      .where(eq(account.userId, user.id));
    expect(row?.password).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("accepts a user's old scrypt hash once and stores argon2id in its place", async () => {
    const user = await signUp(t.app);
    const credential = and(eq(account.userId, user.id), eq(account.providerId, "credential"));
    const legacy = await legacyScryptHash(testPassword);
    await t.database.db.update(account).set({ password: legacy }).where(credential);

    const wrong = await postAuth(t.app, "sign-in/email", {
      email: user.email,
      password: "nope nope nope",
    });
    expect(wrong.statusCode).toBe(401);
    const [untouched] = await t.database.db.select().from(account).where(credential);
    expect(untouched?.password).toBe(legacy);

    await signIn(t.app, user.email);
    const [upgraded] = await t.database.db.select().from(account).where(credential);
    expect(upgraded?.password).toMatch(/^\$argon2id\$/);
    expect(await verifyPasswordHash(upgraded?.password ?? "", testPassword)).toBe(true);
    await signIn(t.app, user.email);
  });
});
