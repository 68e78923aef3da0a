import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  createTask,
  listTasks,
  personalWorkspaceId,
  type Task,
  walkPages,
} from "../../../test/tasks-helpers.ts";
import { member } from "../workspaces/schema.ts";
import type { TaskSort } from "./contracts.ts";
import { keysFirstFromWorkspaces } from "./list.ts";

const t = useTestApp({ now: "2026-03-01T12:00:00Z" });

const sorts: TaskSort[] = ["position", "dueAt", "priority", "createdAt", "updatedAt", "title"];
const rank: Record<string, number> = { none: 0, low: 1, medium: 2, high: 3, urgent: 4 };

function sortKey(task: Task, sort: TaskSort): string | number | null {
  if (sort === "priority") return rank[task.priority] ?? 0;
  return task[sort];
}

/** The order the API promises: by key (no due date last either way), then by id. */
function inPromisedOrder(tasks: Task[], sort: TaskSort, order: "asc" | "desc"): boolean {
  const sign = order === "asc" ? 1 : -1;
  return tasks.every((task, index) => {
    const previous = tasks[index - 1];
    if (!previous) return true;
    const [a, b] = [sortKey(previous, sort), sortKey(task, sort)];
    const byId = (previous.id < task.id ? -1 : 1) * sign < 0;
    if (a === null) return b === null && byId;
    if (b === null) return true;
    if (a !== b) return (a < b ? -1 : 1) * sign < 0;
    return byId;
  });
}

async function seed(user: TestUser, workspaceId: string, prefix: string) {
  for (let index = 0; index < 7; index++) {
    t.clock.advance(index % 2 === 0 ? 1_000 : 0);
    await createTask(t.app, user, {
      title: `${prefix} ${index % 3}`,
      workspaceId,
      position: index % 4,
      priority: Object.keys(rank)[index % 5],
      ...(index % 3 === 0 ? {} : { dueAt: `2026-03-0${1 + (index % 4)}T09:00:00Z` }),
    });
  }
}

describe("listing tasks across several workspaces", () => {
  it("merges every workspace's tasks into one keyset order, for every sort", async () => {
    const reader = await signUp(t.app);
    const owner = await signUp(t.app);
    const shared = await personalWorkspaceId(t.app, owner);
    // Shared workspaces arrive with the workspaces API; a membership row is what they create.
    await t.database.db
      .insert(member)
      .values({ id: uuidv7(), organizationId: shared, userId: reader.id, role: "member" });
    await seed(reader, await personalWorkspaceId(t.app, reader), "Mine");
    await seed(owner, shared, "Shared");
    for (const sort of sorts) {
      for (const order of ["asc", "desc"] as const) {
        const all = await listTasks(t.app, reader, { sort, order, limit: 100 });
        expect(all.data).toHaveLength(14);
        expect(inPromisedOrder(all.data, sort, order), `${sort} ${order}`).toBe(true);
        const walked = await walkPages(t.app, reader, { sort, order, limit: 3 });
        expect(walked.map((task) => task.id)).toEqual(all.data.map((task) => task.id));
      }
    }
  });

  it("reads keys first for a user in many workspaces, with the same order, pages and filters", async () => {
    const reader = await signUp(t.app);
    await seed(reader, await personalWorkspaceId(t.app, reader), "Mine");
    // Every membership exists before the reader's first list (the count behind
    // the choice of statement is kept for a minute).
    for (let index = 1; index < keysFirstFromWorkspaces + 1; index++) {
      const owner = await signUp(t.app);
      const shared = await personalWorkspaceId(t.app, owner);
      await t.database.db
        .insert(member)
        .values({ id: uuidv7(), organizationId: shared, userId: reader.id, role: "viewer" });
      await seed(owner, shared, `Shared${index}`);
    }
    const total = 7 * (keysFirstFromWorkspaces + 1);
    for (const sort of sorts) {
      for (const order of ["asc", "desc"] as const) {
        const all = await listTasks(t.app, reader, { sort, order, limit: 100 });
        expect(all.data).toHaveLength(total);
        expect(inPromisedOrder(all.data, sort, order), `${sort} ${order}`).toBe(true);
        const walked = await walkPages(t.app, reader, { sort, order, limit: 4 });
        expect(walked.map((task) => task.id)).toEqual(all.data.map((task) => task.id));
        const urgent = all.data.filter((task) => ["high", "urgent"].includes(task.priority));
        const filtered = await walkPages(t.app, reader, {
          sort,
          order,
          limit: 2,
          priority: "high,urgent",
        });
        expect(filtered.map((task) => task.id)).toEqual(urgent.map((task) => task.id));
      }
    }
    const dueSoon = await listTasks(t.app, reader, {
      dueBefore: "2026-03-02T23:59:59Z",
      sort: "dueAt",
      limit: 100,
    });
    expect(dueSoon.data.length).toBeGreaterThan(0);
    expect(
      dueSoon.data.every((task) => task.dueAt !== null && task.dueAt <= "2026-03-02T23:59:59Z"),
    ).toBe(true);
  });

  it("narrows to one workspace with workspaceId", async () => {
    const reader = await signUp(t.app);
    const owner = await signUp(t.app);
    const shared = await personalWorkspaceId(t.app, owner);
    await t.database.db
      .insert(member)
      .values({ id: uuidv7(), organizationId: shared, userId: reader.id, role: "viewer" });
    await seed(reader, await personalWorkspaceId(t.app, reader), "Mine");
    await seed(owner, shared, "Shared");
    const page = await listTasks(t.app, reader, { workspaceId: shared, limit: 100 });
    expect(page.data).toHaveLength(7);
    expect(page.data.every((task) => task.workspaceId === shared)).toBe(true);
    const ownerView = await listTasks(t.app, owner, { limit: 100 });
    expect(ownerView.data.every((task) => task.workspaceId === shared)).toBe(true);
  });
});
