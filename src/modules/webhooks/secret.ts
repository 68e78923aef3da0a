import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type Sealer, sealer } from "../../platform/crypto/sealed.ts";

/**
 * A webhook's signing secret: shown once when the webhook is made, stored
 * encrypted (AES-256-GCM) under a key derived from AUTH_SECRET, so a copy of
 * the database alone cannot forge deliveries. Rotating AUTH_SECRET makes
 * existing secrets unreadable: their webhooks must be made again.
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

export function secretBox(authSecret: string): Sealer {
  return sealer(authSecret, "webhook signing secrets v1");
}

/**
 * `Taskpilot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
 * keyed with the secret as its UTF-8 text (../shared/API.md).
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const digest = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${digest}`;
}

/**
 * What a receiver does with the header: recompute and compare in constant
 * time, and refuse a timestamp older than `toleranceSeconds` (replays).
 * Used by our tests as a receiver would; exported for anyone writing one in
 * TypeScript.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(
    header.split(",").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get("t"));
  const given = parts.get("v1");
  if (!Number.isInteger(t) || !given || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = signatureHeader(secret, body, t).split("v1=")[1] ?? "";
  const givenBytes = Buffer.from(given);
  const expectedBytes = Buffer.from(expected);
  return givenBytes.length === expectedBytes.length && timingSafeEqual(givenBytes, expectedBytes);
}
