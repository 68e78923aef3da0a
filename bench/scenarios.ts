/**
 * What each scenario sends. Pure functions of a request counter, shared by the
 * HTTP load generator (bench/load.ts) and the raw-SQL baseline
 * (bench/baseline.ts) so both do the same work with the same inputs.
 */

export const scenarioNames = ["list", "get", "me", "create", "update"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export const scenarioLabels: Record<ScenarioName, string> = {
  list: "`?status=open&sort=dueAt&limit=50`, every second request also `&priority=high,urgent`",
  get: "one of the user's own live tasks (up to 64 per user in rotation)",
  me: "profile, workspaces, task stats and the 20 latest activity events",
  create: "a new task in the personal workspace (title, description, priority, tags, dueAt)",
  update: "new title and priority on one of the user's own tasks (a transaction + activity event)",
};

export const scenarioShortLabels: Record<ScenarioName, string> = {
  list: "GET /v1/tasks",
  get: "GET /v1/tasks/{id}",
  me: "GET /v1/me",
  create: "POST /v1/tasks",
  update: "PATCH /v1/tasks/{id}",
};

/** A seeded user as the load generator sees them: a bearer token and some of their tasks. */
export type LoadUser = { token: string; taskIds: string[] };

export type HttpCall = {
  method: "GET" | "POST" | "PATCH";
  path: string;
  body?: string;
};

export const listPriorityFilter = ["high", "urgent"] as const;
/** The same set as the app binds it: the lowest and highest `priority_rank` (high 3, urgent 4). */
export const listPriorityRanks = [3, 4] as const;

/** Every second list request also filters on priority. */
/** The list scenario's page size (`limit=50`). */
export const listPageSize = 50;

export function listUsesPriority(i: number): boolean {
  return i % 2 === 1;
}

const priorities = ["none", "low", "medium", "high", "urgent"] as const;
const titleWords = ["Call", "Email", "Review", "Draft", "Plan", "Fix", "Book", "Pay", "Order"];
const objects = ["report", "invoice", "dentist", "slides", "budget", "flights", "roadmap", "bug"];
const tagPool = ["work", "home", "quick", "waiting", "errand", "meeting"];

export type CreateInput = {
  title: string;
  description: string | null;
  priority: (typeof priorities)[number];
  tags: string[];
  dueAt: string | null;
};

/** The body of the i-th POST /v1/tasks: varied, always valid. */
export function createInput(i: number): CreateInput {
  const word = titleWords[i % titleWords.length] ?? "Do";
  const object = objects[Math.floor(i / titleWords.length) % objects.length] ?? "thing";
  return {
    title: `${word} ${object} ${i}`,
    description: i % 2 === 0 ? `Created by the benchmark, request ${i}, with a few words.` : null,
    priority: priorities[i % priorities.length] ?? "none",
    tags: i % 3 === 0 ? [] : [tagPool[i % tagPool.length] ?? "work"],
    dueAt: i % 4 === 0 ? null : new Date(Date.UTC(2030, 0, 1 + (i % 365), 17)).toISOString(),
  };
}

export type UpdateInput = { title: string; priority: (typeof priorities)[number] };

/** The body of the i-th PATCH: the title carries the counter so every PATCH changes something. */
export function updateInput(i: number): UpdateInput {
  return { title: `Edited task ${i}`, priority: priorities[i % priorities.length] ?? "none" };
}

/**
 * Requests rotate over users first, then over each user's tasks, so
 * concurrent requests never touch the same task (a PATCH race would be a
 * legitimate 412, which the bench counts as a failure).
 */
export function pickUser<U>(users: readonly U[], i: number): U {
  const user = users[i % users.length];
  if (user === undefined) throw new Error("no users to pick from");
  return user;
}

export function pickTask(
  users: readonly LoadUser[],
  i: number,
): { user: LoadUser; taskId: string } {
  const user = pickUser(users, i);
  const taskId = user.taskIds[Math.floor(i / users.length) % user.taskIds.length];
  if (taskId === undefined) throw new Error("user without tasks in the rotation");
  return { user, taskId };
}

/** The i-th HTTP request of a scenario. */
export function httpCall(
  scenario: ScenarioName,
  users: readonly LoadUser[],
  i: number,
): { user: LoadUser; call: HttpCall } {
  switch (scenario) {
    case "list": {
      const priority = listUsesPriority(i) ? `&priority=${listPriorityFilter.join(",")}` : "";
      return {
        user: pickUser(users, i),
        call: {
          method: "GET",
          path: `/v1/tasks?status=open${priority}&sort=dueAt&limit=${listPageSize}`,
        },
      };
    }
    case "get": {
      const { user, taskId } = pickTask(users, i);
      return { user, call: { method: "GET", path: `/v1/tasks/${taskId}` } };
    }
    case "me":
      return { user: pickUser(users, i), call: { method: "GET", path: "/v1/me" } };
    case "create":
      return {
        user: pickUser(users, i),
        call: { method: "POST", path: "/v1/tasks", body: JSON.stringify(createInput(i)) },
      };
    case "update": {
      const { user, taskId } = pickTask(users, i);
      return {
        user,
        call: {
          method: "PATCH",
          path: `/v1/tasks/${taskId}`,
          body: JSON.stringify(updateInput(i)),
        },
      };
    }
  }
}

/** Scenarios that address a task id need users that have tasks. */
export function usersFor(scenario: ScenarioName, users: readonly LoadUser[]): LoadUser[] {
  return scenario === "get" || scenario === "update"
    ? users.filter((user) => user.taskIds.length > 0)
    : [...users];
}
