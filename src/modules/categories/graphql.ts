import {
  type GraphqlContext,
  type GraphqlPart,
  given,
  idArg,
  parseArgs,
  writeContext,
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

export const categoryGraphql: GraphqlPart = {
  typeDefs,
  resolvers: {
    Query: {
      categories: (_root, args, context: GraphqlContext) =>
        service.listCategories(context.ctx, parseArgs(listCategoriesQuerySchema, given(args), "")),
      category: (_root, args, context: GraphqlContext) =>
        service.getCategory(context.ctx, idArg(args)),
    },
    Mutation: {
      createCategory: (_root, args, context: GraphqlContext) =>
        service.createCategory(
          writeContext(context),
          parseArgs(createCategorySchema, args.input, "input"),
        ),
      updateCategory: (_root, args, context: GraphqlContext) =>
        service.updateCategory(
          writeContext(context),
          idArg(args),
          parseArgs(updateCategorySchema, args.input, "input"),
        ),
      deleteCategory: async (_root, args, context: GraphqlContext) => {
        await service.deleteCategory(writeContext(context), idArg(args));
        return true;
      },
    },
  },
};
