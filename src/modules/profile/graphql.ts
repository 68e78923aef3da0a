import { z } from "zod";
import { queryInteger } from "../../platform/http/fields.ts";
import { type GraphqlContext, type GraphqlPart, parseArgs } from "../../platform/http/graphql.ts";
import * as service from "./service.ts";

const typeDefs = `
  type WorkspaceMembership {
    id: ID!
    name: String!
    role: String!
  }

  type TaskStats {
    open: Int!
    overdue: Int!
    "Open tasks due today in your time zone"
    dueToday: Int!
    completedLast7Days: Int!
  }

  type ActivityActor {
    type: String!
    id: String
    name: String
  }

  type ActivityEntity {
    type: String!
    id: ID!
    title: String
  }

  "One entry of the activity trail."
  type Activity {
    id: ID!
    type: String!
    actor: ActivityActor!
    entity: ActivityEntity!
    "Per changed field: { from, to }; on creation the initial values"
    changes: JSON!
    workspaceId: ID
    createdAt: String!
  }

  "You, as GET /v1/me shows you."
  type Profile {
    id: ID!
    email: String!
    name: String!
    image: String
    timezone: String!
    createdAt: String!
    workspaces: [WorkspaceMembership!]!
    stats: TaskStats!
    "What you did, newest first (read only when asked for)."
    recentActivity(limit: Int = 20): [Activity!]!
  }

  extend type Query {
    me: Profile!
  }
`;

const activityArgs = z.strictObject({ limit: queryInteger({ min: 1, max: 100, default: 20 }) });

export const profileGraphql: GraphqlPart = {
  typeDefs,
  resolvers: {
    Query: {
      me: (_root, _args, context: GraphqlContext) =>
        service.getProfile(context.ctx, { activityLimit: 0 }),
    },
    Profile: {
      recentActivity: async (_profile: unknown, args, context: GraphqlContext) => {
        const { limit } = parseArgs(activityArgs, args, "");
        return (await service.listMyActivity(context.ctx, { limit })).data;
      },
    },
  },
};
