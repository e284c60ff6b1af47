"""MSAL Python, azure.identity and PyJWT against a real `issuer serve`.

Started by run.py, which seeds the server, trusts its CA through
REQUESTS_CA_BUNDLE and SSL_CERT_FILE and names the fixture in
ISSUER_FIXTURE. Every token is validated the way an API written in Python
would: PyJWT with the keys of the issuer's JWKS, the audience and the
issuer of its discovery document. A refusal is asserted through what the
library reports: MSAL Python's error dict (error, error_codes), or
azure.identity's ClientAuthenticationError.

Debian bookworm packages MSAL Python 1.21, azure.identity 1.13.0b2 and
PyJWT 2.6; the workarounds below are for those versions.
"""

import base64
import hashlib
import json
import os
import sys
import time
import unittest
import uuid
from urllib.parse import urlsplit, urlunsplit

import jwt
import msal
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential, OnBehalfOfCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes

with open(os.environ["ISSUER_FIXTURE"]) as f:
    FX = json.load(f)
BASE = FX["baseURL"]
TENANT, TENANT2 = FX["tenant"], FX["tenant2"]
APIS, DAEMONS, DELEGATED = FX["apis"], FX["daemons"], FX["delegated"]
ADA = DELEGATED["user"]


class Session(requests.Session):
    """An http_client for MSAL Python (its documented parameter) that
    counts token requests, so a test can tell a cache hit from a network
    call, and puts the authority's port back where MSAL Python 1.21 drops
    it.

    MSAL Python 1.21 builds the user realm discovery URL of the password
    flow from the authority's host name alone
    ("https://{instance}/common/userrealm/{username}", where instance is
    urlparse(authority).hostname), so with an authority on any port but 443
    it asks port 443 and fails to connect. Every other URL it derives keeps
    the port. The cleanest fix that needs neither a server on port 443 nor
    MSAL's private state is this client: a URL for the authority's host that
    names no port gets the authority's port.
    """

    def __init__(self, authority=BASE):
        super().__init__()
        a = urlsplit(authority)
        self.host, self.netloc = a.hostname, a.netloc
        self.token_posts = []

    def request(self, method, url, *args, **kwargs):
        u = urlsplit(url)
        if u.hostname == self.host and u.port is None:
            url = urlunsplit(u._replace(netloc=self.netloc))
        if method.upper() == "POST" and u.path.endswith("/token"):
            self.token_posts.append(u.path)
        return super().request(method, url, *args, **kwargs)


def confidential(client, tenant=TENANT["id"], credential=None, cache=None):
    """A confidential client. instance_discovery=False skips the instance
    discovery MSAL Python would otherwise send to login.microsoftonline.com
    for a host it does not know."""
    http = Session()
    app = msal.ConfidentialClientApplication(
        client["appId"], client_credential=credential or client["secret"],
        authority="%s/%s" % (BASE, tenant), instance_discovery=False, http_client=http, token_cache=cache)
    return app, http


def public(tenant=TENANT["id"], cache=None):
    """Native, the public client Ada signs in to."""
    http = Session()
    app = msal.PublicClientApplication(
        DELEGATED["native"]["appId"], authority="%s/%s" % (BASE, tenant),
        instance_discovery=False, http_client=http, token_cache=cache)
    return app, http


def certificate(files):
    """MSAL Python's certificate credential for the PEM files `issuer app
    cert create` wrote: the private key and the certificate's SHA-1
    thumbprint in hex (MSAL Python 1.21 signs RS256 with x5t)."""
    with open(files["certFile"], "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(files["keyFile"]) as f:
        key = f.read()
    return {"private_key": key, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}, cert


def assertion(client, files, tenant=TENANT["id"], audience=None):
    """A client assertion (RFC 7523) built and signed with PyJWT, the way
    an application with its own signing code (or a key vault) presents its
    certificate."""
    cred, cert = certificate(files)
    now = int(time.time())
    claims = {
        "aud": audience or "%s/%s/oauth2/v2.0/token" % (BASE, tenant),
        "iss": client["appId"], "sub": client["appId"],
        "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600,
    }
    x5t = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()
    return jwt.encode(claims, cred["private_key"], algorithm="RS256", headers={"x5t": x5t})


_jwks = {}


def validate(token, audience, tenant=TENANT["id"], version=2):
    """Validates token as an API would with PyJWT: the signature with the
    key its kid names in the JWKS the tenant's discovery document points to,
    exp/nbf, the audience and the issuer of that document."""
    path = "v2.0/.well-known/openid-configuration" if version == 2 else ".well-known/openid-configuration"
    disc = requests.get("%s/%s/%s" % (BASE, tenant, path), timeout=30).json()
    client = _jwks.setdefault(disc["jwks_uri"], jwt.PyJWKClient(disc["jwks_uri"]))
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience,
                      issuer=disc["issuer"].replace("{tenantid}", tenant))


def ok(test, result):
    """Asserts an MSAL result is a token and returns it."""
    test.assertIn("access_token", result, "MSAL returned %r" % {k: result.get(k) for k in ("error", "error_description")})
    return result


def refused(test, result, code, error):
    """Asserts an MSAL result is Entra's refusal code with error."""
    test.assertNotIn("access_token", result)
    test.assertEqual((result.get("error"), result.get("error_codes")), (error, [code]), result.get("error_description"))


class ClientCredentials(unittest.TestCase):
    """MSAL Python's acquire_token_for_client with each credential kind."""

    def test_secret_v2_api(self):
        app, _ = confidential(DAEMONS["nightly"])
        r = ok(self, app.acquire_token_for_client(["api://orders/.default"]))
        self.assertEqual(r["token_type"], "Bearer")
        c = validate(r["access_token"], APIS["orders"]["appId"])
        self.assertEqual((c["ver"], c["tid"], c["azp"], c["roles"], c["idtyp"]),
                         ("2.0", TENANT["id"], DAEMONS["nightly"]["appId"], ["Orders.Read.All"], "app"))

    def test_secret_v1_api(self):
        app, _ = confidential(DAEMONS["nightly"])
        r = ok(self, app.acquire_token_for_client(["api://legacy/.default"]))
        c = validate(r["access_token"], "api://legacy", version=1)
        self.assertEqual((c["ver"], c["appid"], c["roles"]), ("1.0", DAEMONS["nightly"]["appId"], ["Legacy.Read.All"]))

    def test_certificate(self):
        cred, _ = certificate(DAEMONS["nightly"]["cert"])
        app, _ = confidential(DAEMONS["nightly"], credential=cred)
        c = validate(ok(self, app.acquire_token_for_client(["api://orders/.default"]))["access_token"], APIS["orders"]["appId"])
        self.assertEqual(c["azpacr"], "2")

    def test_assertion(self):
        a = assertion(DAEMONS["nightly"], DAEMONS["nightly"]["cert"])
        app, _ = confidential(DAEMONS["nightly"], credential={"client_assertion": a})
        c = validate(ok(self, app.acquire_token_for_client(["api://orders/.default"]))["access_token"], APIS["orders"]["appId"])
        self.assertEqual((c["azp"], c["azpacr"]), (DAEMONS["nightly"]["appId"], "2"))

    def test_no_roles_still_a_token(self):
        app, _ = confidential(DAEMONS["idle"])
        c = validate(ok(self, app.acquire_token_for_client(["api://orders/.default"]))["access_token"], APIS["orders"]["appId"])
        self.assertNotIn("roles", c)

    def test_second_tenant(self):
        # Partner Job is multi-tenant and consented in Fabrikam: a token
        # there is Fabrikam's, with the role Fabrikam's consent assigned.
        app, _ = confidential(DAEMONS["partner"], tenant=TENANT2["domain"])
        r = ok(self, app.acquire_token_for_client(["api://orders/.default"]))
        c = validate(r["access_token"], APIS["orders"]["appId"], tenant=TENANT2["id"])
        self.assertEqual((c["tid"], c["roles"]), (TENANT2["id"], ["Orders.Read.All"]))

    def test_refusals(self):
        idle_cert, _ = certificate(DAEMONS["idle"]["cert"])
        cases = [
            ("wrong secret", DAEMONS["nightly"], TENANT["id"], "not-the-secret-0001", "api://orders/.default", 7000215, "invalid_client"),
            ("another app's certificate", DAEMONS["nightly"], TENANT["id"], idle_cert, "api://orders/.default", 700027, "invalid_client"),
            ("assertion for another audience", DAEMONS["nightly"], TENANT["id"],
             {"client_assertion": assertion(DAEMONS["nightly"], DAEMONS["nightly"]["cert"], audience="https://elsewhere.example/token")},
             "api://orders/.default", 50012, "invalid_client"),
            ("assignment required", DAEMONS["nightly"], TENANT["id"], None, "api://payroll/.default", 501051, "invalid_client"),
            ("unknown resource", DAEMONS["nightly"], TENANT["id"], None, "api://nothing/.default", 500011, "invalid_resource"),
            ("scope without /.default", DAEMONS["nightly"], TENANT["id"], None, "api://orders/Orders.Read.All", 1002012, "invalid_scope"),
            ("single-tenant app in another tenant", DAEMONS["nightly"], TENANT2["id"], None, "api://orders/.default", 700016, "unauthorized_client"),
            ("service principal removed", DAEMONS["orphan"], TENANT["id"], None, "api://orders/.default", 7000229, "invalid_client"),
        ]
        for name, client, tenant, cred, scope, code, error in cases:
            with self.subTest(name):
                app, _ = confidential(client, tenant=tenant, credential=cred)
                refused(self, app.acquire_token_for_client([scope]), code, error)


class TokenCache(unittest.TestCase):
    """MSAL Python's token cache: app tokens are served from it, and it
    survives serialization."""

    def test_app_token_from_cache(self):
        cache = msal.SerializableTokenCache()
        app, http = confidential(DAEMONS["nightly"], cache=cache)
        first = ok(self, app.acquire_token_for_client(["api://orders/.default"]))
        self.assertEqual(len(http.token_posts), 1)
        cached = ok(self, app.acquire_token_silent(["api://orders/.default"], account=None))
        self.assertEqual((cached["access_token"], len(http.token_posts)), (first["access_token"], 1))

        restored = msal.SerializableTokenCache()
        restored.deserialize(cache.serialize())
        again, http2 = confidential(DAEMONS["nightly"], cache=restored)
        r = ok(self, again.acquire_token_silent(["api://orders/.default"], account=None))
        self.assertEqual((r["access_token"], http2.token_posts), (first["access_token"], []))

    def test_user_token_from_cache_and_refresh(self):
        app, http = public()
        first = ok(self, app.acquire_token_by_username_password(ADA["upn"], ADA["password"], ["api://middle/access_as_user"]))
        accounts = app.get_accounts(username=ADA["upn"])
        self.assertEqual(len(accounts), 1, app.get_accounts())
        cached = ok(self, app.acquire_token_silent(["api://middle/access_as_user"], account=accounts[0]))
        self.assertEqual((cached["access_token"], len(http.token_posts)), (first["access_token"], 1))
        refreshed = ok(self, app.acquire_token_silent(["api://middle/access_as_user"], account=accounts[0], force_refresh=True))
        self.assertEqual(len(http.token_posts), 2)
        self.assertNotEqual(refreshed["access_token"], first["access_token"])
        validate(refreshed["access_token"], DELEGATED["middle"]["appId"])


class UserFlows(unittest.TestCase):
    """Username/password, refresh and on-behalf-of with MSAL Python."""

    def password(self):
        app, _ = public()
        return ok(self, app.acquire_token_by_username_password(ADA["upn"], ADA["password"], ["api://middle/access_as_user"]))

    def test_password(self):
        r = self.password()
        c = validate(r["access_token"], DELEGATED["middle"]["appId"])
        self.assertEqual((c["scp"], c["oid"], c["azp"], c["azpacr"]), ("access_as_user", ADA["id"], DELEGATED["native"]["appId"], "0"))
        self.assertIn("refresh_token", r)
        self.assertEqual(r["id_token_claims"]["preferred_username"], ADA["upn"])
        # The response's scope is the resource's granted scope; the OIDC
        # scopes MSAL Python adds to every user request are not echoed
        # (they would be Microsoft Graph's), and MSAL Python accepts that.
        self.assertEqual(r["scope"], "api://middle/access_as_user")

    def test_groups(self):
        # Ada is in Engineering, and through it in Everyone: the groups
        # claim of the access token (Middle Tier's groupMembershipClaims)
        # and of the id_token MSAL Python parses (Native's) lists both, and
        # the role Engineering holds reaches her token.
        r = self.password()
        c = validate(r["access_token"], DELEGATED["middle"]["appId"])
        self.assertEqual(sorted(c["groups"]), ADA["groups"])
        self.assertEqual(c["roles"], ["Middle.Reader"])
        self.assertEqual(sorted(r["id_token_claims"]["groups"]), ADA["groups"])

    def test_refresh_token(self):
        r = self.password()
        app, _ = public()
        again = ok(self, app.acquire_token_by_refresh_token(r["refresh_token"], ["api://middle/access_as_user"]))
        validate(again["access_token"], DELEGATED["middle"]["appId"])
        self.assertNotEqual(again["refresh_token"], r["refresh_token"])

    def test_on_behalf_of(self):
        user = self.password()["access_token"]
        for name, cred in [("secret", None), ("certificate", certificate(DELEGATED["middle"]["cert"])[0])]:
            with self.subTest(name):
                app, _ = confidential(DELEGATED["middle"], credential=cred)
                r = ok(self, app.acquire_token_on_behalf_of(user, ["api://downstream/Data.Read"]))
                c = validate(r["access_token"], DELEGATED["downstream"]["appId"])
                self.assertEqual((c["scp"], c["oid"], c["azp"]), ("Data.Read", ADA["id"], DELEGATED["middle"]["appId"]))

    def test_refusals(self):
        user = self.password()["access_token"]
        middle, _ = confidential(DELEGATED["middle"])
        native, _ = public()
        app_only, _ = confidential(DAEMONS["nightly"])
        app_token = ok(self, app_only.acquire_token_for_client(["api://orders/.default"]))["access_token"]

        def downstream_token():
            # Ada's token for the downstream API, presented to the middle tier.
            r = middle.acquire_token_on_behalf_of(user, ["api://downstream/Data.Read"])
            return ok(self, r)["access_token"]
        cases = [
            ("wrong password", lambda: native.acquire_token_by_username_password(ADA["upn"], "not-the-password-0001", ["api://middle/access_as_user"]),
             50126, "invalid_grant"),
            ("unexposed scope", lambda: native.acquire_token_by_username_password(ADA["upn"], ADA["password"], ["api://middle/Nothing.Here"]),
             70011, "invalid_scope"),
            ("OBO without consent", lambda: middle.acquire_token_on_behalf_of(user, ["api://downstream/Data.Write"]), 65001, "invalid_grant"),
            ("OBO with an app-only token", lambda: middle.acquire_token_on_behalf_of(app_token, ["api://downstream/Data.Read"]),
             7000114, "unauthorized_client"),
            ("OBO with a token for another API", lambda: middle.acquire_token_on_behalf_of(downstream_token(), ["api://downstream/Data.Read"]),
             500131, "invalid_grant"),
            ("refresh token not ours", lambda: native.acquire_token_by_refresh_token("not-a-refresh-token", ["api://middle/access_as_user"]),
             70000, "invalid_grant"),
        ]
        for name, call, code, error in cases:
            with self.subTest(name):
                refused(self, call(), code, error)


class AzureIdentity(unittest.TestCase):
    """azure.identity's credentials, as an Azure SDK client would call them.
    authority is the issuer's URL; instance_discovery=False is passed through
    to MSAL Python (azure.identity 1.13 has no public switch for it yet)."""

    def kw(self):
        return {"authority": BASE, "instance_discovery": False}

    def test_client_secret_credential(self):
        cred = ClientSecretCredential(TENANT["id"], DAEMONS["nightly"]["appId"], DAEMONS["nightly"]["secret"], **self.kw())
        tok = cred.get_token("api://orders/.default")
        self.assertGreater(tok.expires_on, time.time() + 3000)
        c = validate(tok.token, APIS["orders"]["appId"])
        self.assertEqual(c["roles"], ["Orders.Read.All"])
        self.assertEqual(cred.get_token("api://orders/.default").token, tok.token, "second call not served from the cache")

    def test_client_secret_credential_second_tenant(self):
        cred = ClientSecretCredential(TENANT2["id"], DAEMONS["partner"]["appId"], DAEMONS["partner"]["secret"], **self.kw())
        c = validate(cred.get_token("api://orders/.default").token, APIS["orders"]["appId"], tenant=TENANT2["id"])
        self.assertEqual(c["tid"], TENANT2["id"])

    def test_certificate_credential(self):
        files = DAEMONS["nightly"]["cert"]
        with open(files["certFile"], "rb") as f, open(files["keyFile"], "rb") as k:
            pem = k.read() + f.read()
        cred = CertificateCredential(TENANT["id"], DAEMONS["nightly"]["appId"], certificate_data=pem, **self.kw())
        c = validate(cred.get_token("api://legacy/.default").token, "api://legacy", version=1)
        self.assertEqual((c["appidacr"], c["roles"]), ("2", ["Legacy.Read.All"]))

    def test_on_behalf_of_credential(self):
        native, _ = public()
        user = ok(self, native.acquire_token_by_username_password(ADA["upn"], ADA["password"], ["api://middle/access_as_user"]))["access_token"]
        cred = OnBehalfOfCredential(TENANT["id"], DELEGATED["middle"]["appId"], client_secret=DELEGATED["middle"]["secret"],
                                    user_assertion=user, **self.kw())
        c = validate(cred.get_token("api://downstream/Data.Read").token, DELEGATED["downstream"]["appId"])
        self.assertEqual((c["scp"], c["oid"]), ("Data.Read", ADA["id"]))

    def test_refusals(self):
        cases = [
            ("wrong secret", lambda: ClientSecretCredential(TENANT["id"], DAEMONS["nightly"]["appId"], "not-the-secret-0001", **self.kw()),
             "api://orders/.default", "AADSTS7000215"),
            ("assignment required", lambda: ClientSecretCredential(TENANT["id"], DAEMONS["nightly"]["appId"], DAEMONS["nightly"]["secret"], **self.kw()),
             "api://payroll/.default", "AADSTS501051"),
            ("service principal removed", lambda: ClientSecretCredential(TENANT["id"], DAEMONS["orphan"]["appId"], DAEMONS["orphan"]["secret"], **self.kw()),
             "api://orders/.default", "AADSTS7000229"),
        ]
        for name, make, scope, code in cases:
            with self.subTest(name):
                with self.assertRaises(ClientAuthenticationError) as cm:
                    make().get_token(scope)
                self.assertIn(code, str(cm.exception))


class JWKSValidation(unittest.TestCase):
    """PyJWT refuses what an API must refuse."""

    def token(self):
        app, _ = confidential(DAEMONS["nightly"])
        return ok(self, app.acquire_token_for_client(["api://orders/.default"]))["access_token"]

    def test_refusals(self):
        tok = self.token()
        head, body, sig = tok.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["roles"] = ["Orders.Write.All"]
        forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), sig])
        cases = [
            ("another audience", lambda: validate(tok, APIS["legacy"]["appId"]), jwt.InvalidAudienceError),
            ("another tenant's issuer", lambda: validate(tok, APIS["orders"]["appId"], tenant=TENANT2["id"]), jwt.InvalidIssuerError),
            ("claims changed", lambda: validate(forged, APIS["orders"]["appId"]), jwt.InvalidSignatureError),
        ]
        for name, call, exc in cases:
            with self.subTest(name):
                self.assertRaises(exc, call)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # subTests count as one test each in unittest's tally; the line names
    # test methods, as unittest does.
    print("python clients: %d tests, %d passed, %d failed, %d skipped" % (
        result.testsRun, result.testsRun - failed - len(result.skipped), failed, len(result.skipped)))
    return 0 if result.wasSuccessful() and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
