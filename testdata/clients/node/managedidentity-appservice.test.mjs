// msal-node's ManagedIdentityApplication, unmodified, against the App
// Service endpoint of `issuer serve --managed-identity-addr` (issue 15),
// with the environment `issuer identity env` printed (run.mjs). The SDKs
// read the environment once, so this file, which node --test runs in a
// process of its own, sets it before loading them.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { createRemoteJWKSet, jwtVerify } from "jose";

const fx = JSON.parse(readFileSync(process.env.ISSUER_FIXTURE, "utf8"));
const { worker, web, env } = fx.managedIdentities;
for (const name of ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_ID"]) {
  delete process.env[name];
}
Object.assign(process.env, env.appservice);
const { ManagedIdentityApplication } = await import("@azure/msal-node");

// verify checks a v1 token of Payroll API as the API does.
async function verify(token) {
  const doc = await (await fetch(`${fx.baseURL}/${fx.tenant.id}/.well-known/openid-configuration`)).json();
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), { issuer: doc.issuer, audience: "api://payroll", algorithms: ["RS256"] });
  return payload;
}

describe("msal-node ManagedIdentityApplication, App Service endpoint", () => {
  const tokens = [
    { name: "the endpoint's identity (system-assigned request)", managedIdentityIdParams: undefined },
    { name: "user-assigned by client id", managedIdentityIdParams: { userAssignedClientId: worker.clientId } },
    { name: "user-assigned by object id", managedIdentityIdParams: { userAssignedObjectId: worker.principalId } },
    { name: "user-assigned by resource id", managedIdentityIdParams: { userAssignedResourceId: worker.resourceId } },
  ];
  for (const tc of tokens) {
    test(tc.name, async () => {
      const app = new ManagedIdentityApplication(tc.managedIdentityIdParams ? { managedIdentityIdParams: tc.managedIdentityIdParams } : {});
      assert.equal(app.getManagedIdentitySource(), "AppService");
      const result = await app.acquireToken({ resource: "api://payroll" });
      const claims = await verify(result.accessToken);
      assert.equal(claims.appid, worker.clientId);
      assert.equal(claims.oid, worker.principalId);
      assert.equal(claims.appidacr, "2");
      assert.equal(claims.xms_mirid, worker.resourceId);
      assert.deepEqual(claims.roles, ["Payroll.Read.All"]);
      assert.ok(result.expiresOn.getTime() - Date.now() > 50 * 60_000, `expiresOn ${result.expiresOn}`);
    });
  }

  const refusals = [
    { name: "an identity not assigned to the API: AADSTS501051", id: { userAssignedClientId: web.clientId }, want: /AADSTS501051/ },
    { name: "an unknown identity", id: { userAssignedClientId: "99999999-9999-4999-8999-999999999999" }, want: /Identity not found/ },
  ];
  for (const tc of refusals) {
    test(tc.name, async () => {
      const app = new ManagedIdentityApplication({ managedIdentityIdParams: tc.id });
      await assert.rejects(app.acquireToken({ resource: "api://payroll" }), (err) => {
        assert.match(`${err.errorMessage ?? ""} ${err.message}`, tc.want);
        return true;
      });
    });
  }
});
