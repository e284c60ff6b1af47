// The Microsoft Graph JavaScript SDK (@microsoft/microsoft-graph-client),
// unmodified, against the Graph subset of `issuer serve` (issue 16): its
// base URL set to the server's Graph and the server's host allowed for
// the bearer token msal-node gets for https://graph.microsoft.com.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { ConfidentialClientApplication } from "@azure/msal-node";
import { Client } from "@microsoft/microsoft-graph-client";

const fx = JSON.parse(readFileSync(process.env.ISSUER_FIXTURE, "utf8"));
const { provisioner } = fx.daemons;

async function graphToken() {
  const cca = new ConfidentialClientApplication({
    auth: { clientId: provisioner.appId, clientSecret: provisioner.secret, authority: `${fx.baseURL}/${fx.tenant.id}`, knownAuthorities: [new URL(fx.baseURL).host] },
  });
  return (await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })).accessToken;
}

function client(token) {
  return Client.init({
    baseUrl: `${fx.baseURL}/graph/`,
    defaultVersion: "v1.0",
    customHosts: new Set([new URL(fx.baseURL).hostname]),
    authProvider: (done) => done(null, token),
  });
}

describe("Microsoft Graph JavaScript SDK", () => {
  test("registers an API and a daemon, assigns the role, and MSAL gets the daemon's token", async () => {
    const gc = client(await graphToken());
    const roleId = crypto.randomUUID();
    const api = await gc.api("/applications").post({
      displayName: "Inventory API", identifierUris: ["api://inventory-node"],
      appRoles: [{ id: roleId, value: "Inventory.Read", displayName: "Read inventory", description: "Read inventory", allowedMemberTypes: ["Application"], isEnabled: true }],
    });
    const found = await gc.api("/applications").filter(`appId eq '${api.appId}'`).select("id,appId").get();
    assert.deepEqual(found.value.map((a) => a.id), [api.id]);
    const apiSP = await gc.api("/servicePrincipals").post({ appId: api.appId });

    const daemon = await gc.api("/applications").post({ displayName: "Inventory Sync" });
    const secret = await gc.api(`/applications/${daemon.id}/addPassword`).post({ passwordCredential: { displayName: "node" } });
    assert.ok(secret.secretText);
    const daemonSP = await gc.api("/servicePrincipals").post({ appId: daemon.appId });
    await gc.api(`/servicePrincipals/${apiSP.id}/appRoleAssignedTo`).post({ principalId: daemonSP.id, resourceId: apiSP.id, appRoleId: roleId });

    const cca = new ConfidentialClientApplication({
      auth: { clientId: daemon.appId, clientSecret: secret.secretText, authority: `${fx.baseURL}/${fx.tenant.id}`, knownAuthorities: [new URL(fx.baseURL).host] },
    });
    const result = await cca.acquireTokenByClientCredential({ scopes: ["api://inventory-node/.default"] });
    const claims = JSON.parse(Buffer.from(result.accessToken.split(".")[1], "base64url"));
    assert.deepEqual(claims.roles, ["Inventory.Read"]);

    await gc.api(`/applications/${daemon.id}`).delete();
    await assert.rejects(gc.api(`/servicePrincipals/${daemonSP.id}`).get(), (err) => {
      assert.equal(err.statusCode, 404);
      assert.equal(err.code, "Request_ResourceNotFound");
      return true;
    });
  });

  test("creates a group, adds a member by $ref, and reads memberOf and getMemberGroups", async () => {
    const gc = client(await graphToken());
    const job = await gc.api("/applications").post({ displayName: "Group Member Job" });
    const jobSP = await gc.api("/servicePrincipals").post({ appId: job.appId });
    const group = await gc.api("/groups").post({ displayName: "Inventory Readers", mailEnabled: false, mailNickname: "inventory-readers", securityEnabled: true });
    assert.deepEqual(group.groupTypes, []);
    await gc.api(`/groups/${group.id}/members/$ref`).post({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${jobSP.id}` });
    const members = await gc.api(`/groups/${group.id}/members`).get();
    assert.deepEqual(members.value.map((m) => [m.id, m["@odata.type"]]), [[jobSP.id, "#microsoft.graph.servicePrincipal"]]);
    const memberOf = await gc.api(`/servicePrincipals/${jobSP.id}/memberOf`).get();
    assert.deepEqual(memberOf.value.map((g) => [g.id, g.displayName]), [[group.id, "Inventory Readers"]]);
    const ids = await gc.api(`/servicePrincipals/${jobSP.id}/getMemberGroups`).post({ securityEnabledOnly: true });
    assert.deepEqual(ids.value, [group.id]);
    await assert.rejects(gc.api(`/groups/${group.id}/members/$ref`).post({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${jobSP.id}` }), (err) => {
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, "Request_BadRequest");
      assert.equal(err.message, "One or more added object references already exist for the following modified properties: 'members'.");
      return true;
    });
    await gc.api(`/groups/${group.id}/members/${jobSP.id}/$ref`).delete();
    await gc.api(`/groups/${group.id}`).delete();
    await gc.api(`/applications/${job.id}`).delete();
  });

  test("refusals carry Graph's error code and status", async () => {
    const gc = client(await graphToken());
    await assert.rejects(gc.api("/applications").post({ displayName: "x", colour: "red" }), (err) => {
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, "Request_BadRequest");
      assert.ok(err.requestId, "request-id");
      return true;
    });
    await assert.rejects(client("not-a-token").api("/applications").get(), (err) => {
      assert.equal(err.statusCode, 401);
      assert.equal(err.code, "InvalidAuthenticationToken");
      return true;
    });
  });
});
