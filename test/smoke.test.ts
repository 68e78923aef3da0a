import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "./harness.ts";

describe("smoke", () => {
  const t = useTestApp();
  it("signs up and creates a task", async () => {
    const user = await signUp(t.app);
    const created = await t.app.inject({ method: "POST", url: "/v1/tasks", headers: user.headers, payload: { title: "Hello" } });
    expect(created.statusCode, created.body).toBe(201);
    const list = await t.app.inject({ method: "GET", url: "/v1/tasks", headers: user.headers });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().data).toHaveLength(1);
    const me = await t.app.inject({ method: "GET", url: "/v1/me", headers: user.headers });
    expect(me.statusCode, me.body).toBe(200);
    console.log(me.body);
  });
});
