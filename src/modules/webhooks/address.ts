import { lookup } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * Where a webhook may send. A webhook URL is chosen by a user and fetched
 * by the server, so without a check it reaches what only the server can
 * reach (metadata endpoints, databases on loopback, the private network).
 * Only public unicast addresses are allowed, checked at the moment of
 * connecting (a name that resolved to a public address when the webhook was
 * made may resolve to a private one later), unless the deployment allows
 * private addresses (WEBHOOK_ALLOW_PRIVATE, for development and tests).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated) is "unicast" to ipaddr.js.
  if (
    parsed.kind() === "ipv6" &&
    (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)
  ) {
    return false;
  }
  return parsed.range() === "unicast";
}

export class BlockedAddressError extends Error {
  override name = "BlockedAddressError";
}

/** Names that are private by definition, refused before any lookup. */
const privateNames = /(^|\.)(localhost|local|internal|home\.arpa)$/i;

/** Longest URL a webhook stores, as the URL parser writes it out. */
export const maxUrlLength = 2000;

/**
 * A webhook URL as stored (the WHATWG parser's form: scheme and host in
 * lower case, `%`-escapes where needed), or why it may not be used: http(s)
 * only, https unless private targets are allowed, no credentials in it, no
 * private address written into it.
 */
export function checkUrl(
  text: string,
  allowPrivate: boolean,
): { url: string; problem: null } | { url: null; problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { url: null, problem: "must be an absolute http(s) URL" };
  }
  const problem = problemOf(url, allowPrivate);
  if (problem) return { url: null, problem };
  if (url.href.length > maxUrlLength) {
    return { url: null, problem: `must be at most ${maxUrlLength} characters once %-escaped` };
  }
  return { url: url.href, problem: null };
}

function problemOf(url: URL, allowPrivate: boolean): string | null {
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http(s) URL";
  if (url.username || url.password) return "must not contain a user name or password";
  if (allowPrivate) return null;
  if (url.protocol !== "https:") return "must be an https URL";
  const host = hostOf(url);
  if (isIP(host) ? !isPublicAddress(host) : privateNames.test(host.replace(/\.+$/, ""))) {
    return "must not point to a private, loopback or link-local address";
  }
  return null;
}

/** The URL's host as a resolver or `isIP` takes it (IPv6 without brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * A `lookup` for http.request that refuses every non-public address the
 * name resolves to, so the check and the connection use the same answer
 * (no window for DNS rebinding).
 */
export function publicOnlyLookup(): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        callback(error, "", 0);
        return;
      }
      const refused = addresses.find((entry) => !isPublicAddress(entry.address));
      if (refused || addresses.length === 0) {
        // Which address is not said: the deliveries list would map internal names.
        callback(
          new BlockedAddressError(`${hostname} resolves to an address that is not public`),
          "",
          0,
        );
        return;
      }
      if (options.all) {
        (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
        return;
      }
      const first = addresses[0] as { address: string; family: number };
      callback(null, first.address, first.family);
    });
  };
}
