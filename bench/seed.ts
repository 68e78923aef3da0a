/**
 * Bulk seeding straight into the migrated schema: users, bearer sessions,
 * personal and team workspaces, memberships, categories, tasks and their
 * activity trail. Each batch is one `insert ... select from unnest(...)`
 * statement, so 100,000 tasks take a few dozen round trips.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";

export type SeedOptions = {
  users: number;
  tasks: number;
  seed: number;
  /**
   * Make every user also a viewer of this many teams besides their own
   * (default 0): users in many workspaces, whose lists merge all of them.
   */
  viewerOf?: number;
};

export type SeededUser = {
  id: string;
  email: string;
  token: string;
  /** Live tasks this user created (a sample of at most `sampleTasksPerUser`). */
  taskIds: string[];
};

export type SeedResult = {
  users: SeededUser[];
  rows: Record<string, number>;
  /** Milliseconds per step, in order. */
  steps: Array<{ step: string; ms: number }>;
  ms: number;
};

const batchSize = 5_000;
const sampleTasksPerUser = 64;
const day = 24 * 60 * 60 * 1000;

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same data. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => {
    const item = items[int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  };
  const normal = () => {
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return { next, int, pick, normal };
}

type Random = ReturnType<typeof createRandom>;

const words = (
  "call email review draft plan fix book pay order update prepare send write read schedule " +
  "clean organise buy renew cancel check test deploy refactor document migrate design sketch " +
  "report invoice budget slides roadmap meeting dentist doctor flights hotel groceries garden " +
  "garage taxes insurance contract proposal release backlog sprint customer supplier team " +
  "quarterly weekly monthly annual urgent small quick follow up with about for the and new old " +
  "kitchen laptop phone car bike birthday present party conference talk article newsletter " +
  "database server backup security audit onboarding hiring interview feedback survey metrics"
).split(" ");
const timezones = [
  "UTC",
  "Europe/Berlin",
  "Europe/London",
  "America/New_York",
  "America/Los_Angeles",
  "Asia/Tokyo",
  "Asia/Kolkata",
  "Australia/Sydney",
];
const tagNames = [
  "work",
  "home",
  "quick",
  "waiting",
  "errand",
  "call",
  "email",
  "meeting",
  "review",
  "bug",
  "idea",
  "reading",
  "office",
  "weekly",
  "someday",
];
const categoryNames = ["Work", "Home", "Errands", "Health", "Finance", "Learning", "Family"];
const recurrences = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;BYMONTHDAY=1"];
const teamSize = 8;
const teamRoles = ["owner", "admin", "admin", "member", "member", "member", "member", "viewer"];

/** 40% none, 20% low, 20% medium, 15% high, 5% urgent. */
function pickPriority(roll: number): string {
  if (roll < 0.4) return "none";
  if (roll < 0.6) return "low";
  if (roll < 0.8) return "medium";
  return roll < 0.95 ? "high" : "urgent";
}

function sentence(random: Random, min: number, max: number): string {
  const count = min + random.int(max - min + 1);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(random.pick(words));
  const text = parts.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A 32-character session token like better-auth's own. */
function sessionToken(): string {
  const bytes = randomBytes(32);
  let token = "";
  for (const byte of bytes) token += tokenAlphabet[byte % tokenAlphabet.length];
  return token;
}

/** Quotes a text[] literal the way Drizzle sends one. */
function textArray(items: readonly string[]): string {
  return `{${items.map((item) => `"${item.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;
}

type Column = { name: string; type: string };

/** `insert into table (cols) select * from unnest($1::t1[], ...)` for one batch of columns. */
async function insertColumns(
  pool: pg.Pool,
  table: string,
  columns: readonly Column[],
  values: unknown[][],
  select?: string,
): Promise<void> {
  const names = columns.map((column) => `"${column.name}"`).join(", ");
  const params = columns.map((column, index) => `$${index + 1}::${column.type}[]`).join(", ");
  await pool.query(
    `insert into "${table}" (${names}) select ${select ?? "*"} from unnest(${params}) as t(${names})`,
    values,
  );
}

/** Column-wise batch buffer: push rows, flush every `batchSize`. */
class Batch {
  readonly columns: Column[];
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly select: string | undefined;
  private data: unknown[][];
  rows = 0;
  total = 0;

  constructor(pool: pg.Pool, table: string, columns: Record<string, string>, select?: string) {
    this.pool = pool;
    this.table = table;
    this.select = select;
    this.columns = Object.entries(columns).map(([name, type]) => ({ name, type }));
    this.data = this.columns.map(() => []);
  }

  async push(...row: unknown[]): Promise<void> {
    for (let i = 0; i < this.columns.length; i++) this.data[i]?.push(row[i]);
    this.rows++;
    if (this.rows >= batchSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.rows === 0) return;
    await insertColumns(this.pool, this.table, this.columns, this.data, this.select);
    this.total += this.rows;
    this.rows = 0;
    this.data = this.columns.map(() => []);
  }
}

export async function seedDatabase(
  pool: pg.Pool,
  options: SeedOptions,
  log: (message: string) => void,
): Promise<SeedResult> {
  const started = performance.now();
  const steps: SeedResult["steps"] = [];
  let stepStarted = started;
  const step = (name: string) => {
    const now = performance.now();
    steps.push({ step: name, ms: Math.round(now - stepStarted) });
    log(`  seeded ${name} in ${((now - stepStarted) / 1000).toFixed(1)} s`);
    stepStarted = now;
  };
  const random = createRandom(options.seed);
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();

  // Users, each with one bearer session and a personal workspace.
  const userCount = options.users;
  const users: SeededUser[] = [];
  const userIds: string[] = [];
  const personal: string[] = [];
  const userBatch = new Batch(pool, "user", {
    id: "uuid",
    name: "text",
    email: "text",
    email_verified: "bool",
    timezone: "text",
    created_at: "timestamptz",
    updated_at: "timestamptz",
  });
  for (let u = 0; u < userCount; u++) {
    const created = now - 400 * day + random.int(30 * day);
    const id = uuidv7({ msecs: created });
    const email = `bench-user-${u}@example.com`;
    userIds.push(id);
    users.push({ id, email, token: sessionToken(), taskIds: [] });
    await userBatch.push(
      id,
      `Bench User ${u}`,
      email,
      true,
      random.pick(timezones),
      iso(created),
      iso(created),
    );
  }
  await userBatch.flush();

  const sessionBatch = new Batch(pool, "session", {
    id: "uuid",
    expires_at: "timestamptz",
    token: "text",
    ip_address: "text",
    user_agent: "text",
    user_id: "uuid",
    created_at: "timestamptz",
    updated_at: "timestamptz",
  });
  for (const user of users) {
    // Fresh sessions: better-auth only refreshes one older than updateAge (1 day).
    await sessionBatch.push(
      uuidv7(),
      iso(now + 30 * day),
      user.token,
      "127.0.0.1",
      "taskpilot-bench",
      user.id,
      iso(now),
      iso(now),
    );
  }
  await sessionBatch.flush();
  step(`${userCount} users + sessions`);

  // Workspaces: everyone's personal one, plus teams of eight for a third of the users.
  const workspaceBatch = new Batch(pool, "organization", {
    id: "uuid",
    name: "text",
    slug: "text",
    personal_owner_id: "uuid",
    created_at: "timestamptz",
  });
  const memberBatch = new Batch(pool, "member", {
    id: "uuid",
    organization_id: "uuid",
    user_id: "uuid",
    role: "text",
    created_at: "timestamptz",
  });
  for (let u = 0; u < userCount; u++) {
    const id = uuidv7();
    const owner = userIds[u] ?? "";
    personal.push(id);
    await workspaceBatch.push(id, "Personal", `personal-${owner}`, owner, iso(now - 400 * day));
    await memberBatch.push(uuidv7(), id, owner, "owner", iso(now - 400 * day));
  }
  const teamCount = Math.floor(userCount / (3 * teamSize));
  const teams: string[] = [];
  /** For users in a team: the team index and their role. */
  const teamOf = new Map<number, { team: number; role: string }>();
  for (let t = 0; t < teamCount; t++) {
    const id = uuidv7();
    teams.push(id);
    await workspaceBatch.push(id, `Team ${t}`, `team-${t}-${id}`, null, iso(now - 380 * day));
    for (let slot = 0; slot < teamSize; slot++) {
      // Teams take every third block of users, so team members are spread out.
      const u = (t * 3 + (t % 3)) * teamSize + slot;
      if (u >= userCount) break;
      const role = teamRoles[slot] ?? "member";
      teamOf.set(u, { team: t, role });
      await memberBatch.push(uuidv7(), id, userIds[u], role, iso(now - 380 * day));
    }
  }
  await workspaceBatch.flush();
  await memberBatch.flush();
  const teamMembers = teams.map(() => [] as number[]);
  for (const [u, { team, role }] of teamOf) if (role !== "viewer") teamMembers[team]?.push(u);
  if (options.viewerOf) {
    // Its own random stream, so the rest of the data is the same with or without it.
    const pick = createRandom(options.seed + 1);
    for (let u = 0; u < userCount; u++) {
      const own = teamOf.get(u)?.team;
      const wanted = Math.min(options.viewerOf, teams.length - (own === undefined ? 0 : 1));
      const chosen = new Set<number>();
      while (chosen.size < wanted) {
        const t = pick.int(teams.length);
        if (t !== own) chosen.add(t);
      }
      for (const t of chosen) {
        await memberBatch.push(uuidv7(), teams[t], userIds[u], "viewer", iso(now - 30 * day));
      }
    }
    await memberBatch.flush();
  }

  // Categories: 0-4 per workspace.
  const categoryBatch = new Batch(pool, "categories", {
    id: "uuid",
    workspace_id: "uuid",
    name: "text",
    color: "text",
    position: "float8",
    created_at: "timestamptz",
    updated_at: "timestamptz",
  });
  const categoriesOf = new Map<string, string[]>();
  for (const workspaceId of [...personal, ...teams]) {
    const count = random.int(5);
    const ids: string[] = [];
    const offset = random.int(categoryNames.length);
    for (let c = 0; c < count; c++) {
      const id = uuidv7();
      ids.push(id);
      const name = categoryNames[(offset + c) % categoryNames.length] ?? "Other";
      const color = `#${random.int(0xffffff).toString(16).padStart(6, "0")}`;
      await categoryBatch.push(id, workspaceId, name, color, c + 1, iso(now), iso(now));
    }
    categoriesOf.set(workspaceId, ids);
  }
  await categoryBatch.flush();
  step(`${personal.length + teams.length} workspaces, members, categories`);

  // How many tasks each user creates: log-normal, so some users have many more.
  const weights = userIds.map(() => Math.exp(0.8 * random.normal()));
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
  const counts = weights.map((weight) =>
    Math.max(1, Math.floor((options.tasks * weight) / weightSum)),
  );
  let assigned = counts.reduce((sum, count) => sum + count, 0);
  while (assigned < options.tasks) {
    const u = random.int(userCount);
    counts[u] = (counts[u] ?? 0) + 1;
    assigned++;
  }
  while (assigned > options.tasks) {
    const u = random.int(userCount);
    if ((counts[u] ?? 0) > 1) {
      counts[u] = (counts[u] ?? 0) - 1;
      assigned--;
    }
  }
  // Creators in random order, creation times in order: the table fills up the
  // way a live one does (ids and heap in time order, users interleaved).
  const creators = new Int32Array(options.tasks);
  let filled = 0;
  counts.forEach((count, u) => {
    creators.fill(u, filled, filled + count);
    filled += count;
  });
  for (let i = creators.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const swap = creators[i] ?? 0;
    creators[i] = creators[j] ?? 0;
    creators[j] = swap;
  }
  const createdTimes = new Float64Array(options.tasks);
  const span = 365 * day;
  for (let i = 0; i < createdTimes.length; i++) createdTimes[i] = now - span + random.next() * span;
  createdTimes.sort();

  const taskBatch = new Batch(
    pool,
    "tasks",
    {
      id: "uuid",
      workspace_id: "uuid",
      category_id: "uuid",
      created_by: "uuid",
      assignee_id: "uuid",
      title: "text",
      description: "text",
      status: "text",
      priority: "text",
      tags: "text",
      due_at: "timestamptz",
      all_day: "bool",
      recurrence: "text",
      completed_at: "timestamptz",
      position: "float8",
      deleted_at: "timestamptz",
      created_at: "timestamptz",
      updated_at: "timestamptz",
    },
    // tags travel as one text[] literal per row; everything else as is.
    `id, workspace_id, category_id, created_by, assignee_id, title, description, status,
     priority, tags::text[], due_at, all_day, recurrence, completed_at, position, deleted_at,
     created_at, updated_at`,
  );
  const activityBatch = new Batch(
    pool,
    "activity_events",
    {
      id: "uuid",
      workspace_id: "uuid",
      actor_type: "text",
      actor_id: "uuid",
      type: "text",
      entity_type: "text",
      entity_id: "uuid",
      entity_title: "text",
      changes: "text",
      created_at: "timestamptz",
    },
    `id, workspace_id, actor_type, actor_id, type, entity_type, entity_id, entity_title,
     changes::jsonb, created_at`,
  );
  const statusCounts = { open: 0, completed: 0, deleted: 0, overdue: 0 };
  for (let i = 0; i < options.tasks; i++) {
    const u = creators[i] ?? 0;
    const creator = userIds[u] ?? "";
    const created = Math.floor(createdTimes[i] ?? now);
    const id = uuidv7({ msecs: created });
    const team = teamOf.get(u);
    const inTeam = team !== undefined && team.role !== "viewer" && random.next() < 0.3;
    const workspaceId = inTeam ? (teams[team.team] ?? "") : (personal[u] ?? "");
    let assignee: string | null = null;
    if (inTeam) {
      const members = teamMembers[team.team] ?? [];
      if (members.length > 0 && random.next() < 0.5)
        assignee = userIds[random.pick(members)] ?? null;
    } else if (random.next() < 0.2) {
      assignee = creator;
    }
    const categories = categoriesOf.get(workspaceId) ?? [];
    const categoryId =
      categories.length > 0 && random.next() < 0.5 ? random.pick(categories) : null;
    const open = random.next() < 0.7;
    const priority = pickPriority(random.next());
    const tagCount = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][random.int(10)] ?? 0;
    const tags = new Set<string>();
    for (let t = 0; t < tagCount; t++) tags.add(random.pick(tagNames));
    let dueAt: number | null = null;
    if (random.next() < 0.75) {
      // Open tasks: due from a month ago to three months ahead (a quarter are overdue).
      dueAt = open ? now + (random.next() * 120 - 30) * day : created + random.next() * 30 * day;
      if (open && dueAt < now) statusCounts.overdue++;
    }
    const allDay = dueAt !== null && random.next() < 0.4;
    const recurrence = dueAt !== null && random.next() < 0.03 ? random.pick(recurrences) : null;
    const completedAt = open ? null : Math.min(now, created + random.next() * 30 * day);
    const updatedAt = completedAt ?? Math.min(now, created + random.next() * 10 * day);
    const deletedAt = random.next() < 0.02 ? updatedAt : null;
    const title = sentence(random, 2, 7);
    const description = random.next() < 0.5 ? null : sentence(random, 8, 60);
    if (open) statusCounts.open++;
    else statusCounts.completed++;
    if (deletedAt !== null) statusCounts.deleted++;
    const seeded = users[u];
    if (deletedAt === null && seeded && seeded.taskIds.length < sampleTasksPerUser) {
      seeded.taskIds.push(id);
    }
    await taskBatch.push(
      id,
      workspaceId,
      categoryId,
      creator,
      assignee,
      title,
      description,
      open ? "open" : "completed",
      priority,
      textArray([...tags]),
      dueAt === null ? null : iso(dueAt),
      allDay,
      recurrence,
      completedAt === null ? null : iso(completedAt),
      created,
      deletedAt === null ? null : iso(deletedAt),
      iso(created),
      iso(updatedAt),
    );
    await activityBatch.push(
      uuidv7({ msecs: created }),
      workspaceId,
      "user",
      creator,
      "task.created",
      "task",
      id,
      title,
      JSON.stringify({ title, priority, status: "open", tags: [...tags] }),
      iso(created),
    );
    if (completedAt !== null) {
      await activityBatch.push(
        uuidv7({ msecs: completedAt }),
        workspaceId,
        "user",
        assignee ?? creator,
        "task.completed",
        "task",
        id,
        title,
        JSON.stringify({ status: { from: "open", to: "completed" } }),
        iso(completedAt),
      );
    }
    if ((i + 1) % 100_000 === 0) log(`  ... ${i + 1} tasks`);
  }
  await taskBatch.flush();
  await activityBatch.flush();
  step(`${options.tasks} tasks + ${activityBatch.total} activity events`);

  await pool.query("vacuum analyze");
  step("vacuum analyze");
  const size = await pool.query<{ table: number; total: number }>(
    `select pg_table_size('tasks') / 1048576 as "table", pg_total_relation_size('tasks') / 1048576 as total`,
  );

  return {
    users,
    rows: {
      users: userCount,
      sessions: userCount,
      workspaces: personal.length + teams.length,
      teamWorkspaces: teams.length,
      members: memberBatch.total,
      categories: categoryBatch.total,
      tasks: taskBatch.total,
      openTasks: statusCounts.open,
      completedTasks: statusCounts.completed,
      deletedTasks: statusCounts.deleted,
      overdueOpenTasks: statusCounts.overdue,
      activityEvents: activityBatch.total,
      tasksTableMiB: Number(size.rows[0]?.table ?? 0),
      tasksWithIndexesMiB: Number(size.rows[0]?.total ?? 0),
      maxTasksPerUser: counts.reduce((max, count) => Math.max(max, count), 0),
      minTasksPerUser: counts.reduce((min, count) => Math.min(min, count), options.tasks),
    },
    steps,
    ms: Math.round(performance.now() - started),
  };
}
