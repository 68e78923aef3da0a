// The plugin's own stores, used inside our fallback store; the package ships
// no declarations for these files.
declare module "@fastify/rate-limit/store/LocalStore.js" {
  import type { FastifyRateLimitStore } from "@fastify/rate-limit";

  class LocalStore implements Pick<FastifyRateLimitStore, "incr"> {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, cache?: number);
    incr: FastifyRateLimitStore["incr"];
  }
  export = LocalStore;
}

declare module "@fastify/rate-limit/store/RedisStore.js" {
  import type { FastifyRateLimitStore } from "@fastify/rate-limit";
  import type { Redis } from "ioredis";

  class RedisStore implements Pick<FastifyRateLimitStore, "incr"> {
    constructor(
      continueExceeding: boolean,
      exponentialBackoff: boolean,
      redis: Redis,
      key?: string,
    );
    incr: FastifyRateLimitStore["incr"];
  }
  export = RedisStore;
}
