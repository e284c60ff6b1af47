#!/usr/bin/python3
"""Runs the Python client suite against the real `issuer serve` binary.

  1. go build -o <tmp>/issuer ./cmd/issuer (from the repository root);
  2. seeds a database in <tmp> with the CLI (-o json) before serve starts,
     since serve holds the database lock;
  3. starts `issuer serve --addr 127.0.0.1:0` and reads the URL and the CA
     file from its ready line on stderr;
  4. runs test_clients.py in a child /usr/bin/python3 with
     REQUESTS_CA_BUNDLE and SSL_CERT_FILE naming that CA (requests, which
     MSAL Python and azure-core use, and urllib, which PyJWT's JWKS client
     uses, read them) and ISSUER_FIXTURE naming a JSON file with the URL and
     the ids;
  5. stops the server with SIGTERM and removes <tmp>.

The exit status is the test run's, and its last line counts the tests.
Needs go on PATH and Debian's python3-msal, python3-azure and python3-jwt
(the interpreter is Debian's /usr/bin/python3, where apt installs them);
reads no stdin.
"""

import json
import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# The ready line is "issuer: listening on URL (ca: FILE, …)"; later details
# (admin socket, db) may follow the CA in any number.
READY = re.compile(r"^issuer: listening on (https://127\.0\.0\.1:\d+) \(ca: ([^,)]+)[,)]")
READY_TIMEOUT = 30
STOP_TIMEOUT = 15
PASSWORD = "ada-password-0001"


class Issuer:
    """The binary, its database and the running server, in one temporary
    directory."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.bin = os.path.join(tmp, "issuer")
        self.db = os.path.join(tmp, "issuer.db")
        self.server = None
        self.log = []

    def build(self):
        subprocess.run([os.environ.get("GO", "go"), "build", "-o", self.bin, "./cmd/issuer"],
                       cwd=REPO_ROOT, stdin=subprocess.DEVNULL, check=True, timeout=300)

    def cli(self, *args):
        """Runs `issuer --db DB -o json ARGS…` and returns its JSON output."""
        p = subprocess.run([self.bin, "--db", self.db, "-o", "json", *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("issuer %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None

    def certificate(self, app_id, name):
        """Generates a key pair and certificate for the application with
        `app cert create` and returns the PEM files' paths."""
        cert, key = os.path.join(self.tmp, name + ".pem"), os.path.join(self.tmp, name + ".key")
        self.cli("app", "cert", "create", "--app", app_id, "--out-cert", cert, "--out-key", key)
        return {"certFile": cert, "keyFile": key}

    def start(self):
        """Starts serve on a free loopback port; returns (URL, CA file)."""
        self.server = subprocess.Popen([self.bin, "--db", self.db, "serve", "--addr", "127.0.0.1:0"],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
        ready = {}
        found = threading.Event()

        def read():
            for line in self.server.stderr:
                self.log.append(line)
                m = not found.is_set() and READY.match(line)
                if m:
                    ready["url"], ready["ca"] = m.group(1), m.group(2)
                    found.set()
            found.set()  # the server exited

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(READY_TIMEOUT) or "url" not in ready:
            raise RuntimeError("issuer serve was not ready after %ds" % READY_TIMEOUT)
        return ready["url"], ready["ca"]

    def stop(self):
        if self.server is None or self.server.poll() is not None:
            return
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def seed(iss):
    """Builds the scenario the tests use, with the commands a user types.

    Contoso: Orders API (v2 tokens, multi-tenant, the optional claim idtyp)
    and Legacy API (v1), each with an application role; Payroll API, which requires assignment;
    Nightly Job, a daemon granted both roles by admin consent, with a secret
    and a certificate; Idle Job, granted nothing, with its own certificate;
    Orphan Job, whose service principal was removed; Partner Job, a
    multi-tenant daemon granted Orders.Read.All; the delegated chain Native
    -> Middle Tier -> Downstream API with a user, Ada, who is in the security
    group Engineering, itself in Everyone; Engineering holds Middle Tier's
    role Middle.Reader, and Middle Tier and Native ask for the groups claim.
    Fabrikam, a second tenant, consents to Partner Job.
    """
    tenant = iss.cli("tenant", "add", "--name", "contoso")
    domain = tenant["domains"][0]

    def app(name, *flags):
        return iss.cli("app", "add", "--tenant", domain, "--name", name, *flags)["appId"]

    def secret(app_id):
        return iss.cli("app", "secret", "add", "--app", app_id, "--name", "python")["secretText"]

    orders = app("Orders API", "--identifier-uri", "api://orders", "--token-version", "2", "--multi-tenant")
    legacy = app("Legacy API", "--identifier-uri", "api://legacy", "--token-version", "1")
    payroll = app("Payroll API", "--identifier-uri", "api://payroll")
    iss.cli("app", "role", "add", "--app", orders, "--value", "Orders.Read.All")
    iss.cli("app", "role", "add", "--app", legacy, "--value", "Legacy.Read.All")
    iss.cli("app", "role", "add", "--app", payroll, "--value", "Payroll.Read.All")
    iss.cli("sp", "update", "--tenant", domain, "--app", payroll, "--assignment-required=true")
    # APIs tell app-only from user tokens by the optional claim idtyp.
    iss.cli("app", "update", orders, "--optional-claim", "accessToken:idtyp")

    nightly = {"appId": app("Nightly Job")}
    nightly["secret"] = secret(nightly["appId"])
    iss.cli("app", "permission", "add", "--app", nightly["appId"], "--resource", "api://orders", "--role", "Orders.Read.All")
    iss.cli("app", "permission", "add", "--app", nightly["appId"], "--resource", "api://legacy", "--role", "Legacy.Read.All")
    iss.cli("consent", "grant", "--tenant", domain, "--client", nightly["appId"], "--admin")
    nightly["cert"] = iss.certificate(nightly["appId"], "nightly")
    idle = {"appId": app("Idle Job")}
    idle["secret"] = secret(idle["appId"])
    idle["cert"] = iss.certificate(idle["appId"], "idle")
    orphan = {"appId": app("Orphan Job")}
    orphan["secret"] = secret(orphan["appId"])
    iss.cli("sp", "remove", "--tenant", domain, "--app", orphan["appId"])

    partner = {"appId": app("Partner Job", "--multi-tenant")}
    partner["secret"] = secret(partner["appId"])
    iss.cli("app", "permission", "add", "--app", partner["appId"], "--resource", "api://orders", "--role", "Orders.Read.All")
    fabrikam = iss.cli("tenant", "add", "--name", "fabrikam")
    iss.cli("consent", "grant", "--tenant", fabrikam["domains"][0], "--client", partner["appId"], "--admin")

    ada = iss.cli("user", "add", "--tenant", domain, "--upn", "ada@" + domain, "--name", "Ada Lovelace", "--password", PASSWORD)
    native = app("Native", "--public-client")
    middle = app("Middle Tier", "--identifier-uri", "api://middle", "--token-version", "2")
    downstream = app("Downstream API", "--identifier-uri", "api://downstream", "--token-version", "2")
    iss.cli("app", "scope", "add", "--app", middle, "--value", "access_as_user")
    iss.cli("app", "scope", "add", "--app", downstream, "--value", "Data.Read")
    iss.cli("app", "scope", "add", "--app", downstream, "--value", "Data.Write", "--type", "Admin")
    iss.cli("app", "permission", "add", "--app", native, "--resource", "api://middle", "--scope", "access_as_user")
    iss.cli("app", "permission", "add", "--app", middle, "--resource", "api://downstream", "--scope", "Data.Read")
    middle_secret = secret(middle)
    middle_cert = iss.certificate(middle, "middle")
    iss.cli("consent", "grant", "--tenant", domain, "--client", native, "--admin")
    iss.cli("consent", "grant", "--tenant", domain, "--client", middle, "--admin")

    engineering = iss.cli("group", "add", "--tenant", domain, "--name", "Engineering")
    everyone = iss.cli("group", "add", "--tenant", domain, "--name", "Everyone")
    iss.cli("group", "member", "add", "--tenant", domain, "Engineering", ada["userPrincipalName"])
    iss.cli("group", "member", "add", "--tenant", domain, "Everyone", engineering["id"])
    iss.cli("app", "role", "add", "--app", middle, "--value", "Middle.Reader", "--member-types", "User")
    iss.cli("role", "assign", "--tenant", domain, "--resource", "api://middle", "--role", "Middle.Reader", "--group", "Engineering")
    iss.cli("app", "update", middle, "--group-membership-claims", "SecurityGroup")
    iss.cli("app", "update", native, "--group-membership-claims", "SecurityGroup")

    return {
        "tenant": {"id": tenant["id"], "domain": domain},
        "tenant2": {"id": fabrikam["id"], "domain": fabrikam["domains"][0]},
        "apis": {
            "orders": {"appId": orders, "uri": "api://orders", "role": "Orders.Read.All"},
            "legacy": {"appId": legacy, "uri": "api://legacy", "role": "Legacy.Read.All"},
            "payroll": {"appId": payroll, "uri": "api://payroll"},
        },
        "daemons": {"nightly": nightly, "idle": idle, "orphan": orphan, "partner": partner},
        "delegated": {
            "user": {"id": ada["id"], "upn": ada["userPrincipalName"], "password": PASSWORD,
                     "groups": sorted([engineering["id"], everyone["id"]])},
            "native": {"appId": native},
            "middle": {"appId": middle, "uri": "api://middle", "secret": middle_secret, "cert": middle_cert},
            "downstream": {"appId": downstream, "uri": "api://downstream"},
        },
    }


def main():
    tmp = tempfile.mkdtemp(prefix="issuer-python-clients-")
    iss = Issuer(tmp)
    code = 1
    try:
        iss.build()
        fixture = seed(iss)
        fixture["baseURL"], fixture["caFile"] = iss.start()
        path = os.path.join(tmp, "fixture.json")
        with open(path, "w") as f:
            json.dump(fixture, f, indent=2)
        env = dict(os.environ, REQUESTS_CA_BUNDLE=fixture["caFile"], SSL_CERT_FILE=fixture["caFile"],
                   ISSUER_FIXTURE=path, PYTHONDONTWRITEBYTECODE="1")
        code = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "test_clients.py")],
                              cwd=HERE, env=env, stdin=subprocess.DEVNULL, timeout=600).returncode
    except Exception as e:  # reported with the server's log below
        print("run.py: %s" % e, file=sys.stderr)
    finally:
        iss.stop()
        if code != 0 and iss.log:
            print("--- issuer serve stderr\n" + "".join(iss.log), file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
