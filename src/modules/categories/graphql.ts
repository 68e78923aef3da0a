import { idParams } from "../../platform/http/fields.ts";
import {
  type GraphqlContext,
  type GraphqlPart,
  given,
  parseArgs,
  requireScope,
} from "../../platform/http/graphql.ts";
import {
  createCategorySchema,
  listCategoriesQuerySchema,
  updateCategorySchema,
} from "./contracts.ts";
import * as service from "./service.ts";

const typeDefs = `
  type Category {
    id: ID!
    workspaceId: ID!
    name: String!
    "A hex colour like #3b82f6"
    color: String
    position: Float!
    "Live (not deleted) tasks in the category"
    taskCount: Int!
    createdAt: String!
    updatedAt: String!
  }

  type CategoryPage {
    data: [Category!]!
    nextCursor: String
  }

  input CreateCategoryInput {
    name: String!
    color: String
    position: Float
    workspaceId: ID
  }

  input UpdateCategoryInput {
    name: String
    color: String
    position: Float
  }

  extend type Query {
    categories(workspaceId: ID, limit: Int, cursor: String): CategoryPage!
    category(id: ID!): Category!
  }

  extend type Mutation {
    createCategory(input: CreateCategoryInput!): Category!
    updateCategory(id: ID!, input: UpdateCategoryInput!): Category!
    "Deletes the category; its tasks stay, uncategorised. True when done."
    deleteCategory(id: ID!): Boolean!
  }
`;

const id = (args: { id: unknown }) => parseArgs(idParams, { id: args.id }, "").id;
const write = (context: GraphqlContext) => requireScope(context, "tasks:write", "This mutation");

export const categoryGraphql: GraphqlPart = {
  typeDefs,
  resolvers: {
    Query: {
      categories: (_root, args, context: GraphqlContext) =>
        service.listCategories(context.ctx, parseArgs(listCategoriesQuerySchema, given(args), "")),
      category: (_root, args, context: GraphqlContext) =>
        service.getCategory(context.ctx, id(args)),
    },
    Mutation: {
      createCategory: (_root, args, context: GraphqlContext) =>
        service.createCategory(
          write(context),
          parseArgs(createCategorySchema, args.input, "input"),
        ),
      updateCategory: (_root, args, context: GraphqlContext) =>
        service.updateCategory(
          write(context),
          id(args),
          parseArgs(updateCategorySchema, args.input, "input"),
        ),
      deleteCategory: async (_root, args, context: GraphqlContext) => {
        await service.deleteCategory(write(context), id(args));
        return true;
      },
    },
  },
};
