import { expect } from "vitest";
import type { TestUser } from "../../../test/harness.ts";
import type { App } from "../../app.ts";
import type { CreatedApiKey } from "./contracts.ts";

/** POST /v1/api-keys as the user, expecting 201; the answer carries the key. */
export async function createApiKey(
  app: App,
  user: TestUser,
  body: Record<string, unknown>,
): Promise<CreatedApiKey> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/api-keys",
    headers: user.headers,
    payload: { name: "script", ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<CreatedApiKey>();
}

/** Request headers that authenticate with the key. */
export function keyHeaders(key: CreatedApiKey | string): { "x-api-key": string } {
  return { "x-api-key": typeof key === "string" ? key : key.key };
}
