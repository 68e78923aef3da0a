import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
import {
  type ASTVisitor,
  GraphQLError,
  type GraphQLFormattedError,
  GraphQLScalarType,
  Kind,
  type ValidationContext,
} from "graphql";
import mercurius, {
  type IResolvers,
  type MercuriusContext,
  type MercuriusLoaders,
} from "mercurius";
import { z } from "zod";
import { assertGranted, type Scope } from "../auth/scopes.ts";
import type { Context } from "../context.ts";
import { DomainError, type FieldError } from "./errors.ts";
import { problemSchema, toDomainError } from "./problem.ts";
import { ctxOf, problemResponses, security } from "./route-helpers.ts";

/** What every resolver gets: the request's verb context, as REST handlers do. */
export type GraphqlContext = MercuriusContext & { ctx: Context };

/** One module's share of the schema: SDL, its resolvers and its batch loaders. */
export type GraphqlPart = {
  typeDefs: string;
  resolvers: IResolvers<unknown, GraphqlContext>;
  loaders?: MercuriusLoaders<GraphqlContext>;
};

/**
 * Bounds on one request, so a small document cannot ask for unbounded work:
 * its text, its tokens, its nesting, and its root fields (each one runs at
 * least one verb, so aliases would otherwise multiply a request's queries).
 */
export const graphqlLimits = {
  maxQueryLength: 20_000,
  maxTokens: 3_000,
  maxDepth: 10,
  maxRootFields: 20,
} as const;

/** JSON the server sends (activity changes); clients never send it. */
const jsonScalar = new GraphQLScalarType({
  name: "JSON",
  serialize: (value) => value,
  parseValue: () => {
    throw new TypeError("JSON values are output only");
  },
  parseLiteral: () => {
    throw new TypeError("JSON values are output only");
  },
});

/** The shared SDL every part may use. */
const baseTypeDefs = `
  "Arbitrary JSON (an activity's changes)."
  scalar JSON
  type Query
  type Mutation
`;

const requestSchema = z
  .strictObject({
    query: z
      .string()
      .min(1, "must not be empty")
      .max(
        graphqlLimits.maxQueryLength,
        `must be at most ${graphqlLimits.maxQueryLength} characters`,
      ),
    operationName: z.string().max(200).nullable().optional(),
    variables: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .meta({ id: "GraphqlRequest" });

const graphqlError = z.object({
  message: z.string(),
  locations: z.array(z.object({ line: z.number(), column: z.number() })).optional(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
  extensions: z
    .object({
      code: z.string(),
      status: z.number().int().optional(),
      errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    })
    .optional(),
});

const responseSchema = z
  .object({
    data: z.record(z.string(), z.unknown()).nullable().optional(),
    errors: z.array(graphqlError).optional(),
  })
  .meta({ id: "GraphqlResponse" });

const description =
  "GraphQL over the same verbs and rules as /v1. Send `{query, variables, operationName}` " +
  "as JSON; the schema is open to introspection. A document that does not parse or " +
  "validate, or whose variables do not fit, answers 400 with `errors` (extensions.code " +
  "`validation_failed`). Failures while resolving answer 200 with `errors`, each with " +
  "`extensions.code` from the REST error codes (`not_found`, `forbidden`, " +
  "`validation_failed` with `extensions.errors` naming the fields, ...). Limits: " +
  `${graphqlLimits.maxQueryLength} characters, ${graphqlLimits.maxTokens} tokens, ` +
  `depth ${graphqlLimits.maxDepth}, ${graphqlLimits.maxRootFields} root fields per operation. ` +
  "An API key needs tasks:read to call it and tasks:write for mutations.";

/**
 * The root fields of an operation, aliases included, may not exceed
 * `maxRootFields`. (Fragments spread at the root count as their fields.)
 */
function rootFieldLimit(max: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      let count = 0;
      const pending = [...node.selectionSet.selections];
      while (pending.length > 0 && count <= max) {
        const selection = pending.pop();
        if (!selection) break;
        if (selection.kind === Kind.FIELD) count++;
        else if (selection.kind === Kind.INLINE_FRAGMENT) {
          pending.push(...selection.selectionSet.selections);
        } else {
          const fragment = context.getFragment(selection.name.value);
          if (fragment) pending.push(...fragment.selectionSet.selections);
        }
      }
      if (count > max) {
        context.reportError(
          new GraphQLError(`An operation may select at most ${max} root fields`, { nodes: node }),
        );
      }
    },
  });
}

/** One resolver error in the API's taxonomy; anything unexpected is logged and hidden. */
function formatError(error: GraphQLError, log: FastifyBaseLogger): GraphQLFormattedError {
  const cause = error.originalError ?? error;
  const domain = toDomainError(cause);
  if (domain.status >= 500) log.error({ err: cause, path: error.path }, "graphql resolver failed");
  return {
    message: domain.message,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: {
      code: domain.code,
      status: domain.status,
      ...(domain.errors ? { errors: domain.errors } : {}),
    },
  };
}

/** Errors of the document itself (syntax, validation, variables): a 400 naming no field. */
function requestErrors(errors: readonly Error[]): GraphQLFormattedError[] {
  return errors.map((error) => ({
    message: error.message,
    ...(error instanceof GraphQLError && error.locations ? { locations: error.locations } : {}),
    extensions: { code: "validation_failed", status: 400 },
  }));
}

/**
 * Resolver arguments through a module's zod contract: the same rules as
 * REST, and a validation error naming each field by its path from the
 * argument (`input.title`).
 */
export function parseArgs<T extends z.ZodType>(
  schema: T,
  value: unknown,
  root: string | ((path: string[]) => string),
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const name =
    typeof root === "function"
      ? root
      : (path: string[]) => [root, ...path].filter(Boolean).join(".");
  const errors: FieldError[] = parsed.error.issues.slice(0, 20).map((issue) => ({
    path: name(issue.path.map(String)) || "arguments",
    message: issue.message,
  }));
  throw new DomainError(
    "validation_failed",
    errors.map((entry) => `${entry.path}: ${entry.message}`).join("; "),
    { errors },
  );
}

/** A mutation's scope check: API keys need `scope`, as on the REST route. */
export function requireScope(context: GraphqlContext, scope: Scope, what: string): Context {
  assertGranted(context.ctx.actor, scope, what);
  return context.ctx;
}

/** Merges per type: several parts add fields to Query, Mutation or a shared type. */
function byType<T extends Record<string, unknown>>(maps: T[]): T {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) {
      const into = merged[type] ?? {};
      merged[type] = into;
      for (const name of Object.keys(fields as object)) {
        if (name in into) throw new Error(`GraphQL field ${type}.${name} is defined twice`);
      }
      Object.assign(into, fields);
    }
  }
  return merged as T;
}

/**
 * `POST /graphql`: Mercurius executes (parse cache, JIT after one run, batch
 * loaders per request) but the route is ours, inside the authenticated
 * scope, so credentials, the Origin check, rate limits and the request's
 * verb context are those of /v1. Only POST: a GET would let a cookie ride
 * on cross-site links.
 */
export function graphqlRoutes(parts: GraphqlPart[]): FastifyPluginAsyncZod {
  return async (app: FastifyInstance) => {
    await app.register(mercurius, {
      schema: [baseTypeDefs, ...parts.map((part) => part.typeDefs)],
      resolvers: { JSON: jsonScalar, ...byType(parts.map((part) => part.resolvers)) },
      // Mercurius types loaders for its own context; ours extends it with ctx.
      loaders: byType(parts.map((part) => part.loaders ?? {})) as MercuriusLoaders,
      routes: false,
      graphiql: false,
      jit: 1,
      cache: 1024,
      queryDepth: graphqlLimits.maxDepth,
      graphql: { parseOptions: { maxTokens: graphqlLimits.maxTokens } },
      validationRules: [rootFieldLimit(graphqlLimits.maxRootFields)],
      errorFormatter: (execution, context) =>
        // No data at all: the request failed before execution (variables
        // that do not fit, found by graphql-jit's compiled coercion).
        execution.data === undefined
          ? { statusCode: 400, response: { errors: requestErrors(execution.errors) } }
          : {
              statusCode: 200,
              response: {
                data: execution.data,
                errors: execution.errors.map((error) => formatError(error, context.reply.log)),
              },
            },
    });
    app.withTypeProvider<ZodTypeProvider>().post("/graphql", {
      config: { scope: "tasks:read" },
      schema: {
        tags: ["GraphQL"],
        security,
        summary: "GraphQL endpoint",
        description,
        body: requestSchema,
        response: {
          200: responseSchema.describe("The result; resolver failures are in errors"),
          ...problemResponses(
            "unsupported_media_type",
            "payload_too_large",
            "idempotency_key_in_use",
            "idempotency_key_reused",
          ),
          400: {
            description:
              "A document that does not parse or validate (GraphQL errors), or a body that is not a GraphQL request (problem+json)",
            content: {
              "application/json": { schema: responseSchema },
              "application/problem+json": { schema: problemSchema },
            },
          },
        },
      },
      handler: async (request, reply) => {
        const { query, variables, operationName } = request.body;
        try {
          // Errors come back through errorFormatter, already in their JSON form.
          return (await reply.graphql(
            query,
            { ctx: ctxOf(request) } as GraphqlContext,
            variables ?? undefined,
            operationName ?? undefined,
          )) as z.infer<typeof responseSchema>;
        } catch (error) {
          const errors = (error as { errors?: Error[]; statusCode?: number }).errors;
          if (!Array.isArray(errors)) throw error;
          return reply.code(400).send({ errors: requestErrors(errors) });
        }
      },
    });
  };
}
