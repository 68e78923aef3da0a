import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUp, useTestApp } from "../../../test/harness.ts";
import { expectValidationError } from "../../../test/tasks-helpers.ts";
import { call } from "../workspaces/test-helpers.ts";
import { checkUrl, isPublicAddress } from "./address.ts";

const urlProblem = (text: string, allowPrivate: boolean) => checkUrl(text, allowPrivate).problem;

import { newWebhookSecret, secretBox, signatureHeader, verifySignature } from "./secret.ts";
import { sendDelivery } from "./send.ts";

describe("which targets a webhook may have", () => {
  it("takes public unicast addresses only", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]) {
      expect(isPublicAddress(address), address).toBe(true);
    }
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "::127.0.0.1",
      "::7f00:1",
      "64:ff9b::7f00:1",
      "2002:7f00:1::1",
      "224.0.0.1",
      "255.255.255.255",
      "not an address",
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it("refuses http, credentials and private hosts unless the deployment allows them", () => {
    expect(urlProblem("https://hooks.example.com/x?token=1", false)).toBeNull();
    expect(urlProblem("https://8.8.8.8/hook", false)).toBeNull();
    expect(urlProblem("http://hooks.example.com/x", false)).toBe("must be an https URL");
    expect(urlProblem("ftp://hooks.example.com/x", false)).toBe("must be an http(s) URL");
    expect(urlProblem("hooks.example.com/x", false)).toBe("must be an absolute http(s) URL");
    expect(urlProblem("https://me:pw@hooks.example.com/", false)).toMatch(/user name or password/);
    for (const url of [
      "https://127.0.0.1/",
      "https://[::1]:8443/",
      "https://169.254.169.254/latest/meta-data",
      "https://10.0.0.7/",
      "https://[::ffff:7f00:1]/",
      "https://localhost/",
      "https://api.localhost./",
      "https://localhost../",
      "https://[::127.0.0.1]/",
      "https://db.internal/",
      "https://printer.local/",
    ]) {
      expect(urlProblem(url, false), url).toBe(
        "must not point to a private, loopback or link-local address",
      );
    }
    expect(urlProblem("http://127.0.0.1:3000/hook", true)).toBeNull();
    expect(urlProblem("ftp://127.0.0.1/", true)).toBe("must be an http(s) URL");
  });
});

describe("sending to a private address when it is not allowed", () => {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(request.url ?? "");
    response.end();
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const attempt = (url: string) =>
    sendDelivery({
      url,
      body: "{}",
      secret: newWebhookSecret(),
      eventType: "task.created",
      deliveryId: "0194b6c0-0000-7000-8000-000000000000",
      timeoutMs: 2_000,
      allowPrivate: false,
      now: () => new Date(),
    });

  it("refuses an address written in the URL without connecting", async () => {
    const result = await attempt(`http://127.0.0.1:${port}/literal`);
    expect(result).toMatchObject({
      ok: false,
      status: null,
      error: "127.0.0.1 is not a public address",
    });
  });

  it("refuses a name that resolves to one, at the moment of connecting", async () => {
    const result = await attempt(`https://localhost:${port}/named`);
    // The address itself is not named: the deliveries list would map internal names.
    expect(result).toMatchObject({
      ok: false,
      error: "localhost resolves to an address that is not public",
    });
    expect(hits).toEqual([]);
  });

  it("refuses http once private targets are no longer allowed", async () => {
    const result = await attempt(`http://hooks.example.com:${port}/plain`);
    expect(result).toMatchObject({ ok: false, error: "only https is allowed" });
  });

  it("does reach it when allowed (the check above is what stopped it)", async () => {
    const result = await sendDelivery({
      url: `http://localhost:${port}/allowed`,
      body: "{}",
      secret: newWebhookSecret(),
      eventType: "task.created",
      deliveryId: "0194b6c0-0000-7000-8000-000000000000",
      timeoutMs: 2_000,
      allowPrivate: true,
      now: () => new Date(),
    });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(hits).toEqual(["/allowed"]);
  });
});

describe("verifying a signature as a receiver", () => {
  it("says false, never throws, for a forged or stale header", () => {
    const secret = newWebhookSecret();
    const header = signatureHeader(secret, "{}", 1_000);
    expect(verifySignature(secret, "{}", header, 1_000)).toBe(true);
    expect(verifySignature(secret, "{}", header, 1_000 + 301)).toBe(false);
    expect(verifySignature(secret, "{}", `t=1000,v1=${"é".repeat(32)}`, 1_000)).toBe(false);
    expect(verifySignature(secret, "{}", `t=1000,v1=${"a".repeat(63)}€`, 1_000)).toBe(false);
    expect(verifySignature(secret, "{}", "garbage", 1_000)).toBe(false);
  });
});

describe("the sealed secret", () => {
  it("opens with the same AUTH_SECRET only, and not once tampered with", () => {
    const box = secretBox("a".repeat(32));
    const secret = newWebhookSecret();
    const sealed = box.seal(secret);
    expect(sealed).not.toContain(secret.slice(6));
    expect(box.open(sealed)).toBe(secret);
    expect(() => secretBox("b".repeat(32)).open(sealed)).toThrow();
    const parts = sealed.split(".");
    const data = Buffer.from(parts[3] ?? "", "base64url");
    data[0] = (data[0] ?? 0) ^ 1;
    parts[3] = data.toString("base64url");
    expect(() => box.open(parts.join("."))).toThrow();
  });
});

describe("the API, as deployed by default", () => {
  const t = useTestApp();

  it("refuses webhook URLs that point inside the network", async () => {
    const user = await signUp(t.app, "Prober");
    for (const url of [
      "https://169.254.169.254/latest/meta-data",
      "https://127.0.0.1:5432/",
      "https://localhost/",
      "http://hooks.example.com/",
    ]) {
      const response = await call(t.app, user, "POST", "/v1/webhooks", { url, events: ["*"] });
      expectValidationError(response, "url");
    }
    const created = await call(t.app, user, "POST", "/v1/webhooks", {
      url: "https://hooks.example.com/ok",
      events: ["*"],
    });
    expect(created.statusCode, created.body).toBe(201);
    const moved = await call(t.app, user, "PATCH", `/v1/webhooks/${created.json().id}`, {
      url: "https://10.0.0.1/",
    });
    expectValidationError(moved, "url");
  });
});
