/**
 * Race fuzzing: in a shared workspace, rounds of six requests sent at the
 * same moment, drawn at random from what people and the assistant do to
 * tasks, categories and members (edits, moves under another task,
 * assignments, deletes, restores, completes and reopens of recurring tasks,
 * sub-task creation, quick add, category renames, creations and deletes,
 * role changes, removals, members' own edits). Afterwards the workspace
 * must still hold its invariants: no parent cycle, no live task
 * under a parent in the trash, no task assigned to someone who is not a
 * member above viewer. No request may answer 5xx, nor the 409 that a
 * Postgres deadlock or serialization failure turns into.
 *
 * Meant for the real Postgres (CI's second run); PGlite's single connection
 * runs the requests one after the other. Before the race fixes of
 * 2026-12-06 (docs/api-changelog.md) it failed on Postgres with each of the
 * three seeds tried, on a deadlock within the first rounds; a longer run of
 * the same kind also found a parent cycle, orphans and a task assigned to a
 * non-member. All 21 runs since (seeds 1-12, then 1-8 and the default with
 * the wider mix) pass. The seed is fixed; `RACE_SEED=<n>`
 * explores further.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createRandom } from "../bench/seed.ts";
import { call, createWorkspace, join } from "../src/modules/workspaces/test-helpers.ts";
import { signUp, type TestUser, useTestApp } from "./harness.ts";

const t = useTestApp();

const seed = Number(process.env.RACE_SEED ?? 20261206);
const worlds = 3;
const roundsPerWorld = 25;
const requestsPerRound = 6;

type Answer = { label: string; statusCode: number; body: string };

async function invariantViolations(workspaceId: string) {
  const { rows } = await t.database.db.execute<{
    cycles: number;
    orphans: number;
    misassigned: number;
  }>(sql`
    with recursive up(start, id) as (
      select id, parent_id from tasks where workspace_id = ${workspaceId} and parent_id is not null
      union
      select up.start, parent.parent_id from up join tasks parent on parent.id = up.id
      where parent.parent_id is not null
    )
    select
      (select count(*)::int from up where up.start = up.id) as cycles,
      (select count(*)::int from tasks child join tasks parent on parent.id = child.parent_id
        where child.workspace_id = ${workspaceId} and child.deleted_at is null
          and parent.deleted_at is not null) as orphans,
      (select count(*)::int from tasks task
        where task.workspace_id = ${workspaceId} and task.assignee_id is not null
          and not exists (select 1 from member where member.organization_id = task.workspace_id
            and member.user_id = task.assignee_id and member.role <> 'viewer')) as misassigned`);
  return rows[0];
}

describe(`simultaneous requests in one workspace (seed ${seed})`, () => {
  it("keep the workspace's invariants and never answer 5xx or a deadlock's 409", {
    timeout: 300_000,
  }, async () => {
    const random = createRandom(seed);
    const owner = await signUp(t.app);
    for (let world = 0; world < worlds; world++) {
      const workspace = await createWorkspace(t.app, owner);
      const people: TestUser[] = [];
      for (let index = 0; index < 3; index++) {
        const person = await signUp(t.app);
        await join(t.app, owner, workspace.id, person, "member");
        people.push(person);
      }
      const categoryIds: string[] = [];
      for (const name of ["Home", "Work"]) {
        const created = await call(t.app, owner, "POST", "/v1/categories", {
          name,
          workspaceId: workspace.id,
        });
        expect(created.statusCode, created.body).toBe(201);
        categoryIds.push(created.json<{ id: string }>().id);
      }
      const taskIds: string[] = [];
      for (let index = 0; index < 8; index++) {
        const created = await call(t.app, owner, "POST", "/v1/tasks", {
          title: `Task ${index}`,
          workspaceId: workspace.id,
          ...(index % 3 === 0 ? { recurrence: "every day" } : {}),
          ...(index > 3 ? { parentId: random.pick(taskIds) } : {}),
        });
        expect(created.statusCode, created.body).toBe(201);
        taskIds.push(created.json<{ id: string }>().id);
      }

      const request = async (): Promise<Answer> => {
        const task = random.pick(taskIds);
        const person = random.pick(people);
        const memberUrl = `/v1/workspaces/${workspace.id}/members/${person.id}`;
        const choices: Array<[string, () => ReturnType<typeof call>]> = [
          ["edit", () => call(t.app, owner, "PATCH", `/v1/tasks/${task}`, { title: "Edited" })],
          [
            "move",
            () =>
              call(t.app, owner, "PATCH", `/v1/tasks/${task}`, { parentId: random.pick(taskIds) }),
          ],
          [
            "assign",
            () => call(t.app, owner, "PATCH", `/v1/tasks/${task}`, { assigneeId: person.id }),
          ],
          [
            "categorise",
            () =>
              call(t.app, owner, "PATCH", `/v1/tasks/${task}`, {
                categoryId: random.pick(categoryIds),
              }),
          ],
          ["delete", () => call(t.app, owner, "DELETE", `/v1/tasks/${task}`)],
          ["restore", () => call(t.app, owner, "POST", `/v1/tasks/${task}/restore`)],
          ["complete", () => call(t.app, owner, "POST", `/v1/tasks/${task}/complete`)],
          ["reopen", () => call(t.app, owner, "POST", `/v1/tasks/${task}/reopen`)],
          [
            "add sub-task",
            () =>
              call(t.app, owner, "POST", "/v1/tasks", {
                title: "Sub-task",
                workspaceId: workspace.id,
                parentId: task,
                assigneeId: person.id,
              }),
          ],
          [
            "delete category",
            () => call(t.app, owner, "DELETE", `/v1/categories/${random.pick(categoryIds)}`),
          ],
          [
            "change role",
            () =>
              call(t.app, owner, "PATCH", memberUrl, {
                role: random.pick(["viewer", "member", "admin"]),
              }),
          ],
          ["remove member", () => call(t.app, owner, "DELETE", memberUrl)],
          [
            "rename category",
            () =>
              call(t.app, owner, "PATCH", `/v1/categories/${random.pick(categoryIds)}`, {
                name: random.pick(["Home", "Work", "Errands"]),
              }),
          ],
          [
            "add category",
            async () => {
              const created = await call(t.app, owner, "POST", "/v1/categories", {
                name: random.pick(["Home", "Work", "Errands"]),
                workspaceId: workspace.id,
              });
              if (created.statusCode === 201) categoryIds.push(created.json<{ id: string }>().id);
              return created;
            },
          ],
          [
            "status by PATCH",
            () =>
              call(t.app, owner, "PATCH", `/v1/tasks/${task}`, {
                status: random.pick(["completed", "open"]),
                recurrence: random.pick(["every week", null]),
              }),
          ],
          [
            "quick add",
            () =>
              call(t.app, owner, "POST", "/v1/tasks/quick", {
                text: "Buy milk #Home tomorrow p1",
                workspaceId: workspace.id,
              }),
          ],
          [
            "member adds",
            () =>
              call(t.app, person, "POST", "/v1/tasks", {
                title: "Mine",
                workspaceId: workspace.id,
                parentId: task,
                categoryId: random.pick(categoryIds),
              }),
          ],
          ["member completes", () => call(t.app, person, "POST", `/v1/tasks/${task}/complete`)],
          [
            "member edits",
            () => call(t.app, person, "PATCH", `/v1/tasks/${task}`, { priority: "high" }),
          ],
        ];
        const [label, send] = random.pick(choices);
        const response = await send();
        if (label === "add sub-task" && response.statusCode === 201) {
          taskIds.push(response.json<{ id: string }>().id);
        }
        return { label, statusCode: response.statusCode, body: response.body };
      };

      for (let round = 0; round < roundsPerWorld; round++) {
        const batch = Array.from({ length: requestsPerRound }, () => request());
        for (const answer of await Promise.all(batch)) {
          const where = `world ${world}, round ${round}, ${answer.label}: ${answer.body}`;
          expect(answer.statusCode, where).toBeLessThan(500);
          expect(answer.body, where).not.toContain("A concurrent change got in the way");
        }
      }
      expect(await invariantViolations(workspace.id), `world ${world}`).toEqual({
        cycles: 0,
        orphans: 0,
        misassigned: 0,
      });
    }
  });
});
