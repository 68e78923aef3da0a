import {
  type GraphqlContext,
  type GraphqlPart,
  given,
  idArg,
  parseArgs,
  writeContext,
} from "../../platform/http/graphql.ts";
import type { ExpectedVersion } from "../../platform/http/lost-update.ts";
import type { Category } from "../categories/contracts.ts";
import { getCategoriesByIds } from "../categories/service.ts";
import {
  createTaskSchema,
  listTasksQuerySchema,
  quickAddSchema,
  type Task,
  updateTaskSchema,
} from "./contracts.ts";
import { taskPriorities, taskStatuses } from "./schema.ts";
import * as service from "./service.ts";

const typeDefs = `
  enum TaskStatus { ${taskStatuses.join(" ")} }
  enum TaskPriority { ${taskPriorities.join(" ")} }
  enum TaskListStatus { open completed all }
  enum TaskSort { position dueAt priority createdAt updatedAt title }
  enum SortOrder { asc desc }

  "A task, as GET /v1/tasks/{id} shows it; times are ISO 8601 strings."
  type Task {
    id: ID!
    workspaceId: ID!
    title: String!
    description: String
    status: TaskStatus!
    priority: TaskPriority!
    categoryId: ID
    "The task's category (loaded for a whole page at once)."
    category: Category
    tags: [String!]!
    dueAt: String
    allDay: Boolean!
    "RRULE, e.g. FREQ=WEEKLY;BYDAY=MO"
    recurrence: String
    parentId: ID
    assigneeId: ID
    position: Float!
    completedAt: String
    nextOccurrenceId: ID
    createdBy: ID
    createdAt: String!
    updatedAt: String!
    "Pass back as expectedVersion to refuse a change made since you read it."
    version: Int!
  }

  type TaskPage {
    data: [Task!]!
    "Pass as cursor for the next page; null on the last."
    nextCursor: String
  }

  "The filters of GET /v1/tasks."
  input TaskFilter {
    status: TaskListStatus
    priority: [TaskPriority!]
    categoryId: ID
    tag: String
    "Full-text search"
    q: String
    dueBefore: String
    dueAfter: String
    overdue: Boolean
    "true lists the trash instead of live tasks"
    deleted: Boolean
    workspaceId: ID
    "A user id, or me"
    assigneeId: ID
    parentId: ID
  }

  input CreateTaskInput {
    title: String!
    description: String
    priority: TaskPriority
    categoryId: ID
    tags: [String!]
    dueAt: String
    allDay: Boolean
    "Natural language, read in your time zone: tomorrow 5pm"
    due: String
    "An RRULE or words: every monday"
    recurrence: String
    parentId: ID
    assigneeId: ID
    position: Float
    workspaceId: ID
  }

  "Only the fields given change; null clears a field that may be empty."
  input UpdateTaskInput {
    title: String
    description: String
    status: TaskStatus
    priority: TaskPriority
    categoryId: ID
    tags: [String!]
    dueAt: String
    allDay: Boolean
    due: String
    recurrence: String
    parentId: ID
    assigneeId: ID
    position: Float
  }

  extend type Query {
    tasks(filter: TaskFilter, sort: TaskSort, order: SortOrder, limit: Int, cursor: String): TaskPage!
    task(id: ID!): Task!
  }

  extend type Mutation {
    createTask(input: CreateTaskInput!): Task!
    "Quick add: Pay rent every 1st at 9am #Home @finance p1"
    quickAddTask(text: String!, workspaceId: ID): Task!
    updateTask(id: ID!, input: UpdateTaskInput!, expectedVersion: Int): Task!
    completeTask(id: ID!, expectedVersion: Int): Task!
    reopenTask(id: ID!, expectedVersion: Int): Task!
    "Moves the task to the trash; true when done."
    deleteTask(id: ID!, expectedVersion: Int): Boolean!
    restoreTask(id: ID!, expectedVersion: Int): Task!
  }
`;

const pageArgs = new Set(["sort", "order", "limit", "cursor"]);

/** GraphQL's typed filter, as the query parameters of GET /v1/tasks read them. */
function asQuery(args: Record<string, unknown> & { filter?: Record<string, unknown> | null }) {
  const { filter, ...page } = args;
  const query: Record<string, unknown> = given(page);
  for (const [key, value] of Object.entries(given(filter ?? {}))) {
    query[key] = Array.isArray(value) || typeof value === "boolean" ? String(value) : value;
  }
  return query;
}

const version = (expected: number | null | undefined): ExpectedVersion =>
  expected === null || expected === undefined ? undefined : [expected];

export function taskGraphql(options: { quickAdd?: service.QuickAddSplitter } = {}): GraphqlPart {
  return {
    typeDefs,
    resolvers: {
      Query: {
        tasks: (_root, args, context: GraphqlContext) =>
          service.listTasks(
            context.ctx,
            parseArgs(listTasksQuerySchema, asQuery(args), (path) =>
              pageArgs.has(path[0] ?? "") ? path.join(".") : ["filter", ...path].join("."),
            ),
          ),
        task: (_root, args, context: GraphqlContext) => service.getTask(context.ctx, idArg(args)),
      },
      Mutation: {
        createTask: (_root, args, context: GraphqlContext) =>
          service.createTask(
            writeContext(context),
            parseArgs(createTaskSchema, args.input, "input"),
          ),
        quickAddTask: (_root, args, context: GraphqlContext) =>
          service.quickAddTask(
            writeContext(context),
            parseArgs(
              quickAddSchema,
              given({ text: args.text, workspaceId: args.workspaceId }),
              "",
            ),
            options.quickAdd,
          ),
        updateTask: (_root, args, context: GraphqlContext) =>
          service.updateTask(
            writeContext(context),
            idArg(args),
            parseArgs(updateTaskSchema, args.input, "input"),
            version(args.expectedVersion),
          ),
        completeTask: (_root, args, context: GraphqlContext) =>
          service.completeTask(writeContext(context), idArg(args), version(args.expectedVersion)),
        reopenTask: (_root, args, context: GraphqlContext) =>
          service.reopenTask(writeContext(context), idArg(args), version(args.expectedVersion)),
        deleteTask: async (_root, args, context: GraphqlContext) => {
          await service.deleteTask(
            writeContext(context),
            idArg(args),
            version(args.expectedVersion),
          );
          return true;
        },
        restoreTask: (_root, args, context: GraphqlContext) =>
          service.restoreTask(writeContext(context), idArg(args), version(args.expectedVersion)),
      },
    },
    loaders: {
      Task: {
        // One read for every task of a page that has a category.
        category: async (queries: Array<{ obj: Task }>, context: GraphqlContext) => {
          const ids = [
            ...new Set(queries.flatMap(({ obj }) => (obj.categoryId ? [obj.categoryId] : []))),
          ];
          const found = new Map<string, Category>(
            (await getCategoriesByIds(context.ctx, ids)).map((category) => [category.id, category]),
          );
          return queries.map(({ obj }) =>
            obj.categoryId ? (found.get(obj.categoryId) ?? null) : null,
          );
        },
      },
    },
  };
}
