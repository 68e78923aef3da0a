import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type KoaContextWithOIDC } from "oidc-provider";

/** A person the test OpenID Provider knows; `sub` is also their login name. */
export type TestIdentity = { sub: string; email: string; emailVerified: boolean; name: string };

export type TestProvider = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Starts serving, with the one client and its only redirect URI. */
  registerClient: (redirectUri: string) => void;
  /** Adds (or replaces) a person who can log in at the provider. */
  addIdentity: (identity: TestIdentity) => void;
  close: () => Promise<void>;
};

/**
 * A real OpenID Provider (panva's oidc-provider, the certified one) on a
 * loopback port, for end-to-end tests of our relying-party side. One
 * confidential client (client_secret_basic) whose only redirect URI is
 * given once the relying party knows its port; PKCE is required for every authorization request. Login
 * and consent are a tiny JSON "page" at /interaction/:uid that a test
 * browser answers with POST .../login (form field `login` = sub) and
 * POST .../consent, exactly as a login form would submit.
 */
export async function startTestProvider(): Promise<TestProvider> {
  const identities = new Map<string, TestIdentity>();
  let handle: (request: IncomingMessage, response: ServerResponse) => void = (_, response) => {
    response.statusCode = 503;
    response.end();
  };
  const server = createServer((request, response) => handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = {
    clientId: "taskpilot-test",
    clientSecret: randomBytes(24).toString("base64url"),
  };

  return {
    issuer,
    ...client,
    registerClient: (redirectUri) => {
      const provider = createProvider(issuer, { ...client, redirectUri }, identities);
      const providerCallback = provider.callback();
      handle = (request, response) => {
        if (!request.url?.startsWith("/interaction/")) {
          providerCallback(request, response);
          return;
        }
        interact(provider, identities, request, response).catch((error: unknown) => {
          response.statusCode = 500;
          response.end(String(error));
        });
      };
    },
    addIdentity: (identity) => identities.set(identity.sub, identity),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function createProvider(
  issuer: string,
  client: { clientId: string; clientSecret: string; redirectUri: string },
  identities: Map<string, TestIdentity>,
): Provider {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-1", use: "sig" };
  return new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [client.redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // The granted claims go into the id_token itself, as Google and most
    // providers do, so the relying party reads email_verified from there.
    conformIdTokenClaims: false,
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const identity = identities.get(sub);
      if (!identity) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: identity.email,
          email_verified: identity.emailVerified,
          name: identity.name,
        }),
      };
    },
  });
}

/** The login and consent "pages": GET shows the prompt, POST submits it. */
async function interact(
  provider: Provider,
  identities: Map<string, TestIdentity>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(request, response);
  const action = request.url?.split("?")[0]?.split("/")[3];
  if (request.method === "GET" && action === undefined) {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name }));
  } else if (request.method === "POST" && action === "login") {
    const login = new URLSearchParams(await readBody(request)).get("login") ?? "";
    if (!identities.has(login)) {
      response.statusCode = 401;
      response.end("unknown login");
      return;
    }
    await provider.interactionFinished(request, response, { login: { accountId: login } });
  } else if (request.method === "POST" && action === "consent") {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: details.session?.accountId ?? "",
          clientId: String(details.params.client_id),
        });
    if (!grant) throw new Error("grant vanished");
    const missing = details.prompt.details as { missingOIDCScope?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    const grantId = await grant.save();
    await provider.interactionFinished(request, response, { consent: { grantId } });
  } else {
    response.statusCode = 404;
    response.end();
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of request) body += String(chunk);
  return body;
}
