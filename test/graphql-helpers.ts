import { expect } from "vitest";
import type { App } from "../src/app.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and checked with expect
export type GraphqlData = Record<string, any>;

export type GraphqlError = {
  message: string;
  path?: Array<string | number>;
  extensions?: { code: string; status?: number; errors?: Array<{ path: string; message: string }> };
};

export type GraphqlAnswer = { status: number; data: GraphqlData | null; errors: GraphqlError[] };

/** POST /graphql with these headers; the status, data and errors (empty when none). */
export async function gql(
  app: App,
  headers: Record<string, string>,
  query: string,
  variables?: Record<string, unknown>,
  operationName?: string,
): Promise<GraphqlAnswer> {
  const response = await app.inject({
    method: "POST",
    url: "/graphql",
    headers,
    payload: {
      query,
      ...(variables ? { variables } : {}),
      ...(operationName ? { operationName } : {}),
    },
  });
  const body = response.json() as { data?: GraphqlData | null; errors?: GraphqlError[] };
  return { status: response.statusCode, data: body.data ?? null, errors: body.errors ?? [] };
}

/** The data of a request that must succeed: status 200 and no errors. */
export async function gqlOk(
  app: App,
  headers: Record<string, string>,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphqlData> {
  const answer = await gql(app, headers, query, variables);
  expect(answer.errors).toEqual([]);
  expect(answer.status).toBe(200);
  return answer.data as GraphqlData;
}
