// Runs the Node client suite against the real `issuer serve` binary.
//
//   1. go build -o <tmp>/issuer ./cmd/issuer (from the repository root);
//   2. seeds a database in <tmp> with the CLI (-o json), before serve
//      starts: serve holds the database lock;
//   3. starts `issuer serve --addr 127.0.0.1:0` and reads the port and the
//      CA file from its ready line on stderr;
//   4. runs `node --test` on *.test.mjs in a child process with
//      NODE_EXTRA_CA_CERTS set to that CA (Node reads it only at start)
//      and ISSUER_FIXTURE naming a JSON file with the URL and the ids;
//   5. stops the server with SIGTERM and removes <tmp>.
//
// Exit status is the test run's. Needs go and node on PATH; reads no stdin.

import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
// The ready line is "issuer: listening on URL (ca: FILE, …)"; later
// details (admin socket, db) may follow the CA in any number.
const READY = /^issuer: listening on (https:\/\/127\.0\.0\.1:\d+) \(ca: ([^,)]+)[,)]/;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

const tmp = mkdtempSync(join(tmpdir(), "issuer-node-clients-"));
const bin = join(tmp, process.platform === "win32" ? "issuer.exe" : "issuer");
const db = join(tmp, "issuer.db");
let server;
let serverLog = "";
let code = 1;

try {
  build();
  const fixture = seed();
  const ready = await startServer();
  Object.assign(fixture, ready, { bin, db });
  // The managed identity endpoints' environment comes from the running
  // server, which holds the listener and its secret.
  for (const source of ["appservice"]) {
    fixture.managedIdentities.env[source] = cli("identity", "env", "--tenant", fixture.tenant.domain, "--source", source, "orders-worker");
  }
  const fixtureFile = join(tmp, "fixture.json");
  writeFileSync(fixtureFile, JSON.stringify(fixture, null, 2));
  code = await runTests(fixture.caFile, fixtureFile);
} catch (err) {
  console.error(`run.mjs: ${err.stack || err}`);
} finally {
  await stopServer();
  if (code !== 0 && serverLog) {
    console.error("--- issuer serve stderr\n" + serverLog);
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);

function build() {
  execFileSync(process.env.GO || "go", ["build", "-o", bin, "./cmd/issuer"], {
    cwd: repoRoot,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 300_000,
  });
}

// cli runs `issuer --db <db> -o json args…` and returns its JSON output.
function cli(...args) {
  const out = execFileSync(bin, ["--db", db, "-o", "json", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  return out.trim() ? JSON.parse(out) : null;
}

// seed builds the scenario the tests use, with the commands a user types:
// one tenant; Orders API (v2 tokens) and Legacy API (v1 tokens), each with
// an application role; Payroll API, which requires assignment; Nightly Job,
// a daemon granted both roles by admin consent; Idle Job, granted nothing;
// both daemons with a secret and a certificate; and the delegated chain
// Native -> Middle Tier -> Downstream API with a user, Ada.
function seed() {
  const tenant = cli("tenant", "add", "--name", "contoso");
  const domain = tenant.domains[0];
  const api = (name, uri, version) => {
    const args = ["app", "add", "--tenant", domain, "--name", name, "--identifier-uri", uri];
    if (version) args.push("--token-version", String(version));
    return cli(...args).appId;
  };
  const orders = api("Orders API", "api://orders", 2);
  const legacy = api("Legacy API", "api://legacy", 1);
  const payroll = api("Payroll API", "api://payroll");
  cli("app", "role", "add", "--app", orders, "--value", "Orders.Read.All");
  cli("app", "role", "add", "--app", legacy, "--value", "Legacy.Read.All");
  cli("app", "role", "add", "--app", payroll, "--value", "Payroll.Read.All");
  cli("sp", "update", "--tenant", domain, "--app", payroll, "--assignment-required=true");

  const daemon = (name) => {
    const appId = cli("app", "add", "--tenant", domain, "--name", name).appId;
    const secret = cli("app", "secret", "add", "--app", appId, "--name", "node").secretText;
    return { appId, secret };
  };
  const nightly = daemon("Nightly Job");
  cli("app", "permission", "add", "--app", nightly.appId, "--resource", "api://orders", "--role", "Orders.Read.All");
  cli("app", "permission", "add", "--app", nightly.appId, "--resource", "api://legacy", "--role", "Legacy.Read.All");
  cli("consent", "grant", "--tenant", domain, "--client", nightly.appId, "--admin");
  const idle = daemon("Idle Job");
  // Certificates: the key pairs stay in <tmp>; Idle Job's is registered on
  // Idle Job only, so Nightly Job presenting it is refused.
  nightly.cert = certificate(nightly.appId, "nightly");
  idle.cert = certificate(idle.appId, "idle");
  // Microsoft Graph (graph.test.mjs): a provisioner holding Graph's
  // application permissions, the one step outside Graph.
  const provisioner = daemon("Provisioner");
  for (const role of ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"]) {
    cli("role", "assign", "--tenant", domain, "--resource", "https://graph.microsoft.com", "--role", role, "--client", provisioner.appId);
  }

  // Delegated flows: Ada signs in to Native (a public client) with her
  // password for the Middle Tier's access_as_user; the Middle Tier
  // exchanges her token on her behalf for Downstream's Data.Read. Data.Write
  // (type Admin) is exposed but nobody requires or consents to it.
  const ada = cli("user", "add", "--tenant", domain, "--upn", `ada@${domain}`, "--name", "Ada Lovelace", "--password", "ada-password-0001");
  const native = cli("app", "add", "--tenant", domain, "--name", "Native", "--public-client").appId;
  const middle = api("Middle Tier", "api://middle", 2);
  const downstream = api("Downstream API", "api://downstream", 2);
  cli("app", "scope", "add", "--app", middle, "--value", "access_as_user");
  cli("app", "scope", "add", "--app", downstream, "--value", "Data.Read");
  cli("app", "scope", "add", "--app", downstream, "--value", "Data.Write", "--type", "Admin");
  cli("app", "permission", "add", "--app", native, "--resource", "api://middle", "--scope", "access_as_user");
  cli("app", "permission", "add", "--app", middle, "--resource", "api://downstream", "--scope", "Data.Read");
  const middleSecret = cli("app", "secret", "add", "--app", middle, "--name", "node").secretText;
  const middleCert = certificate(middle, "middle");
  cli("consent", "grant", "--tenant", domain, "--client", native, "--admin");
  cli("consent", "grant", "--tenant", domain, "--client", middle, "--admin");

  // Interactive flows (interactive.test.mjs): Shop, a multi-tenant web app
  // with a secret and a localhost redirect URI, requires the multi-tenant
  // Catalog API's Catalog.Read (User), Catalog.Admin (Admin) and
  // Catalog.Sync (an application permission). Alice is a user, Grace the
  // Global Administrator; Fabrikam is another tenant with its own
  // administrator, Fay. Native (public) gets a localhost redirect URI too.
  const password = "interactive-password-0001";
  const catalog = cli("app", "add", "--tenant", domain, "--name", "Catalog API", "--identifier-uri", "api://catalog", "--token-version", "2", "--multi-tenant").appId;
  cli("app", "scope", "add", "--app", catalog, "--value", "Catalog.Read", "--user-consent-name", "Read the catalog",
    "--user-consent-description", "Lets Shop read the catalog as you.");
  cli("app", "scope", "add", "--app", catalog, "--value", "Catalog.Admin", "--type", "Admin", "--admin-consent-name", "Administer the catalog");
  cli("app", "role", "add", "--app", catalog, "--value", "Catalog.Sync");
  // Loopback http redirect URIs match with any port (Entra's rule), so
  // the test's own listener may take a free one.
  const redirectUri = "http://127.0.0.1/redirect";
  const shop = cli("app", "add", "--tenant", domain, "--name", "Shop", "--multi-tenant", "--web-redirect-uri", redirectUri).appId;
  const shopSecret = cli("app", "secret", "add", "--app", shop, "--name", "node").secretText;
  cli("app", "permission", "add", "--app", shop, "--resource", "api://catalog", "--scope", "Catalog.Read", "--scope", "Catalog.Admin", "--role", "Catalog.Sync");
  cli("app", "update", native, "--public-client-redirect-uri", "http://localhost");
  const alice = cli("user", "add", "--tenant", domain, "--upn", `alice@${domain}`, "--name", "Alice", "--password", password);
  const grace = cli("user", "add", "--tenant", domain, "--upn", `grace@${domain}`, "--name", "Grace", "--password", password,
    "--directory-role", "Global Administrator");
  const fabrikam = cli("tenant", "add", "--name", "fabrikam");
  const fay = cli("user", "add", "--tenant", fabrikam.domains[0], "--upn", `fay@${fabrikam.domains[0]}`, "--name", "Fay", "--password", password,
    "--directory-role", "Application Administrator");

  // Managed identities (managedidentity.test.mjs): orders-worker, a
  // user-assigned identity holding Payroll API's role, and orders-web, a
  // system-assigned one holding none.
  const worker = cli("identity", "add", "--tenant", domain, "--name", "orders-worker");
  const web = cli("identity", "add", "--tenant", domain, "--system-assigned", "--resource", "orders-web");
  cli("role", "assign", "--tenant", domain, "--resource", "api://payroll", "--role", "Payroll.Read.All", "--client", worker.clientId);

  return {
    tenant: { id: tenant.id, domain },
    managedIdentities: {
      worker: { clientId: worker.clientId, principalId: worker.principalId, resourceId: worker.resourceId },
      web: { clientId: web.clientId, principalId: web.principalId },
      env: {},
    },
    apis: {
      orders: { appId: orders, uri: "api://orders", role: "Orders.Read.All" },
      legacy: { appId: legacy, uri: "api://legacy", role: "Legacy.Read.All" },
      payroll: { appId: payroll, uri: "api://payroll" },
    },
    daemons: { nightly, idle, provisioner },
    delegated: {
      user: { id: ada.id, upn: ada.userPrincipalName, password: "ada-password-0001" },
      native: { appId: native, uri: "api://middle" },
      middle: { appId: middle, uri: "api://middle", secret: middleSecret, cert: middleCert },
      downstream: { appId: downstream, uri: "api://downstream" },
    },
    interactive: {
      password,
      shop: { appId: shop, secret: shopSecret, redirectUri },
      catalog: { appId: catalog, uri: "api://catalog" },
      alice: alice.userPrincipalName,
      grace: grace.userPrincipalName,
      fay: fay.userPrincipalName,
      fabrikam: { id: fabrikam.id, domain: fabrikam.domains[0] },
    },
  };
}

// certificate generates a key pair and a self-signed certificate for the
// application with `app cert create` and returns the PEM files' paths.
function certificate(appId, name) {
  const certFile = join(tmp, `${name}.pem`);
  const keyFile = join(tmp, `${name}.key`);
  cli("app", "cert", "create", "--app", appId, "--out-cert", certFile, "--out-key", keyFile);
  return { certFile, keyFile };
}

// startServer starts serve on a free loopback port and resolves with the
// base URL, host:port and CA file of its ready line.
async function startServer() {
  server = spawn(bin, ["--db", db, "serve", "--addr", "127.0.0.1:0", "--managed-identity-addr", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  const lines = createInterface({ input: server.stderr });
  return await new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`issuer serve not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    let ready = false;
    lines.on("line", (line) => {
      serverLog += line + "\n";
      const m = !ready && READY.exec(line);
      if (m) {
        ready = true;
        clearTimeout(timer);
        const url = new URL(m[1]);
        resolveReady({ baseURL: m[1], host: url.host, caFile: m[2] });
      }
    });
    server.once("exit", (status, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`issuer serve exited (${status ?? signal}) before it was ready`));
    });
  });
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, "exit");
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// runTests runs node's test runner on the suite in a child process that
// trusts the CA, and resolves with its exit status.
async function runTests(caFile, fixtureFile) {
  const files = readdirSync(here).filter((f) => f.endsWith(".test.mjs")).sort();
  const child = spawn(
    process.execPath,
    ["--test", "--test-reporter=spec", "--test-timeout=600000", ...files],
    {
      cwd: here,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, ISSUER_FIXTURE: fixtureFile },
    },
  );
  const [status, signal] = await once(child, "exit");
  return status ?? (signal ? 1 : 0);
}
