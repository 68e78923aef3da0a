import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
import {
  type ASTVisitor,
  GraphQLError,
  type GraphQLFormattedError,
  GraphQLScalarType,
  Kind,
  type SelectionNode,
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
import { DomainError, zodInvalid } from "./errors.ts";
import { idParams } from "./fields.ts";
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
  // The standard introspection query (GraphiQL, codegen) is 15 deep; our
  // own types nest 4 at most.
  maxDepth: 15,
  maxRootFields: 20,
  maxFields: 500,
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
  "`validation_failed` with `extensions.errors` naming the fields, ...), except that a " +
  "failure worth retrying (`unavailable` and other 5xx codes) answers that status with " +
  "Retry-After, so a retry with the same Idempotency-Key runs again. Limits: " +
  `${graphqlLimits.maxQueryLength} characters, ${graphqlLimits.maxTokens} tokens, ` +
  `depth ${graphqlLimits.maxDepth}, ${graphqlLimits.maxRootFields} root fields and ` +
  `${graphqlLimits.maxFields} fields in all (fragments expanded) per operation. ` +
  "An API key needs tasks:read to call it and, for mutations, the scope the REST route " +
  "needs (tasks:write; workspaces:admin for workspaces and members).";

/**
 * Fields an operation selects with every fragment spread where it is used
 * (aliases included): `root` at its top level, `total` at any depth. Each
 * fragment is counted once and reused, so a document that spreads a large
 * fragment many times costs its count, not its size; a fragment that spreads
 * itself (which validation refuses anyway) counts nothing where it recurs.
 */
function fieldCounts(
  selections: readonly SelectionNode[],
  context: ValidationContext,
  fragments: Map<string, { root: number; total: number } | "counting">,
): { root: number; total: number } {
  let root = 0;
  let total = 0;
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) {
      root += 1;
      total +=
        1 +
        (selection.selectionSet
          ? fieldCounts(selection.selectionSet.selections, context, fragments).total
          : 0);
      continue;
    }
    let counted: { root: number; total: number };
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      counted = fieldCounts(selection.selectionSet.selections, context, fragments);
    } else {
      const name = selection.name.value;
      const known = fragments.get(name);
      if (known === "counting") continue;
      if (known) counted = known;
      else {
        const fragment = context.getFragment(name);
        fragments.set(name, "counting");
        counted = fragment
          ? fieldCounts(fragment.selectionSet.selections, context, fragments)
          : { root: 0, total: 0 };
        fragments.set(name, counted);
      }
    }
    root += counted.root;
    total += counted.total;
  }
  return { root, total };
}

/**
 * An operation may select at most `maxRootFields` root fields (each runs
 * at least one verb) and `maxFields` fields in all, fragments expanded
 * (each list field repeats its selection for up to 100 items).
 */
function selectionLimits(maxRoot: number, maxFields: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const counts = fieldCounts(node.selectionSet.selections, context, new Map());
      if (counts.root > maxRoot) {
        context.reportError(
          new GraphQLError(`An operation may select at most ${maxRoot} root fields`, {
            nodes: node,
          }),
        );
      }
      if (counts.total > maxFields) {
        context.reportError(
          new GraphQLError(
            `An operation may select at most ${maxFields} fields, fragments expanded (this one: ${counts.total})`,
            { nodes: node },
          ),
        );
      }
    },
  });
}

/**
 * One error of an execution in the API's taxonomy; anything unexpected is
 * logged and hidden. An error with neither a cause nor a path is about the
 * document (an operation the schema cannot run, such as a subscription).
 */
function describeError(
  error: GraphQLError,
  log: FastifyBaseLogger,
): { formatted: GraphQLFormattedError; domain: DomainError } {
  const domain =
    error.originalError === undefined && error.path === undefined
      ? new DomainError("validation_failed", error.message)
      : toDomainError(error.originalError ?? error);
  if (domain.status >= 500) {
    log.error({ err: error.originalError ?? error, path: error.path }, "graphql resolver failed");
  }
  const formatted = {
    message: domain.message,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: {
      code: domain.code,
      status: domain.status,
      ...(domain.errors ? { errors: domain.errors } : {}),
    },
  };
  return { formatted, domain };
}

/**
 * The HTTP status of an executed document: 200, as GraphQL answers partial
 * failures, except that a failure the client should retry (5xx: the
 * database busy or unreachable) makes it that status, with its headers
 * (Retry-After), so a retry with the same Idempotency-Key runs again
 * instead of replaying the failure; and a document that could not run at
 * all answers 400.
 */
function executionStatus(
  data: unknown,
  failures: Array<{ formatted: GraphQLFormattedError; domain: DomainError }>,
  reply: FastifyReply,
): number {
  const retryable = failures.filter((failure) => failure.domain.status >= 500);
  if (retryable.length > 0) {
    for (const failure of retryable)
      if (failure.domain.headers) reply.headers(failure.domain.headers);
    return Math.max(...retryable.map((failure) => failure.domain.status));
  }
  if (data === null && failures.every((failure) => failure.formatted.path === undefined)) {
    return 400;
  }
  return 200;
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
  throw zodInvalid(parsed.error, (path) => name(path) || "arguments");
}

/**
 * Arguments as the REST contracts read them: GraphQL passes an argument a
 * client wrote as `null` as null, where the contract's optional fields
 * expect it absent. Only null and undefined go: an empty string stays, and
 * fails the contract like it does over REST.
 */
export function given(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).filter(([, value]) => value !== null && value !== undefined),
  );
}

/**
 * A mutation's context: an API key needs `scope` (tasks:write unless the
 * REST route asks for another), as on the REST routes.
 */
export function writeContext(context: GraphqlContext, scope: Scope = "tasks:write"): Context {
  assertGranted(context.ctx.actor, scope, "This mutation");
  return context.ctx;
}

/** The `id` argument, checked as a REST path's id is. */
export function idArg(args: { id?: unknown }): string {
  return parseArgs(idParams, { id: args.id }, "").id;
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

/** An answer that is GraphQL's JSON or, before the document runs, problem+json. */
const graphqlOrProblem = (description: string) => ({
  description,
  content: {
    "application/json": { schema: responseSchema },
    "application/problem+json": { schema: problemSchema },
  },
});

/**
 * `POST /graphql`: Mercurius executes (parse and validation cache, batch
 * loaders per request; no JIT: Mercurius keys compiled documents by their
 * text alone, so a document with two operations ran the first caller's
 * operation for the next) but the route is ours, inside the authenticated
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
      cache: 1024,
      queryDepth: graphqlLimits.maxDepth,
      graphql: { parseOptions: { maxTokens: graphqlLimits.maxTokens } },
      validationRules: [selectionLimits(graphqlLimits.maxRootFields, graphqlLimits.maxFields)],
      errorFormatter: (execution, context) => {
        // No data at all: the request failed before execution.
        if (execution.data === undefined) {
          return { statusCode: 400, response: { errors: requestErrors(execution.errors) } };
        }
        const failures = execution.errors.map((error) => describeError(error, context.reply.log));
        return {
          statusCode: executionStatus(execution.data, failures, context.reply),
          response: { data: execution.data, errors: failures.map((failure) => failure.formatted) },
        };
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
          400: graphqlOrProblem(
            "A document that does not parse, validate or run (GraphQL errors), or a body that is not a GraphQL request (problem+json)",
          ),
          ...Object.fromEntries(
            [500, 502, 503, 504].map((status) => [
              status,
              graphqlOrProblem(
                "A failure worth retrying (GraphQL errors with their code, and Retry-After where known), or problem+json before the document ran",
              ),
            ]),
          ),
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
