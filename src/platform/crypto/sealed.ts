import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** Text kept at rest that only this deployment can read back. */
export type Sealer = { seal: (text: string) => string; open: (sealed: string) => string };

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from AUTH_SECRET and
 * `purpose`, so each use has its own key and a copy of the database alone
 * reads nothing. `open` throws on anything this sealer did not seal (another
 * secret, another purpose, a changed byte). Rotating AUTH_SECRET makes what
 * was sealed before unreadable.
 */
export function sealer(authSecret: string, purpose: string): Sealer {
  const key = Buffer.from(hkdfSync("sha256", authSecret, "taskpilot", purpose, 32));
  return {
    seal(text) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const sealed = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), sealed].map(encode).join(".");
    },
    open(sealed) {
      const [version, iv, tag, data, extra] = sealed.split(".");
      if (version !== "v1" || !iv || !tag || data === undefined || extra !== undefined) {
        throw new Error("not a sealed value");
      }
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([
        decipher.update(Buffer.from(data, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}

const encode = (part: string | Buffer) =>
  typeof part === "string" ? part : part.toString("base64url");
