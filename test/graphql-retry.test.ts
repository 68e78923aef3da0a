import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "./harness.ts";
import { createTask } from "./tasks-helpers.ts";

/**
 * A GraphQL mutation that fails for a reason worth retrying answers that
 * status (503 with Retry-After), so the Idempotency-Key is not spent on the
 * failure. Always on the machine's Postgres: a row lock held by another
 * connection, and a short statement timeout, are what make the database
 * "busy", and PGlite has one connection and no statement timeout.
 */
const t = useTestApp({ database: { server: true, statementTimeoutMs: 300 } });

describe("a mutation that meets a busy database", () => {
  it("answers 503 with Retry-After, and the same Idempotency-Key runs it again after", async () => {
    const user = await signUp(t.app);
    const task = await createTask(t.app, user, { title: "Locked" });
    const send = () =>
      t.app.inject({
        method: "POST",
        url: "/graphql",
        headers: { ...user.headers, "idempotency-key": `complete-${task.id}` },
        payload: { query: `mutation { completeTask(id: "${task.id}") { status } }` },
      });
    const holder = await t.database.pool.connect();
    let busy: Awaited<ReturnType<typeof send>>;
    try {
      await holder.query("begin");
      await holder.query("select id from tasks where id = $1 for update", [task.id]);
      busy = await send();
    } finally {
      await holder.query("rollback");
      holder.release();
    }
    expect(busy.statusCode, busy.body).toBe(503);
    expect(busy.headers["retry-after"]).toBe("1");
    expect(busy.json().errors).toMatchObject([
      { extensions: { code: "unavailable", status: 503 } },
    ]);

    const retry = await send();
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    expect(retry.json()).toEqual({ data: { completeTask: { status: "completed" } } });
  });
});
