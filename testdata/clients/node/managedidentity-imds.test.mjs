// @azure/identity's DefaultAzureCredential, unmodified, against the IMDS
// endpoint of `issuer serve --managed-identity-addr` (issue 15), found
// through AZURE_POD_IDENTITY_AUTHORITY_HOST as `issuer identity env`
// prints it, with AZURE_CLIENT_ID naming the user-assigned identity. The
// SDKs read the environment once, so this file, which node --test runs in
// a process of its own, sets it before loading them.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { decodeJwt } from "jose";

const fx = JSON.parse(readFileSync(process.env.ISSUER_FIXTURE, "utf8"));
const { worker, web, env } = fx.managedIdentities;
for (const name of ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"]) {
  delete process.env[name];
}
process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = env.appservice.AZURE_POD_IDENTITY_AUTHORITY_HOST;
process.env.AZURE_CLIENT_ID = worker.clientId;
const { DefaultAzureCredential, ManagedIdentityCredential } = await import("@azure/identity");

describe("@azure/identity, IMDS endpoint", () => {
  test("DefaultAzureCredential gets the user-assigned identity's token", async () => {
    const token = await new DefaultAzureCredential().getToken("api://payroll/.default");
    const claims = decodeJwt(token.token);
    assert.equal(claims.aud, "api://payroll");
    assert.equal(claims.appid, worker.clientId);
    assert.equal(claims.xms_mirid, worker.resourceId);
    assert.deepEqual(claims.roles, ["Payroll.Read.All"]);
    assert.ok(token.expiresOnTimestamp - Date.now() > 50 * 60_000);
  });

  test("ManagedIdentityCredential for an identity not assigned to the API is refused (AADSTS501051)", async () => {
    const cred = new ManagedIdentityCredential({ clientId: web.clientId });
    await assert.rejects(cred.getToken("api://payroll/.default"), (err) => {
      assert.match(err.message, /AADSTS501051/);
      return true;
    });
  });
});
