// The interactive flows (issue 14) in a real browser: Debian's chromium,
// driven by playwright-core, with @azure/msal-node as the application.
// Each test starts chromium with a fresh profile (--user-data-dir), so
// sessions never leak between tests; the redirect URI
// (http://127.0.0.1/redirect, registered without a port: Entra matches
// loopback redirect URIs on any port) is answered by a listener of this
// process on a free port, as the web application would. Screenshots of every page go to
// screenshots/ (gitignored), kept as artifacts of the run.
//
// The tests run in order: the consents one writes are the state the next
// one starts from.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { ConfidentialClientApplication, CryptoProvider, PublicClientApplication } from "@azure/msal-node";
import { decodeJwt } from "jose";
import { chromium } from "playwright-core";

const fx = JSON.parse(readFileSync(process.env.ISSUER_FIXTURE, "utf8"));
const ix = fx.interactive;
const { middle, downstream, native } = fx.delegated;
const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

// The flags a closed network needs: no sandbox (CI runs as root), no GPU,
// and nothing that phones home (QUIC, component updates, sync, first-run).
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// The application's redirect URI: every request is recorded and answered
// with a page, as the application's callback would.
const redirects = [];
const app = createServer((req, res) => {
  redirects.push(new URL(req.url, redirectBase));
  res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>Shop</title><h1>Back in Shop</h1>");
});
let redirectBase, redirectUri;
before(async () => {
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  redirectBase = `http://127.0.0.1:${app.address().port}`;
  redirectUri = `${redirectBase}/redirect`;
});
after(() => app.close());

// withBrowser runs fn with a fresh chromium profile; redirects collects the
// URLs the browser was sent to at the redirect URI. The server's
// certificate is issued by its local CA, which chromium does not know:
// ignoreHTTPSErrors accepts it (the TLS connection is still real).
async function withBrowser(fn) {
  const profile = mkdtempSync(join(tmpdir(), "issuer-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    ignoreHTTPSErrors: true,
    args: CHROMIUM_ARGS,
  });
  try {
    return await fn(ctx, redirects);
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// signIn types the user name and password and submits with the keyboard,
// as a user without a mouse would.
async function signIn(page, upn, name) {
  await page.waitForSelector("#username");
  await shot(page, `${name}-signin`);
  await page.fill("#username", upn);
  await page.focus("#password");
  await page.keyboard.type(ix.password);
  await page.keyboard.press("Enter");
}

// returned waits for the browser to reach the redirect URI and returns its
// query parameters.
async function returned(page, redirects) {
  await page.waitForURL((u) => u.href.startsWith(redirectUri));
  assert.ok(redirects.some((u) => u.href === page.url()), "the application received the redirect");
  return new URL(page.url()).searchParams;
}

function shopApp(tenantSegment) {
  return new ConfidentialClientApplication({
    auth: {
      clientId: ix.shop.appId, clientSecret: ix.shop.secret,
      authority: `${fx.baseURL}/${tenantSegment}`, knownAuthorities: [fx.host],
    },
  });
}

// cli runs a command of the issuer binary against the served database; it
// goes through the server's admin socket.
function cli(...args) {
  return JSON.parse(execFileSync(fx.bin, ["--db", fx.db, "-o", "json", ...args], { encoding: "utf8" }));
}

describe("interactive flows in chromium", { timeout: 600_000 }, () => {
  test("Cancel on the consent page returns access_denied (AADSTS65004)", async () => {
    await withBrowser(async (ctx, redirects) => {
      const page = await ctx.newPage();
      const url = await shopApp(fx.tenant.domain).getAuthCodeUrl({
        scopes: ["api://catalog/Catalog.Read"], redirectUri: redirectUri, state: "cancel-1",
      });
      await page.goto(url);
      await signIn(page, ix.alice, "cancel");
      await page.waitForSelector("text=Permissions requested");
      await shot(page, "cancel-consent");
      await page.click("button[value=cancel]");
      const q = await returned(page, redirects);
      assert.equal(q.get("error"), "access_denied");
      assert.match(q.get("error_description"), /^AADSTS65004:/);
      assert.equal(q.get("state"), "cancel-1");
    });
  });

  test("a user is stopped by an Admin-type scope (Need admin approval, AADSTS90094)", async () => {
    await withBrowser(async (ctx, redirects) => {
      const page = await ctx.newPage();
      await page.goto(await shopApp(fx.tenant.domain).getAuthCodeUrl({
        scopes: ["api://catalog/Catalog.Admin"], redirectUri: redirectUri,
      }));
      await signIn(page, ix.alice, "admin-only");
      await page.waitForSelector("text=Need admin approval");
      assert.match(await page.textContent(".error"), /AADSTS90094/);
      await shot(page, "admin-only-approval");
      await page.click("button[value=cancel]");
      assert.equal((await returned(page, redirects)).get("error"), "access_denied");
    });
  });

  test("msal-node authorization code flow, user consent, then on-behalf-of", async () => {
    await withBrowser(async (ctx, redirects) => {
      const page = await ctx.newPage();
      const cca = shopApp(fx.tenant.domain);
      const pkce = await new CryptoProvider().generatePkceCodes();
      const scopes = [`${middle.uri}/access_as_user`];
      await page.goto(await cca.getAuthCodeUrl({
        scopes, redirectUri: redirectUri, codeChallenge: pkce.challenge, codeChallengeMethod: "S256", state: "obo-1",
      }));
      await signIn(page, ix.alice, "code");
      await page.waitForSelector("text=Permissions requested");
      assert.equal(await page.isVisible("#org"), false, "a user is not offered consent for the organization");
      await shot(page, "code-consent");
      await page.click("button[value=accept]");
      const q = await returned(page, redirects);
      assert.equal(q.get("state"), "obo-1");
      await shot(page, "code-returned");
      const result = await cca.acquireTokenByCode({ code: q.get("code"), scopes, redirectUri: redirectUri, codeVerifier: pkce.verifier });
      const at = decodeJwt(result.accessToken);
      assert.equal(at.scp, "access_as_user");
      assert.equal(at.aud, middle.appId);
      assert.equal(at.preferred_username, ix.alice);
      assert.equal(result.account.username, ix.alice);

      const mid = new ConfidentialClientApplication({
        auth: { clientId: middle.appId, clientSecret: middle.secret, authority: `${fx.baseURL}/${fx.tenant.domain}`, knownAuthorities: [fx.host] },
      });
      const obo = await mid.acquireTokenOnBehalfOf({ oboAssertion: result.accessToken, scopes: [`${downstream.uri}/Data.Read`] });
      const down = decodeJwt(obo.accessToken);
      assert.equal(down.scp, "Data.Read");
      assert.equal(down.azp, middle.appId);
      assert.equal(down.oid, at.oid);

      const grants = cli("consent", "list", "--tenant", fx.tenant.domain, "--client", ix.shop.appId).oauth2PermissionGrants;
      assert.ok(grants.some((g) => g.consentType === "Principal" && g.scope === "access_as_user"), JSON.stringify(grants));
    });
  });

  test("an administrator consents for the organization; prompt=none with and without a session", async () => {
    await withBrowser(async (ctx, redirects) => {
      const page = await ctx.newPage();
      const cca = shopApp(fx.tenant.domain);
      const scopes = ["api://catalog/Catalog.Read", "api://catalog/Catalog.Admin"];
      await page.goto(await cca.getAuthCodeUrl({ scopes, redirectUri: redirectUri }));
      await signIn(page, ix.grace, "org");
      await page.waitForSelector("#org");
      assert.equal(await page.isChecked("#org"), false, "the organization box starts unticked");
      await page.check("#org");
      await shot(page, "org-consent");
      await page.click("button[value=accept]");
      const code = (await returned(page, redirects)).get("code");
      const result = await cca.acquireTokenByCode({ code, scopes, redirectUri: redirectUri });
      assert.equal(decodeJwt(result.accessToken).scp, "Catalog.Read Catalog.Admin");
      const grants = cli("consent", "list", "--tenant", fx.tenant.domain, "--client", ix.shop.appId).oauth2PermissionGrants;
      assert.ok(grants.some((g) => g.consentType === "AllPrincipals" && g.scope.includes("Catalog.Admin")), JSON.stringify(grants));

      // The session answers prompt=none without a page.
      await page.goto(await cca.getAuthCodeUrl({ scopes, redirectUri: redirectUri, prompt: "none" }));
      assert.ok((await returned(page, redirects)).get("code"), "prompt=none with a session gives a code");
    });
    await withBrowser(async (ctx, redirects) => {
      const page = await ctx.newPage();
      await page.goto(await shopApp(fx.tenant.domain).getAuthCodeUrl({
        scopes: ["api://catalog/Catalog.Read"], redirectUri: redirectUri, prompt: "none",
      }));
      const q = await returned(page, redirects);
      assert.equal(q.get("error"), "login_required");
      assert.match(q.get("error_description"), /^AADSTS50058:/);
    });
  });

  test("admin consent from a second tenant, then client credentials there", async () => {
    const fab = shopApp(ix.fabrikam.id);
    await assert.rejects(fab.acquireTokenByClientCredential({ scopes: ["api://catalog/.default"] }), /AADSTS700016|AADSTS7000229/);
    await withBrowser(async (ctx, redirects) => {
      const page = await ctx.newPage();
      const q = new URLSearchParams({ client_id: ix.shop.appId, redirect_uri: redirectUri, state: "ac-1", scope: "api://catalog/.default" });
      await page.goto(`${fx.baseURL}/${ix.fabrikam.id}/v2.0/adminconsent?${q}`);
      await signIn(page, ix.fay, "adminconsent");
      await page.waitForSelector("text=Permissions requested");
      assert.match(await page.textContent("ul.perms"), /Catalog\.Sync/);
      await shot(page, "adminconsent-consent");
      await page.click("button[value=accept]");
      const back = await returned(page, redirects);
      assert.equal(back.get("admin_consent"), "True");
      assert.equal(back.get("tenant"), ix.fabrikam.id);
      assert.equal(back.get("state"), "ac-1");
    });
    const result = await fab.acquireTokenByClientCredential({ scopes: ["api://catalog/.default"] });
    const at = decodeJwt(result.accessToken);
    assert.equal(at.tid, ix.fabrikam.id);
    assert.deepEqual(at.roles, ["Catalog.Sync"]);
  });

  test("msal-node device code, the code entered in the browser", async () => {
    const pca = new PublicClientApplication({
      auth: { clientId: native.appId, authority: `${fx.baseURL}/${fx.tenant.domain}`, knownAuthorities: [fx.host] },
    });
    let browserDone;
    const result = await pca.acquireTokenByDeviceCode({
      scopes: [`${middle.uri}/access_as_user`],
      deviceCodeCallback: (resp) => {
        browserDone = withBrowser(async (ctx) => {
          const page = await ctx.newPage();
          await page.goto(resp.verificationUri);
          await shot(page, "device-entry");
          await page.fill("#otc", resp.userCode);
          await page.keyboard.press("Enter");
          await signIn(page, ix.alice, "device");
          await page.waitForSelector("text=You may now close this window");
          await shot(page, "device-done");
        });
      },
    });
    await browserDone;
    const at = decodeJwt(result.accessToken);
    assert.equal(at.scp, "access_as_user");
    assert.equal(at.azpacr, "0");
    assert.equal(result.account.username, ix.alice);
  });
});
