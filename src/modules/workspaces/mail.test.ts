import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase, signUp } from "../../../test/harness.ts";
import { type App, buildApp } from "../../app.ts";
import type { CreatedInvitation } from "./contracts.ts";
import { accept, call, createWorkspace } from "./test-helpers.ts";

type Received = { from: string; to: string[]; user: unknown; raw: string };

/** A real SMTP server on loopback that wants a login and keeps what it receives. */
function startSmtpServer() {
  const received: Received[] = [];
  const waiting: Array<(message: Received) => void> = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === "mailer" && auth.password === "s3cret") {
        callback(null, { user: auth.username });
      } else {
        callback(new Error("Invalid username or password"));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const message: Received = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          user: session.user,
          raw: Buffer.concat(chunks).toString("utf8"),
        };
        received.push(message);
        waiting.shift()?.(message);
        callback();
      });
    },
  });
  return {
    server,
    received,
    next: () => new Promise<Received>((resolve) => waiting.push(resolve)),
  };
}

/** The text of a quoted-printable message body, soft line breaks joined. */
function decoded(raw: string): string {
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
}

const smtp = startSmtpServer();
let app: App;
let drop: () => Promise<void>;

beforeAll(async () => {
  smtp.server.listen(0, "127.0.0.1");
  await once(smtp.server.server, "listening");
  const { port } = smtp.server.server.address() as AddressInfo;
  const database = await openTestDatabase();
  drop = database.drop;
  app = await buildApp({
    database,
    authSecret: "test-secret-test-secret-test-secret-0123",
    publicUrl: "http://localhost:3000",
    logLevel: "silent",
    // A loaded machine must not turn answers into load-shedding 503s.
    overload: false,
    authRateLimit: false,
    smtpUrl: `smtp://mailer:s3cret@127.0.0.1:${port}`,
    mailFrom: "Taskpilot <invites@example.com>",
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await drop?.();
  if (smtp.server.server.listening) await stopSmtpServer();
});

/** Stops accepting; smtp-server waits for open sessions, nodemailer closes its own after each mail. */
function stopSmtpServer(): Promise<void> {
  return new Promise<void>((resolve) => smtp.server.close(() => resolve()));
}

describe("invitation mail over SMTP", () => {
  it("sends the invitation with its accept link, logged in with SMTP_URL's credentials", async () => {
    const owner = await signUp(app, "Olga");
    const invitee = await signUp(app);
    const workspace = await createWorkspace(app, owner, "Launch team");
    const arrived = smtp.next();
    const response = await call(app, owner, "POST", `/v1/workspaces/${workspace.id}/invitations`, {
      email: invitee.email,
      role: "member",
    });
    expect(response.statusCode, response.body).toBe(201);
    const invitation = response.json<CreatedInvitation>();
    expect(invitation.delivery).toBe("email");
    expect(invitation).not.toHaveProperty("acceptUrl");
    const message = await arrived;
    expect(message).toMatchObject({
      from: "invites@example.com",
      to: [invitee.email],
      user: "mailer",
    });
    const text = decoded(message.raw);
    expect(text).toMatch(/^Subject: Olga invited you to Launch team on Taskpilot\r?$/m);
    expect(text).toContain(`http://localhost:3000/invitations/${invitation.id}`);
    expect((await accept(app, invitee, invitation.id)).statusCode).toBe(200);
  });

  it("hands the inviter the link when the SMTP server is gone, and keeps the invitation", async () => {
    const owner = await signUp(app);
    const workspace = await createWorkspace(app, owner);
    await stopSmtpServer();
    const before = smtp.received.length;
    const response = await call(app, owner, "POST", `/v1/workspaces/${workspace.id}/invitations`, {
      email: "offline@example.com",
      role: "viewer",
    });
    expect(response.statusCode, response.body).toBe(201);
    const invitation = response.json<CreatedInvitation>();
    expect(invitation).toMatchObject({
      delivery: "link",
      acceptUrl: `http://localhost:3000/invitations/${invitation.id}`,
      status: "pending",
    });
    expect(smtp.received).toHaveLength(before);
    const pending = await call(app, owner, "GET", `/v1/workspaces/${workspace.id}/invitations`);
    expect(pending.json<{ data: unknown[] }>().data).toHaveLength(1);
  });
});
