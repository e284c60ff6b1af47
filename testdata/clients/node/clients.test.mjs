// @azure/msal-node and jose against a real `issuer serve` (issue 6,
// clients.md §2.3 and §2.5). Started by run.mjs, which seeds the server,
// trusts its CA through NODE_EXTRA_CA_CERTS and names the fixture in
// ISSUER_FIXTURE. Every flow is a row of a table: a new credential kind or
// grant is one more row.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test, before } from "node:test";

import { ConfidentialClientApplication, ServerError } from "@azure/msal-node";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";

const fx = JSON.parse(readFileSync(process.env.ISSUER_FIXTURE, "utf8"));
const { nightly, idle } = fx.daemons;
const { orders, legacy, payroll } = fx.apis;

// app is a confidential client as clients.md §2.3 configures it for a
// custom host: knownAuthorities (host:port exactly as in the authority)
// skips instance discovery at login.microsoftonline.com.
function app(tenantSegment, credentials) {
  return new ConfidentialClientApplication({
    auth: {
      clientId: credentials.appId,
      authority: `${fx.baseURL}/${tenantSegment}`,
      knownAuthorities: [fx.host],
      clientSecret: credentials.secret,
    },
  });
}

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

describe("msal-node ConfidentialClientApplication, client secret", () => {
  const flows = [
    { name: "authority by tenant GUID, v2 resource", tenant: fx.tenant.id, api: orders, version: 2 },
    { name: "authority by domain, v2 resource", tenant: fx.tenant.domain, api: orders, version: 2 },
    { name: "authority by tenant GUID, v1 resource", tenant: fx.tenant.id, api: legacy, version: 1 },
  ];
  for (const f of flows) {
    test(`${f.name}: acquireTokenByClientCredential, then from the cache`, async () => {
      const cca = app(f.tenant, nightly);
      const request = { scopes: [`${f.api.uri}/.default`] };
      const first = await cca.acquireTokenByClientCredential(request);
      assert.ok(first.accessToken, "access token");
      assert.equal(first.fromCache, false);
      assert.equal(first.tokenType, "Bearer");
      assert.ok(first.expiresOn > new Date(Date.now() + 300_000), "expires in more than 5 minutes");

      const { payload } = f.version === 2
        ? await verify(first.accessToken, v2Discovery(f.tenant), f.api.appId)
        : await verify(first.accessToken, v1Discovery(f.tenant), f.api.uri);
      assert.equal(payload.ver, f.version === 2 ? "2.0" : "1.0");
      assert.equal(payload.tid, fx.tenant.id);
      assert.equal(f.version === 2 ? payload.azp : payload.appid, nightly.appId);
      assert.deepEqual(payload.roles, [f.api.role]);

      const second = await cca.acquireTokenByClientCredential(request);
      assert.equal(second.fromCache, true);
      assert.equal(second.accessToken, first.accessToken);
    });
  }

  const refusals = [
    { name: "wrong secret", client: { ...nightly, secret: "not-the-secret-0001" }, api: orders, error: "invalid_client", code: 7000215 },
    { name: "client not assigned to a resource that requires it", client: idle, api: payroll, error: "invalid_client", code: 501051 },
  ];
  for (const r of refusals) {
    test(`refusal: ${r.name} is a ServerError ${r.error} AADSTS${r.code}`, async () => {
      const cca = app(fx.tenant.id, r.client);
      await assert.rejects(cca.acquireTokenByClientCredential({ scopes: [`${r.api.uri}/.default`] }), (err) => {
        assert.ok(err instanceof ServerError, `${err.name}: ${err.message}`);
        assert.equal(err.errorCode, r.error);
        assert.equal(Number(err.errorNo), r.code);
        assert.match(err.errorMessage, new RegExp(`AADSTS${r.code}:`));
        return true;
      });
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
