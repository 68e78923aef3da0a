import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "./pool.ts";

describe("the embedded (PGlite) pool", () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: "memory://" });
    await database.pool.query("create table positive (value int check (value > 0))");
  });
  afterAll(async () => {
    await database.close();
  });

  it("keeps answering correctly after a query fails outside a transaction", async () => {
    await expect(database.pool.query("insert into positive values (0)")).rejects.toThrow(
      /check constraint/,
    );
    const first = await database.pool.query<{ one: number }>("select 1 as one");
    const second = await database.pool.query<{ two: number }>("select 2 as two");
    expect(first.rows).toEqual([{ one: 1 }]);
    expect(second.rows).toEqual([{ two: 2 }]);
  });

  it("runs a named (prepared) statement again after a failed query replaced the connection", async () => {
    // PGlite is one backend session: statements a discarded client prepared
    // outlive it, and its replacement must not trip over their names (42P05).
    const named = { name: "pool_test_named", text: "select $1::int * 2 as value", values: [21] };
    expect((await database.pool.query<{ value: number }>(named)).rows).toEqual([{ value: 42 }]);
    await expect(database.pool.query("insert into positive values (0)")).rejects.toThrow(
      /check constraint/,
    );
    expect((await database.pool.query<{ value: number }>(named)).rows).toEqual([{ value: 42 }]);
    expect((await database.pool.query<{ value: number }>(named)).rows).toEqual([{ value: 42 }]);
  });

  it("runs parameterized queries that carry custom type parsers (as Drizzle sends them)", async () => {
    const result = await database.pool.query<{ value: string }>({
      text: "select $1::int + 1 as value",
      values: [41],
      types: { getTypeParser: () => (raw: string) => `parsed:${raw}` },
    });
    expect(result.rows).toEqual([{ value: "parsed:42" }]);
  });
});
