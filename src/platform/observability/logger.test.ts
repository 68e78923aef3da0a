import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { signUp, useSecondInstance, useTestApp } from "../../../test/harness.ts";

type Line = {
  level: number;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string; headers?: unknown };
  res?: { statusCode: number };
  responseTime?: number;
};

const t = useTestApp();
const lines: Line[] = [];
const stream = new PassThrough();
stream.setEncoding("utf8");
let pending = "";
stream.on("data", (chunk: string) => {
  pending += chunk;
  const complete = pending.split("\n");
  pending = complete.pop() ?? "";
  for (const line of complete) if (line) lines.push(JSON.parse(line) as Line);
});
const logged = useSecondInstance(t, { logLevel: "info", logStream: stream });

describe("access log", () => {
  it("writes one line per answered request, with method, URL, status, time and request id", async () => {
    const user = await signUp(t.app);
    lines.length = 0;
    const response = await logged.app.inject({
      method: "GET",
      url: "/v1/tasks?limit=5",
      headers: { ...user.headers, "x-request-id": "access-log-test-1" },
    });
    expect(response.statusCode).toBe(200);
    const missing = await logged.app.inject({ method: "GET", url: "/v1/nothing-here" });
    expect(missing.statusCode).toBe(404);

    const requestLines = lines.filter((line) => line.reqId !== undefined);
    expect(requestLines.map((line) => line.msg)).toEqual([
      "request completed",
      "request completed",
    ]);
    const [first, second] = requestLines;
    expect(first).toMatchObject({
      level: 30,
      reqId: "access-log-test-1",
      req: { method: "GET", url: "/v1/tasks?limit=5" },
      res: { statusCode: 200 },
    });
    expect(first?.responseTime).toBeGreaterThan(0);
    expect(second).toMatchObject({ req: { url: "/v1/nothing-here" }, res: { statusCode: 404 } });
    // The bearer token is in no line.
    expect(JSON.stringify(lines)).not.toContain(user.headers.authorization.slice(7));
  });
});
