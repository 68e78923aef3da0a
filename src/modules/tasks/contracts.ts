import { z } from "zod";
import { isoDateTime } from "../../platform/http/fields.ts";
import { cursorSchema, limitSchema, pageSchema } from "../../platform/http/pagination.ts";
import { maxDueText } from "./schedule/index.ts";
import { occurrenceBudgetMs } from "./schedule/occurrences.ts";
import { taskPriorities, taskStatuses } from "./schema.ts";

const title = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(200, "must be at most 200 characters");
const description = z.string().max(10_000, "must be at most 10000 characters");
const tag = z.string().trim().min(1, "must not be empty").max(50, "must be at most 50 characters");
const tags = z.array(tag).max(20, "must have at most 20 tags");
const naturalText = z.string().trim().min(1, "must not be empty").max(maxDueText);

export const taskSchema = z
  .object({
    id: z.uuid(),
    workspaceId: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    status: z.enum(taskStatuses),
    priority: z.enum(taskPriorities),
    categoryId: z.uuid().nullable(),
    tags: z.array(z.string()),
    dueAt: z.iso.datetime().nullable(),
    allDay: z.boolean(),
    recurrence: z.string().nullable().meta({ description: "RRULE, e.g. FREQ=WEEKLY;BYDAY=MO" }),
    parentId: z.uuid().nullable(),
    assigneeId: z.uuid().nullable(),
    position: z.number(),
    completedAt: z.iso.datetime().nullable(),
    nextOccurrenceId: z.uuid().nullable(),
    createdBy: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    version: z.number().int(),
  })
  .meta({ id: "Task" });

export type Task = z.infer<typeof taskSchema>;

export const taskPageSchema = pageSchema(taskSchema, "TaskPage");

export const completeResultSchema = taskSchema;

const scheduleFields = {
  dueAt: isoDateTime.nullable().optional(),
  allDay: z
    .boolean()
    .optional()
    .meta({ description: "With dueAt: the task is due on that day rather than at that time" }),
  due: naturalText
    .optional()
    .meta({ description: 'Natural language, read in your time zone: "tomorrow 5pm"' }),
  recurrence: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .nullable()
    .optional()
    .meta({
      description: `An RRULE or words: "every monday", "every 1st at 9am". A rule whose next occurrence (from the due date, or now) cannot be found within ${occurrenceBudgetMs / 1000} s, or within 10,000 of its periods, is refused.`,
    }),
};

export const createTaskSchema = z
  .strictObject({
    title,
    description: description.nullable().optional(),
    priority: z.enum(taskPriorities).optional(),
    categoryId: z.uuid().nullable().optional(),
    tags: tags.optional(),
    ...scheduleFields,
    parentId: z.uuid().nullable().optional(),
    assigneeId: z.uuid().nullable().optional(),
    position: z.number().finite().optional(),
    workspaceId: z.uuid().optional().meta({ description: "Defaults to your personal workspace" }),
  })
  .refine((input) => !(input.dueAt !== undefined && input.due !== undefined), {
    path: ["due"],
    message: "give either dueAt or due, not both",
  })
  .meta({ id: "CreateTask" });

export const updateTaskSchema = z
  .strictObject({
    title: title.optional(),
    description: description.nullable().optional(),
    status: z.enum(taskStatuses).optional(),
    priority: z.enum(taskPriorities).optional(),
    categoryId: z.uuid().nullable().optional(),
    tags: tags.optional(),
    ...scheduleFields,
    parentId: z.uuid().nullable().optional(),
    assigneeId: z.uuid().nullable().optional(),
    position: z.number().finite().optional(),
  })
  .refine((input) => !(input.dueAt !== undefined && input.due !== undefined), {
    path: ["due"],
    message: "give either dueAt or due, not both",
  })
  .meta({ id: "UpdateTask" });

export const quickAddSchema = z
  .strictObject({
    text: z.string().trim().min(1, "must not be empty").max(500, "must be at most 500 characters"),
    workspaceId: z.uuid().optional(),
  })
  .meta({ id: "QuickAdd" });

export const taskSorts = [
  "position",
  "dueAt",
  "priority",
  "createdAt",
  "updatedAt",
  "title",
] as const;
export type TaskSort = (typeof taskSorts)[number];

const booleanString = z.enum(["true", "false"]).transform((value) => value === "true");
const priorityItem = `\\s*(?:${taskPriorities.join("|")})\\s*`;
/** `high,urgent`: checked as a whole so a bad list is named by its parameter, not by an index. */
const priorityList = new RegExp(`^${priorityItem}(?:,${priorityItem})*$`);

export const listTasksQuerySchema = z.strictObject({
  status: z.enum(["open", "completed", "all"]).default("open"),
  priority: z
    .string()
    .regex(priorityList, { error: `must be a comma list of ${taskPriorities.join(", ")}` })
    .meta({ description: `Comma list of ${taskPriorities.join(", ")}, e.g. high,urgent` })
    .transform((value) => value.split(",").map((item) => item.trim()))
    .pipe(
      z.array(
        z.enum(taskPriorities, { error: `must be a comma list of ${taskPriorities.join(", ")}` }),
      ),
    )
    .optional(),
  categoryId: z.uuid().optional(),
  tag: tag.optional(),
  q: z.string().trim().min(1).max(200).optional(),
  dueBefore: isoDateTime.optional(),
  dueAfter: isoDateTime.optional(),
  overdue: booleanString.optional(),
  deleted: booleanString
    .optional()
    .meta({ description: "true lists soft-deleted tasks (the trash) instead of live ones" }),
  workspaceId: z.uuid().optional(),
  assigneeId: z.union([z.literal("me"), z.uuid()]).optional(),
  parentId: z.uuid().optional(),
  sort: z.enum(taskSorts).default("position"),
  order: z.enum(["asc", "desc"]).default("asc"),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export type CreateTaskInput = z.infer<typeof createTaskSchema>;
export type UpdateTaskInput = z.infer<typeof updateTaskSchema>;
export type ListTasksQuery = z.infer<typeof listTasksQuerySchema>;
