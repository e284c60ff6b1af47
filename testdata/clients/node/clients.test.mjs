// @azure/msal-node and jose against a real `issuer serve` (issue 6,
// clients.md §2.3 and §2.5). Started by run.mjs, which seeds the server,
// trusts its CA through NODE_EXTRA_CA_CERTS and names the fixture in
// ISSUER_FIXTURE. Every flow is a row of a table: a new credential kind or
// grant is one more row. A refusal is asserted through what msal-node
// reports (its error class, errorCode, subError and errorNo).

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test, before, beforeEach } from "node:test";

import { ConfidentialClientApplication, InteractionRequiredAuthError, PublicClientApplication, ServerError } from "@azure/msal-node";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";

const fx = JSON.parse(readFileSync(process.env.ISSUER_FIXTURE, "utf8"));
const { nightly, idle } = fx.daemons;
const { orders, legacy, payroll } = fx.apis;
const { user: ada, native, middle, downstream } = fx.delegated;

// tokenPosts records the token requests msal-node sends. msal-node 7 calls
// the global fetch for every request, so wrapping it lets a test see the
// form a library posted (the client assertion's header, the grant) and
// tell a cache hit (no request) from a network call.
const tokenPosts = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if ((init?.method ?? "GET").toUpperCase() === "POST" && url.pathname.endsWith("/token")) {
    tokenPosts.push({ path: url.pathname, form: new URLSearchParams(String(init.body ?? "")) });
  }
  return realFetch(input, init);
};
beforeEach(() => {
  tokenPosts.length = 0;
});

// app is a confidential client as clients.md §2.3 configures it for a
// custom host: knownAuthorities (host:port exactly as in the authority)
// skips instance discovery at login.microsoftonline.com. The credential is
// the client's secret unless given (e.g. a clientCertificate).
function app(tenantSegment, client, credential = { clientSecret: client.secret }) {
  return new ConfidentialClientApplication({
    auth: {
      clientId: client.appId,
      authority: `${fx.baseURL}/${tenantSegment}`,
      knownAuthorities: [fx.host],
      ...credential,
    },
  });
}

// publicApp is Native, the public client Ada signs in to.
function publicApp(tenantSegment) {
  return new PublicClientApplication({
    auth: { clientId: native.appId, authority: `${fx.baseURL}/${tenantSegment}`, knownAuthorities: [fx.host] },
  });
}

// certificate is msal-node's clientCertificate credential for the PEM files
// `issuer app cert create` wrote: thumbprintSha256 (PS256 and x5t#S256), or
// with sha1 the deprecated thumbprint (RS256 and x5t); with x5c the
// certificate itself, sent as the x5c chain. header is what the
// assertion's header must then name.
function certificate(files, { sha1 = false, x5c = false } = {}) {
  const pem = readFileSync(files.certFile, "utf8");
  const cert = new X509Certificate(pem);
  const hex = (sha1 ? cert.fingerprint : cert.fingerprint256).replaceAll(":", "");
  return {
    credential: {
      clientCertificate: {
        [sha1 ? "thumbprint" : "thumbprintSha256"]: hex,
        privateKey: readFileSync(files.keyFile, "utf8"),
        ...(x5c ? { x5c: pem } : {}),
      },
    },
    header: {
      alg: sha1 ? "RS256" : "PS256",
      [sha1 ? "x5t" : "x5t#S256"]: Buffer.from(hex, "hex").toString("base64url"),
      ...(x5c ? { x5c: [cert.raw.toString("base64")] } : {}),
    },
  };
}

// assertRefusal checks what msal-node reports for a refusal: the error
// class (ServerError, or InteractionRequiredAuthError when the user must
// act), errorCode (the OAuth error), subError, errorNo (the AADSTS code)
// and the AADSTS code in the message users read.
function assertRefusal(err, want) {
  assert.ok(err instanceof want.type, `${err.name}: ${err.message}; want ${want.type.name}`);
  assert.equal(err.errorCode, want.error);
  assert.equal(err.subError ?? "", want.subError ?? "");
  assert.equal(Number(err.errorNo), want.code);
  assert.match(err.errorMessage, new RegExp(`AADSTS${want.code}:`));
  return true;
}

// describeRefusal names a refusal in a test's title.
const describeRefusal = (want) => `${want.type.name} ${want.error}${want.subError ? `/${want.subError}` : ""} AADSTS${want.code}`;

// discovery fetches an OpenID configuration with the global fetch, as a
// relying party does.
async function discovery(path) {
  const res = await fetch(`${fx.baseURL}/${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

// verify checks a token as an API does: keys from the discovery document's
// jwks_uri, iss equal to its issuer, aud, RS256.
async function verify(token, discoveryPath, audience) {
  const doc = await discovery(discoveryPath);
  const jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: doc.issuer, audience, algorithms: ["RS256"] });
  return { payload, protectedHeader, issuer: doc.issuer };
}

const v2Discovery = (tenant) => `${tenant}/v2.0/.well-known/openid-configuration`;
const v1Discovery = (tenant) => `${tenant}/.well-known/openid-configuration`;

// secret is msal-node's clientSecret credential of a client; the form must
// carry it and no assertion.
const secret = (client) => ({ credential: { clientSecret: client.secret }, header: null });

// checkClientAuth checks how msal-node authenticated in a token request:
// with a secret, or with a client assertion whose header names the
// certificate as want.header says (alg, thumbprint, x5c).
function checkClientAuth(form, want) {
  if (!want.header) {
    assert.ok(form.get("client_secret"), "client_secret sent");
    assert.equal(form.get("client_assertion"), null);
    return;
  }
  assert.equal(form.get("client_secret"), null);
  assert.equal(form.get("client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  const header = decodeProtectedHeader(form.get("client_assertion"));
  for (const [k, v] of Object.entries(want.header)) {
    assert.deepEqual(header[k], v, `assertion header ${k}`);
  }
  if (!want.header.x5c) assert.equal(header.x5c, undefined, "no x5c unless configured");
}

describe("msal-node ConfidentialClientApplication, client credentials", () => {
  const nightlyCert = (opts) => () => certificate(nightly.cert, opts);
  const flows = [
    { name: "secret, authority by tenant GUID, v2 resource", tenant: fx.tenant.id, auth: () => secret(nightly), api: orders, version: 2, acr: "1" },
    { name: "secret, authority by domain, v2 resource", tenant: fx.tenant.domain, auth: () => secret(nightly), api: orders, version: 2, acr: "1" },
    { name: "secret, authority by tenant GUID, v1 resource", tenant: fx.tenant.id, auth: () => secret(nightly), api: legacy, version: 1, acr: "1" },
    { name: "certificate thumbprintSha256 (PS256, x5t#S256), tenant GUID, v2 resource", tenant: fx.tenant.id, auth: nightlyCert(), api: orders, version: 2, acr: "2" },
    { name: "certificate thumbprintSha256 with x5c, tenant domain, v1 resource", tenant: fx.tenant.domain, auth: nightlyCert({ x5c: true }), api: legacy, version: 1, acr: "2" },
    { name: "certificate thumbprint, deprecated SHA-1 (RS256, x5t), tenant GUID, v2 resource", tenant: fx.tenant.id, auth: nightlyCert({ sha1: true }), api: orders, version: 2, acr: "2" },
  ];
  for (const f of flows) {
    test(`${f.name}: acquireTokenByClientCredential, then from the cache`, async () => {
      const auth = f.auth();
      const cca = app(f.tenant, nightly, auth.credential);
      const request = { scopes: [`${f.api.uri}/.default`] };
      const first = await cca.acquireTokenByClientCredential(request);
      assert.ok(first.accessToken, "access token");
      assert.equal(first.fromCache, false);
      assert.equal(first.tokenType, "Bearer");
      assert.ok(first.expiresOn > new Date(Date.now() + 300_000), "expires in more than 5 minutes");
      assert.equal(tokenPosts.length, 1);
      assert.equal(tokenPosts[0].form.get("grant_type"), "client_credentials");
      checkClientAuth(tokenPosts[0].form, auth);

      const { payload } = f.version === 2
        ? await verify(first.accessToken, v2Discovery(fx.tenant.id), f.api.appId)
        : await verify(first.accessToken, v1Discovery(fx.tenant.id), f.api.uri);
      assert.equal(payload.ver, f.version === 2 ? "2.0" : "1.0");
      assert.equal(payload.tid, fx.tenant.id);
      assert.equal(f.version === 2 ? payload.azp : payload.appid, nightly.appId);
      assert.equal(f.version === 2 ? payload.azpacr : payload.appidacr, f.acr, "1: secret, 2: certificate");
      assert.deepEqual(payload.roles, [f.api.role]);

      const second = await cca.acquireTokenByClientCredential(request);
      assert.equal(second.fromCache, true);
      assert.equal(second.accessToken, first.accessToken);
      assert.equal(tokenPosts.length, 1, "the second call makes no request");
    });
  }

  const refusals = [
    { name: "wrong secret", client: nightly, auth: () => secret({ ...nightly, secret: "not-the-secret-0001" }), api: orders,
      want: { type: ServerError, error: "invalid_client", code: 7000215 } },
    { name: "client not assigned to a resource that requires it", client: idle, auth: () => secret(idle), api: payroll,
      want: { type: ServerError, error: "invalid_client", code: 501051 } },
    { name: "certificate registered on another application", client: nightly, auth: () => certificate(idle.cert), api: orders,
      want: { type: ServerError, error: "invalid_client", code: 700027 } },
    { name: "SHA-1 thumbprint of a certificate registered on another application", client: nightly, auth: () => certificate(idle.cert, { sha1: true }), api: orders,
      want: { type: ServerError, error: "invalid_client", code: 700027 } },
  ];
  for (const r of refusals) {
    test(`refusal: ${r.name}: ${describeRefusal(r.want)}`, async () => {
      const auth = r.auth();
      const cca = app(fx.tenant.id, r.client, auth.credential);
      await assert.rejects(cca.acquireTokenByClientCredential({ scopes: [`${r.api.uri}/.default`] }), (err) => assertRefusal(err, r.want));
      checkClientAuth(tokenPosts.at(-1).form, auth);
    });
  }
});

describe("msal-node PublicClientApplication, username/password and refresh", () => {
  const scopes = [`${middle.uri}/access_as_user`];
  const signIn = (tenant, password = ada.password) =>
    publicApp(tenant).acquireTokenByUsernamePassword({ scopes, username: ada.upn, password });

  // checkAda verifies a token of Ada for the Middle Tier through Native.
  async function checkAda(token) {
    const { payload } = await verify(token, v2Discovery(fx.tenant.id), middle.appId);
    assert.equal(payload.ver, "2.0");
    assert.equal(payload.tid, fx.tenant.id);
    assert.equal(payload.oid, ada.id);
    assert.equal(payload.preferred_username, ada.upn);
    assert.equal(payload.azp, native.appId);
    assert.equal(payload.azpacr, "0", "a public client does not authenticate");
    assert.equal(payload.scp, "access_as_user");
    return payload;
  }

  const flows = [
    { name: "authority by tenant GUID", tenant: fx.tenant.id },
    { name: "authority by domain", tenant: fx.tenant.domain },
    { name: "organizations (the tenant from the UPN)", tenant: "organizations" },
  ];
  for (const f of flows) {
    test(`${f.name}: acquireTokenByUsernamePassword, acquireTokenSilent from the cache, then forceRefresh with the refresh token`, async () => {
      const pca = publicApp(f.tenant);
      const first = await pca.acquireTokenByUsernamePassword({ scopes, username: ada.upn, password: ada.password });
      assert.equal(first.fromCache, false);
      await checkAda(first.accessToken);
      assert.equal(first.account.username, ada.upn);
      assert.equal(first.account.homeAccountId, `${ada.id}.${fx.tenant.id}`);
      assert.equal(first.account.tenantId, fx.tenant.id);
      assert.equal(first.idTokenClaims.oid, ada.id);
      assert.equal(tokenPosts.at(-1).form.get("grant_type"), "password");

      const cached = await pca.acquireTokenSilent({ account: first.account, scopes });
      assert.equal(cached.fromCache, true);
      assert.equal(cached.accessToken, first.accessToken);

      const posts = tokenPosts.length;
      const refreshed = await pca.acquireTokenSilent({ account: first.account, scopes, forceRefresh: true });
      assert.equal(refreshed.fromCache, false);
      assert.notEqual(refreshed.accessToken, first.accessToken);
      assert.equal(tokenPosts.length, posts + 1);
      assert.equal(tokenPosts.at(-1).form.get("grant_type"), "refresh_token");
      const payload = await checkAda(refreshed.accessToken);
      assert.equal(payload.oid, ada.id);
    });
  }

  // refreshTokenOf returns the refresh token in msal-node's serialized cache.
  function refreshTokenOf(pca) {
    const entries = Object.values(JSON.parse(pca.getTokenCache().serialize()).RefreshToken ?? {});
    assert.equal(entries.length, 1, "one refresh token cached");
    return entries[0].secret;
  }

  // Entra keeps a redeemed refresh token valid until it expires, so a
  // retry, a second worker or a stale shared cache still gets a token; the
  // server's default (--refresh-token-reuse allow) does the same. The
  // strict mode (revoke-family) is covered by the Go tests in
  // issuer/attack_test.go and cmd/issuer/secrets_test.go.
  test("a redeemed refresh token presented again still works (acquireTokenByRefreshToken)", async () => {
    const pca = publicApp(fx.tenant.id);
    const { account } = await pca.acquireTokenByUsernamePassword({ scopes, username: ada.upn, password: ada.password });
    const redeemed = refreshTokenOf(pca);
    await pca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    assert.notEqual(refreshTokenOf(pca), redeemed, "msal-node keeps the rotated refresh token");
    const again = await pca.acquireTokenByRefreshToken({ refreshToken: redeemed, scopes });
    const payload = await checkAda(again.accessToken);
    assert.equal(payload.oid, ada.id);
    const current = await pca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    assert.equal(current.fromCache, false);
  });
  const refusals = [
    { name: "wrong password", run: () => signIn(fx.tenant.id, "not-the-password"),
      want: { type: ServerError, error: "invalid_grant", code: 50126 } },
    { name: "unknown user", run: () => publicApp(fx.tenant.id).acquireTokenByUsernamePassword({ scopes, username: `nobody@${fx.tenant.domain}`, password: "x" }),
      want: { type: InteractionRequiredAuthError, error: "invalid_grant", subError: "bad_token", code: 50034 } },
  ];
  for (const r of refusals) {
    test(`refusal: ${r.name}: ${describeRefusal(r.want)}`, async () => {
      await assert.rejects(r.run(), (err) => assertRefusal(err, r.want));
    });
  }
});

describe("msal-node ConfidentialClientApplication, acquireTokenOnBehalfOf", () => {
  // adaToken is Ada's token for the Middle Tier, from the password grant
  // through Native: the assertion the Middle Tier receives from its caller.
  let adaToken;
  before(async () => {
    const res = await publicApp(fx.tenant.id).acquireTokenByUsernamePassword({
      scopes: [`${middle.uri}/access_as_user`], username: ada.upn, password: ada.password,
    });
    adaToken = res.accessToken;
  });

  const flows = [
    { name: "secret, Data.Read", tenant: fx.tenant.id, auth: () => secret(middle), scope: "api://downstream/Data.Read", acr: "1" },
    { name: "certificate thumbprintSha256, /.default, tenant domain", tenant: fx.tenant.domain, auth: () => certificate(middle.cert), scope: "api://downstream/.default", acr: "2" },
  ];
  for (const f of flows) {
    test(`${f.name}: a v2 token for the downstream API keeping Ada, then from the cache`, async () => {
      const auth = f.auth();
      const cca = app(f.tenant, middle, auth.credential);
      const request = { oboAssertion: adaToken, scopes: [f.scope] };
      const first = await cca.acquireTokenOnBehalfOf(request);
      assert.equal(first.fromCache, false);
      assert.equal(tokenPosts.length, 1);
      const form = tokenPosts[0].form;
      assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
      assert.equal(form.get("requested_token_use"), "on_behalf_of");
      assert.equal(form.get("assertion"), adaToken);
      checkClientAuth(form, auth);

      const { payload } = await verify(first.accessToken, v2Discovery(fx.tenant.id), downstream.appId);
      assert.equal(payload.ver, "2.0");
      assert.equal(payload.tid, fx.tenant.id);
      assert.equal(payload.oid, ada.id, "the same user");
      assert.equal(payload.preferred_username, ada.upn);
      assert.equal(payload.azp, middle.appId, "the middle tier is the client");
      assert.equal(payload.azpacr, f.acr);
      assert.equal(payload.scp, "Data.Read");

      const second = await cca.acquireTokenOnBehalfOf(request);
      assert.equal(second.fromCache, true);
      assert.equal(second.accessToken, first.accessToken);
      assert.equal(tokenPosts.length, 1, "the second call makes no request");
    });
  }

  const refusals = [
    { name: "scope without consent (Data.Write)", assertion: () => adaToken, scope: "api://downstream/Data.Write",
      want: { type: InteractionRequiredAuthError, error: "invalid_grant", subError: "consent_required", code: 65001 } },
    { name: "assertion with a broken signature", assertion: () => adaToken.slice(0, -4) + (adaToken.endsWith("AAAA") ? "BBBB" : "AAAA"), scope: "api://downstream/Data.Read",
      want: { type: ServerError, error: "invalid_grant", code: 50013 } },
    { name: "assertion for another audience (an on-behalf-of token for Downstream)", assertion: async () => {
      // aud is Downstream, not the Middle Tier: its own earlier OBO result.
      const res = await app(fx.tenant.id, middle).acquireTokenOnBehalfOf({ oboAssertion: adaToken, scopes: ["api://downstream/Data.Read"] });
      return res.accessToken;
    }, scope: "api://downstream/Data.Read",
      want: { type: ServerError, error: "invalid_grant", code: 500131 } },
  ];
  for (const r of refusals) {
    test(`refusal: ${r.name}: ${describeRefusal(r.want)}`, async () => {
      const assertion = await r.assertion();
      const cca = app(fx.tenant.id, middle);
      await assert.rejects(cca.acquireTokenOnBehalfOf({ oboAssertion: assertion, scopes: [r.scope] }), (err) => assertRefusal(err, r.want));
    });
  }
});

describe("jose createRemoteJWKSet + jwtVerify", () => {
  let v2Token, v1Token;
  before(async () => {
    v2Token = (await app(fx.tenant.id, nightly).acquireTokenByClientCredential({ scopes: ["api://orders/.default"] })).accessToken;
    v1Token = (await app(fx.tenant.id, nightly).acquireTokenByClientCredential({ scopes: ["api://legacy/.default"] })).accessToken;
  });

  const cases = [
    {
      name: "v2 token, v2 issuer from discovery, audience the API's appId",
      token: () => v2Token, discovery: v2Discovery(fx.tenant.id), audience: orders.appId,
      issuer: `${fx.baseURL}/${fx.tenant.id}/v2.0`, header: ["typ", "alg", "kid"],
    },
    {
      name: "v1 token, v1 issuer from discovery, audience the identifier URI",
      token: () => v1Token, discovery: v1Discovery(fx.tenant.id), audience: legacy.uri,
      issuer: `${fx.baseURL}/${fx.tenant.id}/`, header: ["typ", "alg", "x5t", "kid"],
    },
    {
      name: "v2 discovery requested by domain names the GUID issuer",
      token: () => v2Token, discovery: v2Discovery(fx.tenant.domain), audience: orders.appId,
      issuer: `${fx.baseURL}/${fx.tenant.id}/v2.0`, header: ["typ", "alg", "kid"],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { payload, protectedHeader, issuer } = await verify(c.token(), c.discovery, c.audience);
      assert.equal(issuer, c.issuer);
      assert.equal(payload.iss, c.issuer);
      assert.deepEqual(Object.keys(protectedHeader), c.header);
    });
  }

  const refusals = [
    { name: "wrong audience", token: () => v2Token, discovery: v2Discovery(fx.tenant.id), audience: "api://elsewhere", code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" },
    { name: "v1 token against the v2 issuer", token: () => v1Token, discovery: v2Discovery(fx.tenant.id), audience: legacy.uri, code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "iss" },
  ];
  for (const r of refusals) {
    test(`refusal: ${r.name}`, async () => {
      await assert.rejects(verify(r.token(), r.discovery, r.audience), (err) => {
        assert.equal(err.code, r.code, `${err.name}: ${err.message}`);
        assert.equal(err.claim, r.claim);
        return true;
      });
      assert.ok(decodeJwt(r.token()).iss, "the token itself is well formed");
    });
  }
});
