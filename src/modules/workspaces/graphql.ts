import { z } from "zod";
import { uuid } from "../../platform/http/fields.ts";
import {
  type GraphqlContext,
  type GraphqlPart,
  given,
  idArg,
  parseArgs,
  writeContext,
} from "../../platform/http/graphql.ts";
import {
  changeRoleSchema,
  createWorkspaceSchema,
  memberParamsSchema,
  pageQuerySchema,
  updateWorkspaceSchema,
} from "./contracts.ts";
import * as members from "./members.ts";
import { workspaceRoles } from "./schema.ts";
import * as service from "./service.ts";

const typeDefs = `
  enum WorkspaceRole { ${workspaceRoles.join(" ")} }

  "A workspace you belong to, as GET /v1/workspaces/{id} shows it."
  type Workspace {
    id: ID!
    name: String!
    "A user's own workspace: one member, not deletable"
    personal: Boolean!
    "Your role in the workspace"
    role: WorkspaceRole!
    memberCount: Int!
    "Redact e-mail addresses, phone and card numbers before this workspace's text goes to an external AI provider; null: the deployment's default"
    aiRedactPii: Boolean
    createdAt: String!
    updatedAt: String!
  }

  type WorkspacePage {
    data: [Workspace!]!
    nextCursor: String
  }

  type Member {
    userId: ID!
    name: String!
    email: String!
    role: WorkspaceRole!
    joinedAt: String!
  }

  type MemberPage {
    data: [Member!]!
    nextCursor: String
  }

  input CreateWorkspaceInput {
    name: String!
  }

  input UpdateWorkspaceInput {
    name: String
    "true or false overrides the deployment's default; null restores it"
    aiRedactPii: Boolean
  }

  extend type Query {
    workspaces(limit: Int, cursor: String): WorkspacePage!
    workspace(id: ID!): Workspace!
    "A workspace's members, in joining order."
    members(workspaceId: ID!, limit: Int, cursor: String): MemberPage!
  }

  extend type Mutation {
    "Creates a shared workspace; you become its owner."
    createWorkspace(input: CreateWorkspaceInput!): Workspace!
    "Renames a workspace or sets its AI redaction (admins and owners)."
    updateWorkspace(id: ID!, input: UpdateWorkspaceInput!): Workspace!
    "Deletes a workspace with its tasks and categories (owners). True when done."
    deleteWorkspace(id: ID!): Boolean!
    "Changes a member's role (owners)."
    changeMemberRole(workspaceId: ID!, userId: ID!, role: WorkspaceRole!): Member!
    "Removes a member, or leaves when it is you. True when done."
    removeMember(workspaceId: ID!, userId: ID!): Boolean!
    "Makes a member the owner (owners); you become admin."
    transferOwnership(workspaceId: ID!, userId: ID!): Workspace!
  }
`;

const membersArgs = z.strictObject({ workspaceId: uuid, ...pageQuerySchema.shape });

/** A member's `(workspaceId, userId)` arguments, named as the client wrote them. */
function memberArgs(args: { workspaceId?: unknown; userId?: unknown }) {
  const { id, userId } = parseArgs(
    memberParamsSchema,
    { id: args.workspaceId, userId: args.userId },
    (path) => (path[0] === "id" ? "workspaceId" : path.join(".")),
  );
  return { workspaceId: id, userId };
}

/**
 * Workspaces and their members over GraphQL, with the REST routes' rules:
 * reads need tasks:read, changes workspaces:admin. Invitations stay REST
 * only (their mail and accept link belong to the HTTP surface).
 */
export function workspaceGraphql(options: {
  /** As on the REST routes: a rename or deletion reaches caches that hold the workspace. */
  onWorkspaceChanged?: (workspaceId: string) => void;
}): GraphqlPart {
  const admin = (context: GraphqlContext) => writeContext(context, "workspaces:admin");
  return {
    typeDefs,
    resolvers: {
      Query: {
        workspaces: (_root, args, context: GraphqlContext) =>
          service.listWorkspaces(context.ctx, parseArgs(pageQuerySchema, given(args), "")),
        workspace: async (_root, args, context: GraphqlContext) =>
          (await service.getWorkspaceWithVersion(context.ctx, idArg(args))).workspace,
        members: (_root, args, context: GraphqlContext) => {
          const { workspaceId, ...page } = parseArgs(membersArgs, given(args), "");
          return members.listMembers(context.ctx, workspaceId, page);
        },
      },
      Mutation: {
        createWorkspace: (_root, args, context: GraphqlContext) =>
          service.createWorkspace(
            admin(context),
            parseArgs(createWorkspaceSchema, args.input, "input"),
          ),
        // The scope first, as over REST: a key without it learns nothing of its arguments.
        updateWorkspace: async (_root, args, context: GraphqlContext) => {
          const ctx = admin(context);
          const id = idArg(args);
          // An absent name stays; a null aiRedactPii restores the default.
          const { aiRedactPii, ...rest } = (args.input ?? {}) as Record<string, unknown>;
          const input = parseArgs(
            updateWorkspaceSchema,
            { ...given(rest), ...(aiRedactPii === undefined ? {} : { aiRedactPii }) },
            "input",
          );
          const { workspace } = await service.updateWorkspace(ctx, id, input);
          options.onWorkspaceChanged?.(id);
          return workspace;
        },
        deleteWorkspace: async (_root, args, context: GraphqlContext) => {
          const ctx = admin(context);
          const id = idArg(args);
          await service.deleteWorkspace(ctx, id);
          options.onWorkspaceChanged?.(id);
          return true;
        },
        changeMemberRole: (_root, args, context: GraphqlContext) => {
          const ctx = admin(context);
          const { workspaceId, userId } = memberArgs(args);
          const input = parseArgs(changeRoleSchema, { role: args.role }, "");
          return members.changeMemberRole(ctx, workspaceId, userId, input);
        },
        removeMember: async (_root, args, context: GraphqlContext) => {
          const ctx = admin(context);
          const { workspaceId, userId } = memberArgs(args);
          await members.removeMember(ctx, workspaceId, userId);
          return true;
        },
        transferOwnership: (_root, args, context: GraphqlContext) => {
          const ctx = admin(context);
          const { workspaceId, userId } = memberArgs(args);
          return members.transferOwnership(ctx, workspaceId, { userId });
        },
      },
    },
  };
}
