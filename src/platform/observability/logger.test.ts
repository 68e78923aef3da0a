import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { signUp, useSecondInstance, useTestApp } from "../../../test/harness.ts";
import { urlForLog } from "./logger.ts";

type Line = {
  level: number;
  msg: string;
  reqId?: string;
  userId?: string;
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
      userId: user.id,
      req: { method: "GET", url: "/v1/tasks?limit=5" },
      res: { statusCode: 200 },
    });
    expect(first?.responseTime).toBeGreaterThan(0);
    expect(second).toMatchObject({ req: { url: "/v1/nothing-here" }, res: { statusCode: 404 } });
    expect(second).not.toHaveProperty("userId");
    // The bearer token is in no line.
    expect(JSON.stringify(lines)).not.toContain(user.headers.authorization.slice(7));
  });
});

describe("secrets in URLs", () => {
  it("are masked in the access line: OAuth callback code and state, verification and reset tokens", async () => {
    lines.length = 0;
    const urls = [
      "/api/auth/oauth2/callback/acme?code=SECRETCODE123&state=SECRETSTATE456",
      "/api/auth/verify-email?token=VERIFYTOKEN789&callbackURL=%2Fdone",
      "/api/auth/reset-password/RESETTOKEN012?callbackURL=%2Freset",
    ];
    for (const url of urls) await logged.app.inject({ method: "GET", url });

    const answered = lines
      .filter((line) => line.msg === "request completed")
      .map((l) => l.req?.url);
    expect(answered).toEqual([
      "/api/auth/oauth2/callback/acme?code=[redacted]&state=[redacted]",
      "/api/auth/verify-email?token=[redacted]&callbackURL=%2Fdone",
      "/api/auth/reset-password/[redacted]?callbackURL=%2Freset",
    ]);
    const text = JSON.stringify(lines);
    for (const secret of ["SECRETCODE123", "SECRETSTATE456", "VERIFYTOKEN789", "RESETTOKEN012"]) {
      expect(text).not.toContain(secret);
    }
  });

  it.each([
    ["/v1/tasks?status=open&sort=dueAt&q=token", "/v1/tasks?status=open&sort=dueAt&q=token"],
    ["/v1/tasks?codes=1&statement=2", "/v1/tasks?codes=1&statement=2"],
    [
      "/v1/tasks/0193a1b2-c3d4-7e5f-8a9b-0123456789ab",
      "/v1/tasks/0193a1b2-c3d4-7e5f-8a9b-0123456789ab",
    ],
    [
      "/x?access_token=a&id_token=b&refresh_token=c",
      "/x?access_token=[redacted]&id_token=[redacted]&refresh_token=[redacted]",
    ],
    [
      "/x?client_secret=a&password=b&api_key=c&apiKey=d",
      "/x?client_secret=[redacted]&password=[redacted]&api_key=[redacted]&apiKey=[redacted]",
    ],
    [
      "/x?Code=a&STATE=b&sig=c&signature=d#frag",
      "/x?Code=[redacted]&STATE=[redacted]&sig=[redacted]&signature=[redacted]#frag",
    ],
    ["/x?token=&next=1", "/x?token=[redacted]&next=1"],
  ])("urlForLog(%s)", (url, expected) => {
    expect(urlForLog(url)).toBe(expected);
  });
});

describe("log level", () => {
  const quietLines: Line[] = [];
  const quietStream = new PassThrough();
  quietStream.setEncoding("utf8");
  quietStream.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) if (line) quietLines.push(JSON.parse(line) as Line);
  });
  const quiet = useSecondInstance(t, { logLevel: "warn", logStream: quietStream });

  it("at warn, answered requests write no access line, failed routes neither", async () => {
    const user = await signUp(t.app);
    expect(
      (await quiet.app.inject({ method: "GET", url: "/v1/tasks", headers: user.headers }))
        .statusCode,
    ).toBe(200);
    expect((await quiet.app.inject({ method: "GET", url: "/v1/nothing-here" })).statusCode).toBe(
      404,
    );
    // The same requests on the info instance do write lines (the stream works).
    lines.length = 0;
    await logged.app.inject({ method: "GET", url: "/v1/tasks", headers: user.headers });
    expect(lines.some((line) => line.msg === "request completed")).toBe(true);
    expect(quietLines.filter((line) => line.reqId !== undefined)).toEqual([]);
  });
});
