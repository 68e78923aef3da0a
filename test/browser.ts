/**
 * The parts of a browser that a redirect-based sign-in relies on, over real
 * HTTP: a cookie jar (per origin, honouring Path, Max-Age and Expires) and
 * redirects the test follows one hop at a time, so it can look at (or
 * tamper with) every URL on the way.
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, { value: string; path: string }>>();

  /** One request without following redirects; cookies go out and come back. */
  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target);
    if (cookie) headers.set("cookie", cookie);
    const response = await fetch(target, { ...init, headers, redirect: "manual" });
    this.store(target, response.headers.getSetCookie());
    return response;
  }

  /** A request a page script makes: JSON body and this origin's Origin header. */
  postJson(url: string | URL, body: unknown): Promise<Response> {
    return this.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", origin: new URL(url).origin },
      body: JSON.stringify(body),
    });
  }

  /** The Cookie header this browser would send to `url`. */
  cookieHeader(url: string | URL): string {
    const target = new URL(url);
    const cookies = this.jar.get(target.origin) ?? new Map();
    return [...cookies]
      .filter(([, cookie]) => target.pathname.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join("; ");
  }

  cookieNames(origin: string): string[] {
    return [...(this.jar.get(origin)?.keys() ?? [])];
  }

  private store(url: URL, setCookies: string[]): void {
    const cookies = this.jar.get(url.origin) ?? new Map();
    this.jar.set(url.origin, cookies);
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const separator = pair.indexOf("=");
      const name = pair.slice(0, separator);
      const value = pair.slice(separator + 1);
      const attribute = (key: string) =>
        attributes
          .find((entry) => entry.toLowerCase().startsWith(`${key}=`))
          ?.slice(key.length + 1);
      const maxAge = attribute("max-age");
      const expires = attribute("expires");
      const expired =
        (maxAge !== undefined && Number(maxAge) <= 0) ||
        (expires !== undefined && Date.parse(expires) <= Date.now());
      if (expired) cookies.delete(name);
      else cookies.set(name, { value, path: attribute("path") ?? "/" });
    }
  }
}

/** The Location of a redirect, resolved against the URL that answered. */
export function locationOf(response: Response, from: string | URL): URL {
  const location = response.headers.get("location");
  if (!location || response.status < 300 || response.status >= 400) {
    throw new Error(`expected a redirect from ${from}, got ${response.status}`);
  }
  return new URL(location, from);
}
