import { argon2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { dictionary } from "@zxcvbn-ts/language-common";
import { verifyPassword as verifyLegacyScrypt } from "better-auth/crypto";
import { and, eq } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import type { Executor } from "../db/transaction.ts";
import { account } from "./schema.ts";

/**
 * Password hashing: argon2id through Node's built-in `crypto.argon2` (OpenSSL,
 * runs on the libuv thread pool, no native add-on). Hashes are PHC strings,
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, so the parameters travel
 * with each hash and can be raised later without breaking old ones.
 */
export const argon2Parameters = {
  /** KiB; OWASP's minimum for argon2id with two passes (19 MiB). */
  memory: 19_456,
  passes: 2,
  parallelism: 1,
  tagLength: 32,
  saltLength: 16,
} as const;

const deriveArgon2 = promisify(argon2);
const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
/** better-auth's former default: scrypt, `<hex salt>:<hex key>`. */
const legacyScrypt = /^[0-9a-f]+:[0-9a-f]+$/;

type Argon2Cost = { memory: number; passes: number; parallelism: number };

function derive(password: string, salt: Buffer, cost: Argon2Cost, tagLength: number) {
  return deriveArgon2("argon2id", {
    message: password.normalize("NFKC"),
    nonce: salt,
    memory: cost.memory,
    passes: cost.passes,
    parallelism: cost.parallelism,
    tagLength,
  });
}

const base64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");

export async function hashPassword(password: string): Promise<string> {
  const { memory, passes, parallelism, tagLength, saltLength } = argon2Parameters;
  const salt = randomBytes(saltLength);
  const hash = await derive(password, salt, { memory, passes, parallelism }, tagLength);
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${base64(salt)}$${base64(hash)}`;
}

function parsePhc(stored: string) {
  const match = phc.exec(stored);
  if (!match) return null;
  const [, memory, passes, parallelism, salt, hash] = match;
  return {
    cost: { memory: Number(memory), passes: Number(passes), parallelism: Number(parallelism) },
    salt: Buffer.from(salt ?? "", "base64"),
    hash: Buffer.from(hash ?? "", "base64"),
  };
}

/**
 * True when `password` matches `stored`, an argon2id PHC string or a legacy
 * scrypt hash. Anything else (a corrupt row) is a mismatch, not an error.
 */
export async function verifyPasswordHash(stored: string, password: string): Promise<boolean> {
  const parsed = parsePhc(stored);
  if (parsed) {
    const candidate = await derive(password, parsed.salt, parsed.cost, parsed.hash.length);
    return timingSafeEqual(candidate, parsed.hash);
  }
  if (legacyScrypt.test(stored)) return verifyLegacyScrypt({ hash: stored, password });
  return false;
}

/** True when a (verified) hash is not argon2id with at least today's parameters. */
export function needsRehash(stored: string): boolean {
  const parsed = parsePhc(stored);
  if (!parsed) return true;
  const { memory, passes, parallelism } = parsed.cost;
  return (
    memory < argon2Parameters.memory ||
    passes < argon2Parameters.passes ||
    parallelism < argon2Parameters.parallelism
  );
}

// The zxcvbn-ts common-password list (about 49,000 entries, lower case, from
// leaked-password corpora). Only entries our length rule would let through
// matter, so the set keeps those.
const commonPasswords = new Set(
  dictionary["passwords-common"].filter((candidate) => candidate.length >= 8),
);

/** True for passwords on the common-password list, ignoring case. */
export function isCommonPassword(password: string): boolean {
  return commonPasswords.has(password.toLowerCase());
}

/**
 * better-auth's `emailAndPassword.password` options. A successful check of an
 * outdated hash (legacy scrypt, weaker argon2id) stores a fresh argon2id hash
 * in its place. better-auth does not tell `verify` whose hash it is, so the
 * row is found by the old hash itself (unique: every hash has its own salt);
 * the update is a compare-and-set, so two concurrent sign-ins cannot clobber
 * a newer password.
 */
export function passwordHashing(
  db: Executor,
  log: Pick<FastifyBaseLogger, "error">,
): {
  hash: (password: string) => Promise<string>;
  verify: (input: { hash: string; password: string }) => Promise<boolean>;
} {
  return {
    hash: hashPassword,
    verify: async ({ hash: stored, password }) => {
      const matches = await verifyPasswordHash(stored, password);
      if (matches && needsRehash(stored)) {
        try {
          await db
            .update(account)
            .set({ password: await hashPassword(password), updatedAt: new Date() })
            .where(and(eq(account.providerId, "credential"), eq(account.password, stored)));
        } catch (error) {
          // The password was right; an upgrade that fails waits for the next sign-in.
          log.error({ err: error }, "could not upgrade a password hash");
        }
      }
      return matches;
    },
  };
}
