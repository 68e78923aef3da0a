import { describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import {
  createCategory,
  createTask,
  createTasks,
  createTaskVariety,
  deleteTask,
  listTitles,
  patchTask,
  taskAction,
  withAndWithoutFastRows,
} from "../../../test/tasks-helpers.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

const sorted = (titles: string[]) => [...titles].sort();

describe("GET /v1/tasks filters", () => {
  it("lists open tasks by default, completed ones on request, both with status=all", async () => {
    const user = await signUp(t.app);
    const [, done] = await createTasks(t.app, user, ["Open one", "Done one"]);
    await taskAction(t.app, user, done?.id ?? "", "complete");
    expect(await listTitles(t.app, user)).toEqual(["Open one"]);
    expect(await listTitles(t.app, user, { status: "open" })).toEqual(["Open one"]);
    expect(await listTitles(t.app, user, { status: "completed" })).toEqual(["Done one"]);
    expect(sorted(await listTitles(t.app, user, { status: "all" }))).toEqual([
      "Done one",
      "Open one",
    ]);
  });

  it("filters by a comma list of priorities", async () => {
    const user = await signUp(t.app);
    for (const priority of ["none", "low", "medium", "high", "urgent"]) {
      await createTask(t.app, user, { title: priority, priority });
    }
    expect(sorted(await listTitles(t.app, user, { priority: "high,urgent" }))).toEqual([
      "high",
      "urgent",
    ]);
    expect(await listTitles(t.app, user, { priority: "none" })).toEqual(["none"]);
  });

  it("filters by every set of priorities, with and without gaps, in any order and repeated", async () => {
    // The filter is sent as a range of priority_rank plus, where the set has
    // gaps, the exact set: every one of the 31 sets must still be exact.
    const user = await signUp(t.app);
    const priorities = ["none", "low", "medium", "high", "urgent"];
    for (const priority of priorities) {
      await createTask(t.app, user, { title: priority, priority });
    }
    for (let mask = 1; mask < 1 << priorities.length; mask++) {
      const set = priorities.filter((_, index) => mask & (1 << index));
      const query = [...set]
        .reverse()
        .concat(set[0] ?? [])
        .join(",");
      expect(sorted(await listTitles(t.app, user, { priority: query }))).toEqual(sorted(set));
    }
  });

  it("pages through a priority set with gaps in due order", async () => {
    const user = await signUp(t.app);
    const created: string[] = [];
    for (let day = 1; day <= 7; day++) {
      for (const priority of ["low", "medium", "urgent"]) {
        const title = `${priority} ${day}`;
        await createTask(t.app, user, {
          title,
          priority,
          dueAt: `2026-04-0${day}T09:00:00Z`,
        });
        if (priority !== "medium") created.push(title);
      }
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const response = await t.app.inject({
        method: "GET",
        url: `/v1/tasks?priority=urgent,low&sort=dueAt&limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        headers: user.headers,
      });
      expect(response.statusCode).toBe(200);
      const page = response.json() as { data: Array<{ title: string }>; nextCursor: string | null };
      seen.push(...page.data.map((task) => task.title));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(created.length);
    expect(seen.slice(0, 2).sort()).toEqual(["low 1", "urgent 1"]);
    expect(sorted(seen)).toEqual(sorted(created));
  });

  it("filters by category", async () => {
    const user = await signUp(t.app);
    const home = await createCategory(t.app, user, "Home");
    await createTask(t.app, user, { title: "Hoover", categoryId: home.id });
    await createTask(t.app, user, { title: "Uncategorised" });
    expect(await listTitles(t.app, user, { categoryId: home.id })).toEqual(["Hoover"]);
  });

  it("filters by tag, ignoring case", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Tagged", tags: ["Errand", "shop"] });
    await createTask(t.app, user, { title: "Other", tags: ["work"] });
    expect(await listTitles(t.app, user, { tag: "errand" })).toEqual(["Tagged"]);
    expect(await listTitles(t.app, user, { tag: "SHOP" })).toEqual(["Tagged"]);
    expect(await listTitles(t.app, user, { tag: "err" })).toEqual([]);
  });

  it("searches title and description in full text (q), with stemming", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Buy milk" });
    await createTask(t.app, user, { title: "Groceries", description: "remember the milk" });
    await createTask(t.app, user, { title: "Call the bank" });
    expect(sorted(await listTitles(t.app, user, { q: "milk" }))).toEqual(["Buy milk", "Groceries"]);
    expect(await listTitles(t.app, user, { q: "calling banks" })).toEqual(["Call the bank"]);
    expect(await listTitles(t.app, user, { q: "milk -buy" })).toEqual(["Groceries"]);
    expect(await listTitles(t.app, user, { q: "lemonade" })).toEqual([]);
  });

  it("filters by dueBefore and dueAfter, both inclusive", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "March 2", dueAt: "2026-03-02T10:00:00Z" });
    await createTask(t.app, user, { title: "March 5", dueAt: "2026-03-05T10:00:00Z" });
    await createTask(t.app, user, { title: "March 9", dueAt: "2026-03-09T10:00:00Z" });
    await createTask(t.app, user, { title: "Undated" });
    expect(sorted(await listTitles(t.app, user, { dueBefore: "2026-03-05T10:00:00Z" }))).toEqual([
      "March 2",
      "March 5",
    ]);
    expect(sorted(await listTitles(t.app, user, { dueAfter: "2026-03-05T10:00:00Z" }))).toEqual([
      "March 5",
      "March 9",
    ]);
    const window = { dueAfter: "2026-03-03T00:00:00+01:00", dueBefore: "2026-03-08T00:00:00Z" };
    expect(await listTitles(t.app, user, window)).toEqual(["March 5"]);
  });

  it("lists only open tasks past their due time with overdue=true", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Late", dueAt: "2026-03-01T11:59:00Z" });
    await createTask(t.app, user, { title: "Soon", dueAt: "2026-03-01T12:01:00Z" });
    await createTask(t.app, user, { title: "Undated" });
    const done = await createTask(t.app, user, {
      title: "Late but done",
      dueAt: "2026-02-01T00:00:00Z",
    });
    await taskAction(t.app, user, done.id, "complete");
    expect(await listTitles(t.app, user, { overdue: true, status: "all" })).toEqual(["Late"]);
    expect(sorted(await listTitles(t.app, user, { overdue: false }))).toEqual(["Soon", "Undated"]);
    t.clock.set("2026-03-01T12:05:00Z");
    expect(sorted(await listTitles(t.app, user, { overdue: true }))).toEqual(["Late", "Soon"]);
  });

  it("lists the tasks assigned to me with assigneeId=me", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Mine", assigneeId: user.id });
    await createTask(t.app, user, { title: "Nobody's" });
    expect(await listTitles(t.app, user, { assigneeId: "me" })).toEqual(["Mine"]);
    expect(await listTitles(t.app, user, { assigneeId: user.id })).toEqual(["Mine"]);
  });

  it("lists the sub-tasks of a parent with parentId", async () => {
    const user = await signUp(t.app);
    const parent = await createTask(t.app, user, { title: "Parent" });
    await createTasks(t.app, user, ["Step 1", "Step 2"], { parentId: parent.id });
    await createTask(t.app, user, { title: "Unrelated" });
    expect(sorted(await listTitles(t.app, user, { parentId: parent.id }))).toEqual([
      "Step 1",
      "Step 2",
    ]);
  });

  it("lists the trash with deleted=true and keeps it out of the normal list", async () => {
    const user = await signUp(t.app);
    const [gone] = await createTasks(t.app, user, ["Gone", "Kept"]);
    expect((await deleteTask(t.app, user, gone?.id ?? "")).statusCode).toBe(204);
    expect(await listTitles(t.app, user, { deleted: true })).toEqual(["Gone"]);
    expect(await listTitles(t.app, user, { deleted: false })).toEqual(["Kept"]);
    expect(await listTitles(t.app, user)).toEqual(["Kept"]);
  });

  it("combines filters with AND", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Both", priority: "high", tags: ["x"] });
    await createTask(t.app, user, { title: "Priority only", priority: "high" });
    await createTask(t.app, user, { title: "Tag only", tags: ["x"] });
    expect(await listTitles(t.app, user, { priority: "high", tag: "x" })).toEqual(["Both"]);
  });
});

describe("GET /v1/tasks sorts", () => {
  it("sorts by position (the default), ascending and descending", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Third", position: 30 });
    await createTask(t.app, user, { title: "First", position: -5 });
    await createTask(t.app, user, { title: "Second", position: 10.5 });
    expect(await listTitles(t.app, user)).toEqual(["First", "Second", "Third"]);
    expect(await listTitles(t.app, user, { sort: "position", order: "desc" })).toEqual([
      "Third",
      "Second",
      "First",
    ]);
  });

  it("puts new tasks last in the default position order", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Earlier" });
    t.clock.advance(1_000);
    await createTask(t.app, user, { title: "Later" });
    expect(await listTitles(t.app, user)).toEqual(["Earlier", "Later"]);
  });

  it("sorts by dueAt with undated tasks last in both directions", async () => {
    const user = await signUp(t.app);
    await createTask(t.app, user, { title: "Mar 5", dueAt: "2026-03-05T00:00:00Z" });
    await createTask(t.app, user, { title: "Undated A" });
    await createTask(t.app, user, { title: "Mar 2", dueAt: "2026-03-02T00:00:00Z" });
    await createTask(t.app, user, { title: "Undated B" });
    await createTask(t.app, user, { title: "Mar 9", dueAt: "2026-03-09T00:00:00Z" });
    const ascending = await listTitles(t.app, user, { sort: "dueAt" });
    expect(ascending.slice(0, 3)).toEqual(["Mar 2", "Mar 5", "Mar 9"]);
    expect(sorted(ascending.slice(3))).toEqual(["Undated A", "Undated B"]);
    const descending = await listTitles(t.app, user, { sort: "dueAt", order: "desc" });
    expect(descending.slice(0, 3)).toEqual(["Mar 9", "Mar 5", "Mar 2"]);
    expect(sorted(descending.slice(3))).toEqual(["Undated A", "Undated B"]);
  });

  it("sorts by priority rank none < low < medium < high < urgent, not alphabetically", async () => {
    const user = await signUp(t.app);
    for (const priority of ["medium", "none", "urgent", "low", "high"]) {
      await createTask(t.app, user, { title: priority, priority });
    }
    const ranked = ["none", "low", "medium", "high", "urgent"];
    expect(await listTitles(t.app, user, { sort: "priority" })).toEqual(ranked);
    expect(await listTitles(t.app, user, { sort: "priority", order: "desc" })).toEqual(
      [...ranked].reverse(),
    );
  });

  it("sorts by createdAt", async () => {
    const user = await signUp(t.app);
    for (const title of ["One", "Two", "Three"]) {
      await createTask(t.app, user, { title, position: 100 - title.length });
      t.clock.advance(1_000);
    }
    expect(await listTitles(t.app, user, { sort: "createdAt" })).toEqual(["One", "Two", "Three"]);
    expect(await listTitles(t.app, user, { sort: "createdAt", order: "desc" })).toEqual([
      "Three",
      "Two",
      "One",
    ]);
  });

  it("sorts by updatedAt, so an edited task moves to the end", async () => {
    const user = await signUp(t.app);
    const created = [];
    for (const title of ["A", "B", "C"]) {
      created.push(await createTask(t.app, user, { title }));
      t.clock.advance(1_000);
    }
    await patchTask(t.app, user, created[0]?.id ?? "", { description: "touched" });
    expect(await listTitles(t.app, user, { sort: "updatedAt" })).toEqual(["B", "C", "A"]);
    expect(await listTitles(t.app, user, { sort: "updatedAt", order: "desc" })).toEqual([
      "A",
      "C",
      "B",
    ]);
  });

  it("sorts by title", async () => {
    const user = await signUp(t.app);
    await createTasks(t.app, user, ["Charlie", "Alpha", "Delta", "Bravo"]);
    expect(await listTitles(t.app, user, { sort: "title" })).toEqual([
      "Alpha",
      "Bravo",
      "Charlie",
      "Delta",
    ]);
    expect(await listTitles(t.app, user, { sort: "title", order: "desc" })).toEqual([
      "Delta",
      "Charlie",
      "Bravo",
      "Alpha",
    ]);
  });
});

describe("GET /v1/tasks rows", () => {
  it("reads the same tasks by column position as through Drizzle's mapping", async () => {
    const user = await signUp(t.app);
    await createTaskVariety(t.app, user);
    const done = await createTask(t.app, user, { title: "Done" });
    await taskAction(t.app, user, done.id, "complete");
    const page = async () => {
      const response = await t.app.inject({
        url: "/v1/tasks?status=all&sort=dueAt&limit=10",
        headers: user.headers,
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json<{ data: unknown[] }>();
    };
    const { fast, drizzle } = await withAndWithoutFastRows(t.database.pool, page, {
      named: (name) => name.startsWith("task_list_"),
      count: 1,
    });
    expect(drizzle).toEqual(fast);
    expect(sorted((fast.data as Array<{ title: string }>).map((task) => task.title))).toEqual([
      "All day",
      "Book the room",
      "Done",
      "Plan the launch",
    ]);
  });
});

describe("GET /v1/tasks plans", () => {
  /** The list statement a request sends, with its values, read off the pool. */
  async function listStatement(url: string, headers: Record<string, string>) {
    const pool = t.database.pool as unknown as { query: (...args: unknown[]) => unknown };
    const original = pool.query;
    let sent: { text: string; values: unknown[] } | undefined;
    pool.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0] as { text?: string; values?: unknown[] };
      if (config?.text?.includes('from "member" cross join lateral')) {
        sent = { text: config.text, values: config.values ?? [] };
      }
      return original.apply(this, args);
    };
    try {
      const response = await t.app.inject({ url, headers });
      expect(response.statusCode, response.body).toBe(200);
    } finally {
      pool.query = original;
    }
    if (!sent) throw new Error("no list statement was sent");
    return sent;
  }

  it.each([
    ["dueAt", "tasks_list_due_at_idx", "priority=high,urgent"],
    ["position", "tasks_list_position_idx", "priority=low,urgent"],
    ["createdAt", "tasks_list_created_at_idx", "priority=medium"],
    ["priority", "tasks_list_priority_idx", "priority=none,low"],
  ])(
    "checks a priority filter inside the index when sorting by %s",
    async (sort, index, filter) => {
      const user = await signUp(t.app);
      await createTask(t.app, user, { title: "One", priority: "high" });
      const { text, values } = await listStatement(
        `/v1/tasks?sort=${sort}&${filter}`,
        user.headers,
      );
      // Any index scan the planner picks for the tasks must check the priority
      // range in the index (Index Cond), never on rows it has already read.
      const client = await t.database.pool.connect();
      try {
        await client.query("begin");
        await client.query("set local enable_seqscan = off");
        await client.query("set local enable_bitmapscan = off");
        await client.query("set local enable_sort = off");
        const plan = await client.query<{ "QUERY PLAN": unknown }>(
          `explain (format json) ${text}`,
          values,
        );
        await client.query("rollback");
        const nodes: Array<Record<string, unknown>> = [];
        const walk = (node: Record<string, unknown>) => {
          nodes.push(node);
          for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) {
            walk(child);
          }
        };
        const plans = plan.rows[0]?.["QUERY PLAN"] as
          | Array<{ Plan: Record<string, unknown> }>
          | undefined;
        const root = plans?.[0];
        if (!root) throw new Error("no plan");
        walk(root.Plan);
        const scan = nodes.find((node) => node["Relation Name"] === "tasks");
        expect(scan?.["Node Type"]).toBe("Index Scan");
        expect(scan?.["Index Name"]).toBe(index);
        expect(String(scan?.["Index Cond"])).toMatch(/priority_rank >= /);
        expect(String(scan?.["Index Cond"])).toMatch(/priority_rank <= /);
        expect(String(scan?.Filter ?? "")).not.toMatch(/priority_rank/);
      } finally {
        client.release();
      }
    },
  );
});
