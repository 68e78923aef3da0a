import {
  type GraphqlContext,
  type GraphqlPart,
  given,
  idArg,
  parseArgs,
  writeContext,
} from "../../platform/http/graphql.ts";
import { listNotificationsQuerySchema, markAllReadSchema } from "./contracts.ts";
import { notificationReasons } from "./schema.ts";
import * as service from "./service.ts";

const typeDefs = `
  enum NotificationReason { ${notificationReasons.join(" ")} }

  "An activity event someone else caused, and why you are told (GET /v1/notifications)."
  type Notification {
    id: ID!
    reason: NotificationReason!
    read: Boolean!
    readAt: String
    createdAt: String!
    activity: Activity!
  }

  type NotificationPage {
    data: [Notification!]!
    nextCursor: String
    "All your unread notifications"
    unreadCount: Int!
  }

  extend type Query {
    notifications(unread: Boolean, limit: Int, cursor: String): NotificationPage!
  }

  extend type Mutation {
    markNotificationRead(id: ID!): Notification!
    "Marks every unread one read, or only upTo and older; answers how many."
    markAllNotificationsRead(upTo: ID): Int!
  }
`;

export const notificationGraphql: GraphqlPart = {
  typeDefs,
  resolvers: {
    Query: {
      notifications: (_root, args, context: GraphqlContext) =>
        service.listNotifications(
          context.ctx,
          parseArgs(
            listNotificationsQuerySchema,
            given({
              ...args,
              unread: typeof args.unread === "boolean" ? String(args.unread) : null,
            }),
            "",
          ),
        ),
    },
    Mutation: {
      markNotificationRead: (_root, args, context: GraphqlContext) =>
        service.markRead(writeContext(context), idArg(args)),
      markAllNotificationsRead: async (_root, args, context: GraphqlContext) => {
        const input = parseArgs(markAllReadSchema, given({ upTo: args.upTo }), "");
        const { marked } = await service.markAllRead(writeContext(context), input);
        return marked;
      },
    },
  },
};
