import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createApiKey, keyHeaders } from "../src/modules/api-keys/test-helpers.ts";
import { categorySchema } from "../src/modules/categories/contracts.ts";
import { profileSchema } from "../src/modules/profile/contracts.ts";
import { taskSchema } from "../src/modules/tasks/contracts.ts";
import { graphqlLimits } from "../src/platform/http/graphql.ts";
import { type GraphqlError, gql, gqlOk } from "./graphql-helpers.ts";
import { signUp, type TestUser, useTestApp } from "./harness.ts";
import { createTask } from "./tasks-helpers.ts";

const t = useTestApp();

/** The data of a request that must succeed, with no errors. */
const ok = (user: TestUser, query: string, variables?: Record<string, unknown>) =>
  gqlOk(t.app, user.headers, query, variables);

const taskFields = "id title status priority tags dueAt version categoryId";

describe("tasks over GraphQL", () => {
  it("creates, reads, changes, completes, deletes and restores a task through the task verbs", async () => {
    const user = await signUp(t.app);
    const { createCategory } = await ok(
      user,
      `mutation { createCategory(input: { name: "Home", color: "#3B82F6" }) { id name color taskCount } }`,
    );
    expect(createCategory).toMatchObject({ name: "Home", color: "#3b82f6", taskCount: 0 });

    const { createTask } = await ok(
      user,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { ${taskFields} category { name } } }`,
      {
        input: {
          title: "  Pay rent ",
          priority: "high",
          tags: ["money"],
          categoryId: createCategory.id,
        },
      },
    );
    expect(createTask).toMatchObject({
      title: "Pay rent",
      priority: "high",
      status: "open",
      version: 1,
      category: { name: "Home" },
    });
    // The same task through REST: one service behind both.
    const rest = await t.app.inject({ url: `/v1/tasks/${createTask.id}`, headers: user.headers });
    expect(rest.json()).toMatchObject({ title: "Pay rent", priority: "high", version: 1 });

    const { updateTask } = await ok(
      user,
      `mutation ($id: ID!) { updateTask(id: $id, input: { title: "Pay the rent", description: null }, expectedVersion: 1) { title version } }`,
      { id: createTask.id },
    );
    expect(updateTask).toEqual({ title: "Pay the rent", version: 2 });

    const stale = await gql(
      t.app,
      user.headers,
      `mutation ($id: ID!) { updateTask(id: $id, input: { title: "Lost" }, expectedVersion: 1) { title } }`,
      { id: createTask.id },
    );
    expect(stale.status).toBe(200);
    expect(stale.data).toBeNull();
    expect(stale.errors).toMatchObject([
      { path: ["updateTask"], extensions: { code: "precondition_failed", status: 412 } },
    ]);

    const { completeTask } = await ok(
      user,
      `mutation ($id: ID!) { completeTask(id: $id) { status } }`,
      { id: createTask.id },
    );
    expect(completeTask.status).toBe("completed");
    await ok(user, `mutation ($id: ID!) { reopenTask(id: $id) { status } }`, { id: createTask.id });
    expect(
      (await ok(user, `mutation ($id: ID!) { deleteTask(id: $id) }`, { id: createTask.id }))
        .deleteTask,
    ).toBe(true);
    const gone = await gql(t.app, user.headers, `query ($id: ID!) { task(id: $id) { id } }`, {
      id: createTask.id,
    });
    expect(gone.errors).toMatchObject([{ extensions: { code: "not_found", status: 404 } }]);
    const { tasks: trash } = await ok(user, `{ tasks(filter: { deleted: true }) { data { id } } }`);
    expect(trash.data).toEqual([{ id: createTask.id }]);
    const { restoreTask } = await ok(
      user,
      `mutation ($id: ID!) { restoreTask(id: $id) { title status } }`,
      { id: createTask.id },
    );
    expect(restoreTask).toEqual({ title: "Pay the rent", status: "open" });
  });

  it("quick-adds with the same parser as POST /v1/tasks/quick", async () => {
    const user = await signUp(t.app);
    await ok(user, `mutation { createCategory(input: { name: "Home" }) { id } }`);
    const { quickAddTask } = await ok(
      user,
      `mutation { quickAddTask(text: "Water plants every monday #home @garden p2") { title priority tags recurrence category { name } } }`,
    );
    expect(quickAddTask).toMatchObject({
      title: "Water plants",
      priority: "high",
      tags: ["garden"],
      category: { name: "Home" },
    });
    expect(quickAddTask.recurrence).toMatch(/FREQ=WEEKLY/);
  });

  it("filters, sorts and pages like GET /v1/tasks", async () => {
    const user = await signUp(t.app);
    for (const [title, priority] of [
      ["a", "low"],
      ["b", "urgent"],
      ["c", "high"],
      ["d", "urgent"],
    ] as const) {
      await createTask(t.app, user, { title, priority });
    }
    const query = `query ($cursor: String) {
      tasks(filter: { priority: [urgent, high] }, sort: title, order: desc, limit: 2, cursor: $cursor) {
        data { title } nextCursor } }`;
    const first = (await ok(user, query)).tasks;
    expect(first.data).toEqual([{ title: "d" }, { title: "c" }]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await ok(user, query, { cursor: first.nextCursor })).tasks;
    expect(second).toEqual({ data: [{ title: "b" }], nextCursor: null });
  });

  it("reads the categories of a whole page in one batch", async () => {
    const user = await signUp(t.app);
    const ids: string[] = [];
    for (const name of ["One", "Two", "Three"]) {
      ids.push(
        (await ok(user, `mutation { createCategory(input: { name: "${name}" }) { id } }`))
          .createCategory.id,
      );
    }
    for (let index = 0; index < 9; index++) {
      await createTask(t.app, user, { title: `t${index}`, categoryId: ids[index % 3] });
    }
    await createTask(t.app, user, { title: "none" });
    const pool = t.database.pool;
    const original = pool.query.bind(pool);
    const statements: string[] = [];
    pool.query = ((...args: Parameters<typeof pool.query>) => {
      const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string }).text;
      if (text) statements.push(text);
      return (original as (...inner: unknown[]) => unknown)(...args);
    }) as typeof pool.query;
    let page: Array<{ title: string; category: { name: string } | null }>;
    try {
      page = (
        await ok(user, `{ tasks(sort: title, limit: 20) { data { title category { name } } } }`)
      ).tasks.data;
    } finally {
      pool.query = original;
    }
    expect(page).toHaveLength(10);
    for (const task of page) {
      const index = Number(task.title.slice(1));
      expect(task.category?.name ?? null).toBe(
        task.title === "none" ? null : ["One", "Two", "Three"][index % 3],
      );
    }
    const categoryReads = statements.filter((text) => /from "categories"/.test(text));
    expect(categoryReads).toHaveLength(1);
  });
});

describe("errors", () => {
  it("names each bad field by its path from the argument", async () => {
    const user = await signUp(t.app);
    const created = await gql(
      t.app,
      user.headers,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
      {
        input: {
          title: "   ",
          tags: ["x".repeat(51)],
          due: "tomorrow",
          dueAt: "2030-01-01T00:00:00Z",
        },
      },
    );
    expect(created.status).toBe(200);
    expect(created.errors).toHaveLength(1);
    expect(created.errors[0]?.extensions?.code).toBe("validation_failed");
    expect(created.errors[0]?.extensions?.errors?.map((error) => error.path).sort()).toEqual([
      "input.due",
      "input.tags.0",
      "input.title",
    ]);

    const listed = await gql(
      t.app,
      user.headers,
      `{ tasks(filter: { q: "" }, limit: 1000) { data { id } } }`,
    );
    expect(listed.errors[0]?.extensions?.errors?.map((error) => error.path).sort()).toEqual([
      "filter.q",
      "limit",
    ]);
    const badId = await gql(t.app, user.headers, `{ task(id: "nope") { id } }`);
    expect(badId.errors[0]?.extensions).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "id", message: "must be a UUID" }],
    });
  });

  it("answers another user's task and category as not found, and changes nothing", async () => {
    const owner = await signUp(t.app);
    const other = await signUp(t.app);
    const task = await createTask(t.app, owner, { title: "Mine" });
    // Three rounds: from the second, Mercurius runs each document JIT-compiled.
    for (const query of [1, 2, 3].flatMap(() => [
      `{ task(id: "${task.id}") { id } }`,
      `mutation { updateTask(id: "${task.id}", input: { title: "Theirs" }) { id } }`,
      `mutation { completeTask(id: "${task.id}") { id } }`,
      `mutation { deleteTask(id: "${task.id}") }`,
    ])) {
      const answer = await gql(t.app, other.headers, query);
      expect(answer.errors, query).toMatchObject([{ extensions: { code: "not_found" } }]);
    }
    const after = await t.app.inject({ url: `/v1/tasks/${task.id}`, headers: owner.headers });
    expect(after.json()).toMatchObject({ title: "Mine", status: "open", version: 1 });
  });

  it("refuses a document that does not parse, validate or fit its limits with 400", async () => {
    const user = await signUp(t.app);
    // Introspection is the schema's only deep path: types > fields > type > ofType...
    const tooDeep = `{ __schema { types { fields { type { ${"ofType { ".repeat(12)}name${" }".repeat(12)} } } } } }`;
    const aliases = Array.from(
      { length: graphqlLimits.maxRootFields + 1 },
      (_, index) => `a${index}: me { id }`,
    ).join(" ");
    for (const [query, variables, message] of [
      ["{ tasks { data { id }", undefined, /Syntax Error/],
      ["{ tasks { data { nope } } }", undefined, /Cannot query field "nope"/],
      [
        `query ($n: Int) { tasks(limit: $n) { data { id } } }`,
        { n: "many" },
        /Int cannot represent/,
      ],
      [tooDeep, undefined, /query depth \(17\) exceeds the query depth limit of 15/],
      [`{ ${aliases} }`, undefined, /at most 20 root fields/],
    ] as const) {
      // Twice: the second run of a document that validated goes through graphql-jit.
      await gql(t.app, user.headers, query, variables);
      const answer = await gql(t.app, user.headers, query, variables);
      expect(answer.status, query).toBe(400);
      expect(answer.errors[0]?.message, query).toMatch(message);
      expect(answer.errors[0]?.extensions?.code).toBe("validation_failed");
    }
  });

  it("answers problem+json for a request that is not a GraphQL request", async () => {
    const user = await signUp(t.app);
    const noQuery = await t.app.inject({
      method: "POST",
      url: "/graphql",
      headers: user.headers,
      payload: { variables: {} },
    });
    expect(noQuery.statusCode).toBe(400);
    expect(noQuery.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect(noQuery.json().errors).toEqual([{ path: "query", message: expect.any(String) }]);

    const nul = await gql(
      t.app,
      user.headers,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
      { input: { title: "a\u0000b" } },
    );
    expect(nul.status).toBe(400);

    const get = await t.app.inject({ url: "/graphql?query={me{id}}", headers: user.headers });
    expect(get.statusCode).toBe(405);
    const anonymous = await gql(t.app, {}, "{ me { id } }");
    expect(anonymous.status).toBe(401);
  });
});

describe("hostile documents and variables", () => {
  const leaks = [/at \S+ \(/, /node_modules/, /\bselect\b.*\bfrom\b/i, /postgres/i];
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const documents = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.constantFrom(
      "mutation ($input: CreateTaskInput!) { createTask(input: $input) { id title } }",
      "mutation ($id: ID!, $v: Int) { updateTask(id: $id, input: {}, expectedVersion: $v) { id } }",
      "query ($f: TaskFilter, $n: Int, $c: String) { tasks(filter: $f, limit: $n, cursor: $c) { data { id } } }",
      "query ($id: ID!) { task(id: $id) { id category { name } } }",
      "mutation ($text: String!) { quickAddTask(text: $text) { id } }",
      "{ __typename }",
    ),
  );
  const variableSets = fc.record({
    input: anyJson,
    id: anyJson,
    v: anyJson,
    f: anyJson,
    n: anyJson,
    c: anyJson,
    text: anyJson,
  });

  it("answers GraphQL errors with a code, never a 500 or an internal detail", async () => {
    const user = await signUp(t.app);
    await fc.assert(
      fc.asyncProperty(documents, variableSets, async (query, variables) => {
        const response = await t.app.inject({
          method: "POST",
          url: "/graphql",
          headers: user.headers,
          payload: { query: query || " ", variables },
        });
        expect(response.statusCode, response.body).toBeLessThan(500);
        for (const pattern of leaks) expect(response.body).not.toMatch(pattern);
        const body = response.json() as { errors?: GraphqlError[]; code?: string };
        if (response.statusCode === 400 && body.code) return; // problem+json: not a GraphQL request
        for (const error of body.errors ?? []) {
          expect(error.extensions?.code, response.body).toMatch(/^[a-z_]+$/);
          expect(error.extensions?.code).not.toBe("internal");
        }
      }),
      { numRuns: 150, seed: Number(process.env.FUZZ_SEED ?? 20261207) },
    );
  });
});

describe("credentials", () => {
  it("lets a read-only API key query but not change anything", async () => {
    const user = await signUp(t.app);
    const reader = await createApiKey(t.app, user, { name: "reader", scopes: ["tasks:read"] });
    const headers = keyHeaders(reader);
    const read = await gql(t.app, headers, "{ me { id stats { open } } }");
    expect(read.errors).toEqual([]);
    expect(read.data?.me.id).toBe(user.id);
    const write = await gql(
      t.app,
      headers,
      `mutation { createTask(input: { title: "No" }) { id } }`,
    );
    expect(write.errors).toMatchObject([{ extensions: { code: "forbidden", status: 403 } }]);
    expect(write.errors[0]?.message).toMatch(/tasks:write/);
    const { tasks } = await ok(user, "{ tasks { data { id } } }");
    expect(tasks.data).toEqual([]);
  });

  it("needs Origin for a cookie-authenticated POST, like every unsafe /v1 call", async () => {
    const user = await signUp(t.app);
    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/auth/sign-in/email",
      headers: { origin: "http://localhost:3000" },
      payload: { email: user.email, password: "correct horse battery staple" },
    });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
    expect(cookie).toMatch(/session_token=/);
    const post = (headers: Record<string, string>) =>
      gql(
        t.app,
        { cookie, ...headers },
        `mutation { createTask(input: { title: "Forged" }) { id } }`,
      );
    const forged = await post({ origin: "https://evil.example" });
    expect(forged.status).toBe(403);
    expect((await post({})).status).toBe(403);
    const own = await post({ origin: "http://localhost:3000" });
    expect(own.errors).toEqual([]);
    expect(own.data?.createTask.id).toEqual(expect.any(String));
  });
});

describe("retries", () => {
  it("replays a mutation sent again with the same Idempotency-Key instead of running it twice", async () => {
    const user = await signUp(t.app);
    const send = () =>
      t.app.inject({
        method: "POST",
        url: "/graphql",
        headers: { ...user.headers, "idempotency-key": "graphql-retry-1" },
        payload: { query: `mutation { createTask(input: { title: "Once" }) { id } }` },
      });
    const first = await send();
    const retry = await send();
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());
    const { tasks } = await ok(user, "{ tasks { data { title } } }");
    expect(tasks.data).toEqual([{ title: "Once" }]);
  });
});

describe("the schema", () => {
  it("has every field of the REST representations", async () => {
    const user = await signUp(t.app);
    const { __schema } = await ok(
      user,
      "{ __schema { types { name fields(includeDeprecated: true) { name } } } }",
    );
    const fieldsOf = (name: string) =>
      new Set(
        (__schema.types as Array<{ name: string; fields: Array<{ name: string }> | null }>)
          .find((type) => type.name === name)
          ?.fields?.map((field) => field.name) ?? [],
      );
    for (const [type, schema] of [
      ["Task", taskSchema],
      ["Category", categorySchema],
      ["Profile", profileSchema],
    ] as const) {
      expect([...fieldsOf(type)], type).toEqual(expect.arrayContaining(Object.keys(schema.shape)));
    }
  });

  it("shows the profile with its activity only when asked", async () => {
    const user = await signUp(t.app, "Grace");
    await createTask(t.app, user, { title: "Done soon" });
    const { me } = await ok(
      user,
      "{ me { name workspaces { role } stats { open } recentActivity(limit: 5) { type entity { title } changes } } }",
    );
    expect(me).toMatchObject({
      name: "Grace",
      workspaces: [{ role: "owner" }],
      stats: { open: 1 },
      recentActivity: [{ type: "task.created", entity: { title: "Done soon" } }],
    });
    expect(me.recentActivity[0].changes).toMatchObject({ title: expect.anything() });
  });
});
