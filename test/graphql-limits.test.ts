import { getIntrospectionQuery } from "graphql";
import { describe, expect, it } from "vitest";
import { gql } from "./graphql-helpers.ts";
import { signUp, type TestUser, useTestApp } from "./harness.ts";
import { createTask } from "./tasks-helpers.ts";

/**
 * What a red-team pass found in POST /graphql, kept as tests: each of these
 * documents once froze the server, ran another caller's operation, or
 * answered far more than its size suggests.
 */
const t = useTestApp();

/** POST /graphql as `user`. */
const ask = (user: TestUser, query: string, operationName?: string) =>
  gql(t.app, user.headers, query, undefined, operationName);

describe("documents that ask for more than they look like", () => {
  it("refuses a fragment that spreads itself, without hanging", async () => {
    const user = await signUp(t.app);
    const answer = await ask(user, "{ ...A } fragment A on Query { ...A }");
    expect(answer.status).toBe(400);
    expect(answer.errors.map((error) => error.message).join(" ")).toMatch(
      /Cannot spread fragment "A" within itself/,
    );
    // And the server still answers.
    expect((await ask(user, "{ me { id } }")).status).toBe(200);
  });

  it("counts fields with every fragment expanded", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "one" });
    const wide = Array.from({ length: 30 }, (_, index) => `t${index}: title`).join(" ");
    const query = `
      fragment Wide on Task { ${wide} }
      fragment Page on TaskPage { data { ...Wide } d2: data { ...Wide } }
      { ${Array.from({ length: 10 }, (_, index) => `p${index}: tasks { ...Page }`).join(" ")} }`;
    const answer = await ask(user, query);
    expect(answer.status).toBe(400);
    expect(answer.errors[0]?.message).toMatch(
      /at most 500 fields, fragments expanded \(this one: 630\)/,
    );
    // The same fragment used within the limit is fine.
    const small = await ask(
      user,
      `fragment Wide on Task { ${wide} } { tasks { data { ...Wide } } }`,
    );
    expect(small.status).toBe(200);
  });

  it("runs the operation each caller names, whoever sent the same text before", async () => {
    const alice = await signUp(t.app, "Alice");
    const bob = await signUp(t.app, "Bob");
    const text = `query Read { me { name } } mutation Write { createCategory(input: { name: "Written" }) { id } }`;
    // Three times, so a cache keyed by the text alone would have compiled it for Write.
    expect((await ask(alice, text, "Write")).errors).toEqual([]);
    await ask(alice, text, "Write");
    await ask(alice, text, "Write");
    for (let round = 0; round < 3; round++) {
      const read = await ask(bob, text, "Read");
      expect(read.data).toEqual({ me: { name: "Bob" } });
    }
    const categories = await t.app.inject({ url: "/v1/categories", headers: bob.headers });
    expect(categories.json<{ data: unknown[] }>().data).toEqual([]);
  });

  it("answers the standard introspection query (GraphiQL, codegen)", async () => {
    const user = await signUp(t.app);
    const answer = await ask(user, getIntrospectionQuery());
    expect(answer.errors).toEqual([]);
    expect(answer.status).toBe(200);
  });

  it("answers an operation the schema cannot run as a bad request, not an internal error", async () => {
    const user = await signUp(t.app);
    const answer = await ask(user, "subscription { me { id } }");
    expect(answer.status).toBe(400);
    expect(answer.errors[0]?.extensions?.code).toBe("validation_failed");
  });

  it("refuses an empty string where REST does", async () => {
    const user = await signUp(t.app);
    const upTo = await ask(user, `mutation { markAllNotificationsRead(upTo: "") }`);
    expect(upTo.errors[0]?.extensions?.errors?.[0]?.path).toBe("upTo");
    const quick = await ask(user, `mutation { quickAddTask(text: "x", workspaceId: "") { id } }`);
    expect(quick.errors[0]?.extensions?.errors?.[0]?.path).toBe("workspaceId");
    const tasks = await t.app.inject({ url: "/v1/tasks", headers: user.headers });
    expect(tasks.json<{ data: unknown[] }>().data).toEqual([]);
  });
});
