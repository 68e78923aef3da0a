import { describe, expect, it } from "vitest";
import { signUp, type TestUser, useTestApp } from "../../../test/harness.ts";
import {
  allBodies,
  createTask,
  expectProblem,
  getTask,
  type Page,
  patchTask,
  sortedStatuses,
} from "../../../test/tasks-helpers.ts";
import type { Activity } from "../activity/contracts.ts";
import { accept, call, createWorkspace, invite, join, listMembers } from "./test-helpers.ts";

const t = useTestApp();

/**
 * Membership changes at the same moment. Every one of them locks the
 * workspace row first, so they run one after the other; these tests pin
 * that the rules checked under the lock (the last owner, a pending
 * invitation) hold whichever request goes first. Several rounds, because on
 * a real Postgres the order differs from round to round.
 */
const rounds = 4;

async function activityOf(user: TestUser, type: string): Promise<Activity[]> {
  const response = await call(t.app, user, "GET", "/v1/me/activity?limit=100");
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Page<Activity>>().data.filter((event) => event.type === type);
}

const memberUrl = (workspaceId: string, userId: string) =>
  `/v1/workspaces/${workspaceId}/members/${userId}`;

describe("membership changes at the same moment", () => {
  it("two owners demoting each other: the one demoted first may no longer (403), one owner is left", async () => {
    for (let round = 0; round < rounds; round++) {
      const first = await signUp(t.app);
      const second = await signUp(t.app);
      const workspace = await createWorkspace(t.app, first);
      await join(t.app, first, workspace.id, second, "owner");
      const answers = await Promise.all([
        call(t.app, first, "PATCH", memberUrl(workspace.id, second.id), { role: "admin" }),
        call(t.app, second, "PATCH", memberUrl(workspace.id, first.id), { role: "admin" }),
      ]);
      // Whoever goes second is an admin by then: their role is read under the lock.
      expect(sortedStatuses(answers), allBodies(answers)).toEqual([200, 403]);
      const loser = answers.find((answer) => answer.statusCode === 403);
      expect(expectProblem(loser as NonNullable<typeof loser>, 403, "forbidden").detail).toBe(
        "Only owners may change a member's role",
      );
      const roles = (await listMembers(t.app, first, workspace.id)).map((entry) => entry.role);
      expect(roles.sort()).toEqual(["admin", "owner"]);
    }
  });

  it("a role change racing the member's removal: the member ends up gone either way", async () => {
    for (let round = 0; round < rounds; round++) {
      const owner = await signUp(t.app);
      const colleague = await signUp(t.app);
      const workspace = await createWorkspace(t.app, owner);
      await join(t.app, owner, workspace.id, colleague, "member");
      const url = memberUrl(workspace.id, colleague.id);
      const [changed, removed] = await Promise.all([
        call(t.app, owner, "PATCH", url, { role: "viewer" }),
        call(t.app, owner, "DELETE", url),
      ]);
      expect(removed.statusCode, removed.body).toBe(204);
      // Changed first (200), or removed first, and then there is no such member (404).
      expect([200, 404], changed.body).toContain(changed.statusCode);
      if (changed.statusCode === 404) expectProblem(changed, 404, "not_found");
      const members = await listMembers(t.app, owner, workspace.id);
      expect(members.map((entry) => entry.userId)).toEqual([owner.id]);
      const roleChanges = await activityOf(owner, "member.role_changed");
      expect(roleChanges).toHaveLength(changed.statusCode === 200 ? 1 : 0);
    }
  });
});

describe("invitations answered at the same moment", () => {
  it("accepted twice: one 200, one 409, one membership and one member.joined", async () => {
    for (let round = 0; round < rounds; round++) {
      const owner = await signUp(t.app);
      const invitee = await signUp(t.app);
      const workspace = await createWorkspace(t.app, owner);
      const invitation = await invite(t.app, owner, workspace.id, invitee.email, "member");
      const answers = await Promise.all([
        accept(t.app, invitee, invitation.id),
        accept(t.app, invitee, invitation.id),
      ]);
      expect(sortedStatuses(answers), allBodies(answers)).toEqual([200, 409]);
      const members = await listMembers(t.app, owner, workspace.id);
      expect(members.map((entry) => entry.userId).sort()).toEqual([owner.id, invitee.id].sort());
      expect(await activityOf(invitee, "member.joined")).toHaveLength(1);
    }
  });

  it("revoked while being accepted: either joined and the revoke is 409, or revoked and the accept is 409", async () => {
    for (let round = 0; round < rounds; round++) {
      const owner = await signUp(t.app);
      const invitee = await signUp(t.app);
      const workspace = await createWorkspace(t.app, owner);
      const invitation = await invite(t.app, owner, workspace.id, invitee.email, "member");
      const [accepted, revoked] = await Promise.all([
        accept(t.app, invitee, invitation.id),
        call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}/invitations/${invitation.id}`),
      ]);
      const members = (await listMembers(t.app, owner, workspace.id)).map((entry) => entry.userId);
      if (accepted.statusCode === 200) {
        expect(expectProblem(revoked, 409, "conflict").detail).toContain("accepted");
        expect(members.sort()).toEqual([owner.id, invitee.id].sort());
      } else {
        expect(revoked.statusCode, revoked.body).toBe(204);
        expect(expectProblem(accepted, 409, "conflict").detail).toContain("revoked");
        expect(members).toEqual([owner.id]);
      }
    }
  });

  it("the same address invited twice: one 201, one 409 naming email, one pending invitation", async () => {
    for (let round = 0; round < rounds; round++) {
      const owner = await signUp(t.app);
      const workspace = await createWorkspace(t.app, owner);
      const url = `/v1/workspaces/${workspace.id}/invitations`;
      const email = `invitee-${round}-${workspace.id}@example.com`;
      const answers = await Promise.all([
        call(t.app, owner, "POST", url, { email, role: "member" }),
        call(t.app, owner, "POST", url, { email, role: "viewer" }),
      ]);
      expect(sortedStatuses(answers), allBodies(answers)).toEqual([201, 409]);
      const loser = answers.find((answer) => answer.statusCode === 409);
      const problem = expectProblem(loser as NonNullable<typeof loser>, 409, "conflict");
      expect(problem.errors?.map((entry) => entry.path)).toEqual(["email"]);
      const pending = await call(t.app, owner, "GET", url);
      expect(pending.json<Page<{ email: string }>>().data.map((entry) => entry.email)).toEqual([
        email,
      ]);
    }
  });
});

/** A shared workspace whose owner assigned a task to a colleague (a member). */
async function teamWithAssignedTask() {
  const owner = await signUp(t.app);
  const colleague = await signUp(t.app);
  const workspace = await createWorkspace(t.app, owner);
  await join(t.app, owner, workspace.id, colleague, "member");
  const task = await createTask(t.app, owner, {
    title: "Shared",
    workspaceId: workspace.id,
    assigneeId: colleague.id,
  });
  return { owner, colleague, workspace, task };
}

describe("deleting a workspace while its tasks and categories change", () => {
  it("deletes it; the edits land before it or find nothing (404), never a deadlock", async () => {
    for (let round = 0; round < rounds; round++) {
      const { owner, colleague, workspace, task } = await teamWithAssignedTask();
      const category = await call(t.app, owner, "POST", "/v1/categories", {
        name: "Errands",
        workspaceId: workspace.id,
      });
      const [edited, renamed, demoted, deleted] = await Promise.all([
        patchTask(t.app, owner, task.id, { title: "Edited" }),
        call(t.app, owner, "PATCH", `/v1/categories/${category.json<{ id: string }>().id}`, {
          name: "Chores",
        }),
        call(t.app, owner, "PATCH", memberUrl(workspace.id, colleague.id), { role: "viewer" }),
        call(t.app, owner, "DELETE", `/v1/workspaces/${workspace.id}`),
      ]);
      // Before, the delete cascaded into rows the edits held while they
      // waited for the workspace row it had deleted: Postgres broke the
      // deadlock after a second, answering one of them 409.
      expect(deleted.statusCode, deleted.body).toBe(204);
      for (const answer of [edited, renamed, demoted]) {
        expect([200, 404], answer.body).toContain(answer.statusCode);
      }
      const gone = await call(t.app, owner, "GET", `/v1/workspaces/${workspace.id}`);
      expectProblem(gone, 404, "not_found");
    }
  });
});

describe("task assignments racing membership changes", () => {
  it("edits a task while its assignee is removed: both land, no deadlock", async () => {
    for (let round = 0; round < rounds; round++) {
      const { owner, colleague, workspace, task } = await teamWithAssignedTask();
      const answers = await Promise.all([
        patchTask(t.app, owner, task.id, { title: `Shared ${round}` }),
        call(t.app, owner, "DELETE", memberUrl(workspace.id, colleague.id)),
      ]);
      // Before, each waited for a row the other had locked: Postgres broke
      // the deadlock after a second and one of them answered 409.
      expect(sortedStatuses(answers), allBodies(answers)).toEqual([200, 204]);
      expect(await getTask(t.app, owner, task.id)).toMatchObject({
        title: `Shared ${round}`,
        assigneeId: null,
      });
    }
  });

  for (const [change, send] of [
    ["removal", (owner: TestUser, url: string) => call(t.app, owner, "DELETE", url)],
    [
      "demotion to viewer",
      (owner: TestUser, url: string) => call(t.app, owner, "PATCH", url, { role: "viewer" }),
    ],
  ] as const) {
    it(`never leaves a task assigned to someone after their ${change}`, async () => {
      for (let round = 0; round < rounds; round++) {
        const owner = await signUp(t.app);
        const colleague = await signUp(t.app);
        const workspace = await createWorkspace(t.app, owner);
        await join(t.app, owner, workspace.id, colleague, "member");
        const task = await createTask(t.app, owner, { title: "Shared", workspaceId: workspace.id });
        const [assigned, changed] = await Promise.all([
          patchTask(t.app, owner, task.id, { assigneeId: colleague.id }),
          send(owner, memberUrl(workspace.id, colleague.id)),
        ]);
        expect(changed.statusCode, changed.body).toBeLessThan(300);
        // Assigned first and unassigned by the change, or refused after it.
        if (assigned.statusCode !== 200) {
          const problem = expectProblem(assigned, 422, "invalid_reference");
          expect(problem.errors?.map((entry) => entry.path)).toEqual(["assigneeId"]);
        }
        expect((await getTask(t.app, owner, task.id)).assigneeId).toBeNull();
      }
    });
  }
});
