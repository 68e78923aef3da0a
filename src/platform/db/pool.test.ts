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

  it("runs parameterized queries that carry custom type parsers (as Drizzle sends them)", async () => {
    const result = await database.pool.query<{ value: string }>({
      text: "select $1::int + 1 as value",
      values: [41],
      types: { getTypeParser: () => (raw: string) => `parsed:${raw}` },
    });
    expect(result.rows).toEqual([{ value: "parsed:42" }]);
  });
});
