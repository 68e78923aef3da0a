import { describe, expect, it } from "vitest";
import { signUp, useSecondInstance, useTestApp } from "../../../test/harness.ts";
import { expectProblem } from "../../../test/tasks-helpers.ts";
import { createApiKey, keyHeaders } from "./test-helpers.ts";

const first = useTestApp();

/** A second app instance on the same database, as behind a load balancer. */
const second = useSecondInstance(first);

describe("API keys across app instances", () => {
  it("works on every instance and is refused on all of them right after revocation", async () => {
    const user = await signUp(first.app);
    const key = await createApiKey(first.app, user, { scopes: ["tasks:read"] });
    const onSecond = () => second.app.inject({ url: "/v1/tasks", headers: keyHeaders(key) });
    expect((await onSecond()).statusCode).toBe(200);

    const revoked = await first.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${key.id}`,
      headers: user.headers,
    });
    expect(revoked.statusCode).toBe(204);
    expectProblem(await onSecond(), 401, "unauthenticated");
  });

  it("verifies a JWT issued by the other instance", async () => {
    const user = await signUp(first.app);
    const issued = await first.app.inject({ url: "/api/auth/token", headers: user.headers });
    const { token } = issued.json<{ token: string }>();
    const me = await second.app.inject({
      url: "/v1/me",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json<{ id: string }>().id).toBe(user.id);
  });
});
