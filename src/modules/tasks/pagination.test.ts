import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import { createTask, listTasks, type Task, walkPages } from "../../../test/tasks-helpers.ts";
import type { TaskSort } from "./contracts.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

const sorts: TaskSort[] = ["position", "dueAt", "priority", "createdAt", "updatedAt", "title"];
const priorities = ["none", "low", "medium", "high", "urgent"];

/**
 * Nine tasks whose sort keys tie and include nulls, so that every sort needs
 * its id tie-breaker: pairs share a title, a position, a priority, a due date
 * and a creation time, and three have no due date.
 */
async function seedMixedTasks(user: TestUser): Promise<Task[]> {
  t.clock.set("2026-03-01T12:00:00Z");
  const created: Task[] = [];
  for (let index = 0; index < 9; index++) {
    if (index % 2 === 0) t.clock.advance(1_000);
    created.push(
      await createTask(t.app, user, {
        title: `Task ${Math.floor(index / 2)}`,
        position: (index * 7) % 4,
        priority: priorities[index % priorities.length],
        ...(index % 3 === 0 ? {} : { dueAt: `2026-03-0${1 + (index % 4)}T09:00:00Z` }),
      }),
    );
  }
  return created;
}

const ids = (tasks: Task[]) => tasks.map((task) => task.id);

describe("keyset pagination", () => {
  for (const sort of sorts) {
    for (const order of ["asc", "desc"] as const) {
      it(`walks every task exactly once, in order, by ${sort} ${order}`, async () => {
        const user = await signUp(t.app);
        await seedMixedTasks(user);
        const all = await listTasks(t.app, user, { sort, order, limit: 100 });
        expect(all.data).toHaveLength(9);
        expect(all.nextCursor).toBeNull();
        for (const limit of [2, 3]) {
          const walked = await walkPages(t.app, user, { sort, order, limit });
          expect(ids(walked)).toEqual(ids(all.data));
        }
      });
    }
  }

  it("gives full pages, a cursor while more remain and none on the last page", async () => {
    const user = await signUp(t.app);
    await seedMixedTasks(user);
    const first = await listTasks(t.app, user, { limit: 4 });
    expect(first.data).toHaveLength(4);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await listTasks(t.app, user, { limit: 4, cursor: first.nextCursor ?? "" });
    expect(second.data).toHaveLength(4);
    const third = await listTasks(t.app, user, { limit: 4, cursor: second.nextCursor ?? "" });
    expect(third.data).toHaveLength(1);
    expect(third.nextCursor).toBeNull();
  });

  it("keeps filters applied across pages", async () => {
    const user = await signUp(t.app);
    await seedMixedTasks(user);
    const walked = await walkPages(t.app, user, { priority: "none,urgent", limit: 1 });
    expect(walked.map((task) => task.priority).sort()).toEqual(["none", "none", "urgent"]);
  });
});

describe("keyset pagination under concurrent inserts", () => {
  it("shows tasks created mid-walk at the end of a createdAt asc walk, never twice", async () => {
    t.clock.set("2026-03-01T12:00:00Z");
    const user = await signUp(t.app);
    const originals: Task[] = [];
    for (const title of ["O1", "O2", "O3", "O4", "O5"]) {
      originals.push(await createTask(t.app, user, { title }));
      t.clock.advance(1_000);
    }
    const walked = await walkPages(
      t.app,
      user,
      { sort: "createdAt", order: "asc", limit: 2 },
      async (pageIndex) => {
        if (pageIndex > 2) return;
        t.clock.advance(1_000);
        await createTask(t.app, user, { title: `New ${pageIndex}` });
      },
    );
    expect(walked.map((task) => task.title)).toEqual([
      "O1",
      "O2",
      "O3",
      "O4",
      "O5",
      "New 0",
      "New 1",
      "New 2",
    ]);
  });

  for (const sort of ["position", "dueAt", "priority", "title", "createdAt"] as const) {
    it(`never repeats or skips an original task by ${sort} amid inserts`, async () => {
      const user = await signUp(t.app);
      const originals = await seedMixedTasks(user);
      const expected = ids((await listTasks(t.app, user, { sort, limit: 100 })).data);
      let inserted = 0;
      const walked = await walkPages(t.app, user, { sort, limit: 2 }, async (pageIndex) => {
        if (pageIndex > 2) return;
        // Keys before, between and after the cursor, and exact ties with existing rows.
        for (const offset of [0, 1]) {
          const index = inserted++;
          await createTask(t.app, user, {
            title: `Task ${index % 5}`,
            position: (index * 5) % 4,
            priority: priorities[(index * 3) % priorities.length],
            ...(index % 4 === 0
              ? {}
              : { dueAt: `2026-03-0${1 + ((index + offset) % 4)}T09:00:00Z` }),
          });
        }
      });
      const walkedIds = ids(walked);
      expect(new Set(walkedIds).size).toBe(walkedIds.length);
      const originalIds = new Set(ids(originals));
      expect(walkedIds.filter((id) => originalIds.has(id))).toEqual(expected);
      expect(inserted).toBeGreaterThan(0);
    });
  }
});
