/** Requests per window for each kind of client (../shared/API.md defaults). */
export type RateLimitSettings = {
  windowMs: number;
  /** Per client address, for requests without credentials. */
  anonymous: number;
  /** Per user, over all of its sessions and tokens. */
  user: number;
  /** Per API key. */
  apiKey: number;
  /** Per client address, on sign-in, sign-up and password-reset requests. */
  auth: number;
  /** Per user or key, on the AI routes (their own bucket, apart from `user`). */
  ai: number;
  /** Prefix of the shared counters in Redis. */
  keyPrefix?: string;
};

export const defaultRateLimits: RateLimitSettings = {
  windowMs: 60_000,
  anonymous: 60,
  user: 600,
  apiKey: 600,
  auth: 10,
  ai: 30,
};

export type PolicyName = "anonymous" | "unverified" | "user" | "api-key" | "auth" | "ai";

// Routes where guessing is the attack: passwords and reset tokens.
const authPaths =
  /^\/api\/auth\/(sign-in|sign-up|forget-password|request-password-reset|reset-password)(\/|$)/;

// Expensive model calls: the AI features and the assistant (its hackathon route too).
const aiPaths = [
  /^\/v1\/ai(\/|$)/,
  /^\/v1\/chat(\/|$)/,
  /^\/v1\/tasks\/[^/]+\/summary$/,
  /^\/api\/[^/]+\/chat$/,
];

export type RequestFacts = {
  method: string;
  path: string;
  clientAddress: string;
  /** Fingerprint of the credential the request carries, if any. */
  credential: string | null;
  /** The principal that credential belonged to when it last authenticated here. */
  principal: string | undefined;
  viaApiKey: boolean;
};

/**
 * Which bucket a request is charged to. Credentials count only once they
 * have been seen to work: until then (and for made-up ones) the client
 * address pays, under the `unverified` policy, with the user limit.
 */
export function choosePolicy(facts: RequestFacts): { policy: PolicyName; subject: string } {
  const address = `ip:${facts.clientAddress}`;
  if (facts.method === "POST" && authPaths.test(facts.path)) {
    return { policy: "auth", subject: address };
  }
  if (facts.credential === null) return { policy: "anonymous", subject: address };
  if (facts.principal === undefined) return { policy: "unverified", subject: address };
  if (aiPaths.some((pattern) => pattern.test(facts.path))) {
    return { policy: "ai", subject: facts.principal };
  }
  return { policy: facts.viaApiKey ? "api-key" : "user", subject: facts.principal };
}

export function limitOf(settings: RateLimitSettings, policy: PolicyName): number {
  switch (policy) {
    case "anonymous":
      return settings.anonymous;
    case "unverified":
    case "user":
      return settings.user;
    case "api-key":
      return settings.apiKey;
    case "auth":
      return settings.auth;
    case "ai":
      return settings.ai;
  }
}
