import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { DomainError } from "../../platform/http/errors.ts";
import { ctxOf, problemResponses, security } from "../../platform/http/route-helpers.ts";
import { checksOwnText } from "../../platform/http/validation.ts";
import { createMcpServer } from "./mcp.ts";

const tags = ["MCP"];

/**
 * One message per POST, as the Streamable HTTP transport has required since
 * MCP 2025-06-18 (which dropped JSON-RPC batches). A batch would run up to
 * 100 tool calls as one request: one rate-limit token for all of them, and
 * (measured) 10 s of quick-add parsing or a 200 MB answer from one POST.
 */
const jsonRpcMessage = z
  .looseObject(
    {
      jsonrpc: z.literal("2.0"),
      id: z.union([z.string(), z.number()]).optional(),
      method: z.string().optional(),
      params: z.record(z.string(), z.unknown()).optional(),
    },
    {
      error: (issue) =>
        Array.isArray(issue.input)
          ? "send one JSON-RPC message per request; batches are not supported (MCP 2025-06-18 and later)"
          : undefined,
    },
  )
  .meta({ id: "JsonRpcMessage", description: "A JSON-RPC 2.0 request, notification or response" });

const description =
  "Model Context Protocol, Streamable HTTP transport (stateless: no Mcp-Session-Id). " +
  "POST one JSON-RPC message with `Accept: application/json, text/event-stream`; the answer " +
  "is JSON. A batch (a JSON array) is refused with 400: MCP has had no batches since " +
  "2025-06-18. Tools: add_task, list_tasks, get_task, search_tasks, update_task, complete_task, " +
  "reopen_task, delete_task, list_categories, get_profile. Authenticated like /v1; every " +
  "tool runs as the caller, and a failed tool call is an MCP tool error (isError) carrying " +
  "the problem fields.";

/** Headers the web Request must not carry: the body is already parsed, the connection is ours. */
const skippedHeaders = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

function toWebRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || skippedHeaders.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return new Request(new URL(request.url, "http://localhost"), { method: "POST", headers });
}

/**
 * `/mcp`. Each POST gets its own server and transport: nothing is kept
 * between requests, so any instance can answer any request. Without
 * sessions there is no server-initiated stream to GET and nothing to
 * DELETE; both answer 405 as the transport spec allows.
 */
export const mcpRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post("/mcp", {
    // Reading is the least a client needs; each tool checks its own scope.
    config: { scope: "tasks:read" },
    schema: {
      tags,
      security,
      summary: "MCP endpoint (Streamable HTTP)",
      description,
      body: checksOwnText(jsonRpcMessage),
      response: {
        200: {
          description: "The JSON-RPC response",
          content: { "application/json": { schema: jsonRpcMessage } },
        },
        202: z.null().describe("Accepted (the message was a notification or response)"),
        ...problemResponses("forbidden", "unsupported_media_type", "payload_too_large"),
      },
    },
    handler: async (request, reply) => {
      const ctx = ctxOf(request);
      const server = createMcpServer(async () => ctx);
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      await server.connect(transport);
      try {
        const answer = await transport.handleRequest(toWebRequest(request), {
          parsedBody: request.body,
        });
        // A web Response: Fastify sends its status, headers and body as they are.
        return reply.send(answer as never);
      } finally {
        await server.close();
      }
    },
  });

  const notOffered = (method: "GET" | "DELETE", summary: string) =>
    app.route({
      method,
      url: "/mcp",
      config: { scope: "tasks:read" },
      schema: {
        tags,
        security,
        summary,
        description: "Answers 405: this server keeps no MCP sessions. Use POST.",
        response: problemResponses("method_not_allowed", "forbidden"),
      },
      handler: async () => {
        throw new DomainError("method_not_allowed", "This MCP server is stateless; use POST", {
          headers: { allow: "POST" },
        });
      },
    });
  notOffered("GET", "MCP server-sent event stream (not offered)");
  notOffered("DELETE", "MCP session end (not offered)");
};
