import { eq, sql } from "drizzle-orm";
import { actingUser } from "../../platform/auth/actor.ts";
import { user } from "../../platform/auth/schema.ts";
import { type Context, inTransaction } from "../../platform/context.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import { withTransaction } from "../../platform/db/transaction.ts";
import { notFound } from "../../platform/http/errors.ts";
import { diffChanges, listActorActivity, recordActivity } from "../activity/service.ts";
import { dayBounds } from "../tasks/schedule/day.ts";
import { taskStats } from "../tasks/stats.ts";
import { listMemberships } from "../workspaces/service.ts";
import type { Profile, UpdateProfileInput } from "./contracts.ts";

const profileStatement = preparedPerDatabase((db) =>
  db
    .select()
    .from(user)
    .where(eq(user.id, sql.placeholder("id")))
    .prepare("profile_user"),
);

export async function getProfile(
  ctx: Context,
  options: { activityLimit: number },
): Promise<Profile> {
  const me = actingUser(ctx.actor);
  const [row] = await profileStatement(ctx.db).execute({ id: me.userId });
  if (!row) throw notFound("User");
  const now = ctx.now();
  const today = dayBounds(now, row.timezone);
  const [workspaces, stats, activity] = await Promise.all([
    listMemberships(ctx),
    taskStats(ctx, {
      now,
      startOfToday: today.start,
      endOfToday: today.end,
    }),
    options.activityLimit > 0
      ? listActorActivity(ctx, me.userId, { limit: options.activityLimit })
      : Promise.resolve({ data: [] }),
  ]);
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    image: row.image,
    timezone: row.timezone,
    createdAt: row.createdAt.toISOString(),
    workspaces,
    stats,
    recentActivity: activity.data,
  };
}

/** What the acting user did, newest first. */
export function listMyActivity(
  ctx: Context,
  query: { limit: number; cursor?: string | undefined },
) {
  return listActorActivity(ctx, actingUser(ctx.actor).userId, query);
}

export async function updateProfile(ctx: Context, input: UpdateProfileInput): Promise<Profile> {
  const me = actingUser(ctx.actor);
  await withTransaction(ctx.db, async (tx) => {
    const [current] = await tx.select().from(user).where(eq(user.id, me.userId)).for("update");
    if (!current) throw notFound("User");
    const changes = diffChanges(current, input);
    if (Object.keys(changes).length === 0) return;
    await tx
      .update(user)
      .set({ ...input, updatedAt: ctx.now() })
      .where(eq(user.id, me.userId));
    await recordActivity(inTransaction(ctx, tx), {
      type: "profile.updated",
      workspaceId: null,
      entity: { type: "user", id: me.userId, title: input.name ?? current.name },
      changes,
    });
  });
  return getProfile(ctx, { activityLimit: 20 });
}
