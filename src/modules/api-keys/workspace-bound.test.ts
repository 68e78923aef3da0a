import { and, eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  type Activity,
  type Category,
  createCategory,
  createTask,
  expectProblem,
  type Page,
  personalWorkspaceId,
  type Task,
} from "../../../test/tasks-helpers.ts";
import type { Profile } from "../profile/contracts.ts";
import { member, workspace } from "../workspaces/schema.ts";
import type { CreatedApiKey } from "./contracts.ts";
import { createApiKey, keyHeaders } from "./test-helpers.ts";

const t = useTestApp();

/**
 * A second workspace the user belongs to. Shared workspaces get their own
 * routes with the workspaces work; until then the rows are written directly.
 */
async function sharedWorkspace(owner: TestUser): Promise<string> {
  const id = uuidv7();
  await t.database.db.insert(workspace).values({ id, name: "Team", slug: `team-${id}` });
  await t.database.db
    .insert(member)
    .values({ id: uuidv7(), organizationId: id, userId: owner.id, role: "owner" });
  return id;
}

function asKey(
  key: CreatedApiKey,
  method: "GET" | "POST" | "PATCH",
  url: string,
  payload?: object,
) {
  return t.app.inject({ method, url, headers: keyHeaders(key), ...(payload ? { payload } : {}) });
}

/** A user with a personal and a team workspace, a task and a category in each, and a key bound to the team. */
async function twoWorkspaces() {
  const user = await signUp(t.app);
  const personal = await personalWorkspaceId(t.app, user);
  const team = await sharedWorkspace(user);
  const personalTask = await createTask(t.app, user, { title: "Personal errand" });
  const teamTask = await createTask(t.app, user, { title: "Team chore", workspaceId: team });
  const personalCategory = await createCategory(t.app, user, "Home");
  const teamCategoryResponse = await t.app.inject({
    method: "POST",
    url: "/v1/categories",
    headers: user.headers,
    payload: { name: "Ops", workspaceId: team },
  });
  const teamCategory = teamCategoryResponse.json<Category>();
  const bound = await createApiKey(t.app, user, {
    scopes: ["tasks:read", "tasks:write"],
    workspaceId: team,
  });
  return { user, personal, team, personalTask, teamTask, personalCategory, teamCategory, bound };
}

describe("a key bound to one workspace", () => {
  it("is created with that workspace and lists it", async () => {
    const { team, bound } = await twoWorkspaces();
    expect(bound.workspaceId).toBe(team);
  });

  it("lists only that workspace's tasks and categories", async () => {
    const { bound, teamTask, teamCategory } = await twoWorkspaces();
    const tasks = (await asKey(bound, "GET", "/v1/tasks")).json<Page<Task>>();
    expect(tasks.data.map((task) => task.id)).toEqual([teamTask.id]);
    const categories = (await asKey(bound, "GET", "/v1/categories")).json<Page<Category>>();
    expect(categories.data.map((category) => category.id)).toEqual([teamCategory.id]);
  });

  it("answers 404 for the other workspace's task, category and list, as if they did not exist", async () => {
    const { bound, personal, personalTask, personalCategory } = await twoWorkspaces();
    for (const url of [
      `/v1/tasks/${personalTask.id}`,
      `/v1/tasks/${personalTask.id}/activity`,
      `/v1/categories/${personalCategory.id}`,
      `/v1/tasks?workspaceId=${personal}`,
      `/v1/categories?workspaceId=${personal}`,
    ]) {
      expectProblem(await asKey(bound, "GET", url), 404, "not_found");
    }
    expectProblem(
      await asKey(bound, "PATCH", `/v1/tasks/${personalTask.id}`, { title: "Mine now" }),
      404,
      "not_found",
    );
    expectProblem(
      await asKey(bound, "POST", "/v1/tasks", { title: "Sneak in", workspaceId: personal }),
      404,
      "not_found",
    );
  });

  it("creates in its workspace by default and sees only it in the profile", async () => {
    const { bound, team } = await twoWorkspaces();
    const created = await asKey(bound, "POST", "/v1/tasks", { title: "Filed by the bot" });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json<Task>().workspaceId).toBe(team);
    const quick = await asKey(bound, "POST", "/v1/tasks/quick", { text: "Quick one #Ops" });
    expect(quick.statusCode, quick.body).toBe(201);
    expect(quick.json<Task>().workspaceId).toBe(team);
    const profile = (await asKey(bound, "GET", "/v1/me")).json<Profile>();
    expect(profile.workspaces.map((entry) => entry.id)).toEqual([team]);
    expect(profile.stats.open).toBe(3);
  });

  it("sees only that workspace's part of my activity", async () => {
    const { bound, team } = await twoWorkspaces();
    const activity = (await asKey(bound, "GET", "/v1/me/activity?limit=100")).json<
      Page<Activity>
    >();
    expect(activity.data.length).toBeGreaterThan(0);
    expect(new Set(activity.data.map((event) => event.workspaceId))).toEqual(new Set([team]));
  });

  it("sees nothing once its user leaves the workspace", async () => {
    const { user, bound, team, teamTask } = await twoWorkspaces();
    await t.database.db
      .delete(member)
      .where(and(eq(member.organizationId, team), eq(member.userId, user.id)));
    expect((await asKey(bound, "GET", "/v1/tasks")).json<Page<Task>>().data).toEqual([]);
    expectProblem(await asKey(bound, "GET", `/v1/tasks/${teamTask.id}`), 404, "not_found");
  });

  it("sees only that workspace among the workspace routes", async () => {
    const { bound, team, personal } = await twoWorkspaces();
    const listed = (await asKey(bound, "GET", "/v1/workspaces")).json<Page<{ id: string }>>();
    expect(listed.data.map((entry) => entry.id)).toEqual([team]);
    expectProblem(await asKey(bound, "GET", `/v1/workspaces/${personal}`), 404, "not_found");
    expectProblem(
      await asKey(bound, "GET", `/v1/workspaces/${personal}/members`),
      404,
      "not_found",
    );
  });

  it("cannot create another workspace, and none is created", async () => {
    const { user, team, personal } = await twoWorkspaces();
    const admin = await createApiKey(t.app, user, {
      scopes: ["tasks:read", "workspaces:admin"],
      workspaceId: team,
    });
    const refused = await asKey(admin, "POST", "/v1/workspaces", { name: "Elsewhere" });
    expectProblem(refused, 403, "forbidden");
    expect(refused.json().detail).toBe("A key bound to one workspace cannot create workspaces");
    const mine = await t.app.inject({
      method: "GET",
      url: "/v1/workspaces",
      headers: user.headers,
    });
    expect(
      mine
        .json<Page<{ id: string }>>()
        .data.map((entry) => entry.id)
        .sort(),
    ).toEqual([personal, team].sort());
  });

  it("leaves an unbound key of the same user seeing both workspaces", async () => {
    const { user, personalTask, teamTask } = await twoWorkspaces();
    const unbound = await createApiKey(t.app, user, { scopes: ["tasks:read"] });
    const tasks = (await asKey(unbound, "GET", "/v1/tasks")).json<Page<Task>>();
    expect(tasks.data.map((task) => task.id).sort()).toEqual([personalTask.id, teamTask.id].sort());
  });
});
