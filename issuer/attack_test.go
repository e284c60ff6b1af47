package issuer_test

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
)

// hs256 signs header and claims with HMAC-SHA256 under secret: the
// "algorithm confusion" attack, where the secret is a key the attacker can
// read (our public signing key, a client's registered certificate).
func hs256(t testing.TB, header, claims map[string]any, secret []byte) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// publicPEM is the PEM (PKIX) encoding of a public key, as an attacker
// would copy it from a JWKS or a certificate to use as an HMAC secret.
func publicPEM(t testing.TB, pub *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestAttackMatrix sends, over TLS to a running server built as `issuer
// serve` builds it (issuer.NewHTTPServer), the requests an attacker or a
// broken client would: forged and replayed credentials, oversized and
// malformed requests, path tricks. Each must be refused with Entra's code,
// `error` and status, in Entra's error shape (or, for headers too large to
// read, net/http's 431), and none may get a 5xx or a redirect.
//
// The server rotates refresh tokens strictly (--refresh-token-reuse
// revoke-family), so that the replay cases below are refusals.
func TestAttackMatrix(t *testing.T) {
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.RefreshTokenReuse = issuer.RefreshTokenReuseRevokeFamily }))
	w.seedDelegated()
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	now := w.Now()
	ours := testKey(t)
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	foreign := otherKey(t)

	// Client assertions for Daemon (certificate credential).
	assertion := w.defaultAssertion(cert, now)
	signed := func(s assertionSpec, key *rsa.PrivateKey) string { return signJWT(t, s.header, s.claims, key) }
	rsClaims := assertion.set("h:alg", "RS256")
	// On-behalf-of assertions for the Middle Tier.
	ada := w.adaToken(t)
	fay := w.forge(t, w.adaClaims("oid", fayID, "tid", tenantB, "iss", w.URL+"/"+tenantB+"/v2.0", "preferred_username", fayUPN))
	oboHeader := map[string]any{"alg": "HS256", "typ": "JWT", "kid": ours.KeyID}
	// Refresh tokens: one family rotated once (its first token replayed
	// below), one of Native presented by the Middle Tier.
	rt1 := w.tokenOK(t, v2, pwForm())["refresh_token"].(string)
	rt2 := w.tokenOK(t, v2, rtForm(rt1))["refresh_token"].(string)
	nativeRT := w.tokenOK(t, v2, pwForm())["refresh_token"].(string)
	// Fay's token for Partner Middle (multi-tenant, homed in Fabrikam),
	// which Fabrikam never consented to call Partner API.
	fayForPartner := w.forge(t, w.adaClaims("aud", pMiddleID, "oid", fayID, "tid", tenantB, "iss", w.URL+"/"+tenantB+"/v2.0", "preferred_username", fayUPN))

	inv := func(kv ...string) url.Values {
		return ccForm(append([]string{"scope", "api://inventory/.default"}, kv...)...)
	}
	scopes := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("api://downstream/S%d", i)
		}
		return strings.Join(s, " ")
	}

	for _, tc := range []struct {
		name       string
		method     string // default POST
		path       string
		body       string     // raw body; default form.Encode()
		form       url.Values // a token request
		header     http.Header
		wantStatus int
		wantCode   int // 0: no AADSTS body (404, 431)
		wantError  string
		wantSub    string
	}{
		// Client assertions (client credentials for Daemon).
		{name: "client assertion alg none", path: v2,
			form:       inv("client_secret", "", "client_assertion", signJWT(t, assertion.set("h:alg", "none").header, assertion.claims, nil), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 5002738, wantError: "invalid_client"},
		{name: "client assertion HS256 keyed with the client's certificate public key", path: v2,
			form:       inv("client_secret", "", "client_assertion", hs256(t, assertion.set("h:alg", "HS256").header, assertion.claims, publicPEM(t, &cert.key.PublicKey)), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 5002738, wantError: "invalid_client"},
		{name: "client assertion HS256 keyed with the certificate itself", path: v2,
			form:       inv("client_secret", "", "client_assertion", hs256(t, assertion.set("h:alg", "HS256").header, assertion.claims, cert.cert.Raw), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 5002738, wantError: "invalid_client"},
		{name: "client assertion HS256 keyed with our signing key", path: v2,
			form:       inv("client_secret", "", "client_assertion", hs256(t, assertion.set("h:alg", "HS256", "h:kid", ours.KeyID).header, assertion.claims, publicPEM(t, &ours.PrivateKey.PublicKey)), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 5002738, wantError: "invalid_client"},
		{name: "client assertion with an unknown kid", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(rsClaims.set("h:x5t#S256", nil, "h:kid", "unknown-kid"), cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 700027, wantError: "invalid_client"},
		{name: "client assertion signed by a foreign key under the registered thumbprint", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(assertion, foreign), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 700027, wantError: "invalid_client"},
		{name: "client assertion expired", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(assertion.set("nbf", now.Add(-30*time.Minute).Unix(), "exp", now.Add(-10*time.Minute).Unix()), cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 700024, wantError: "invalid_client"},
		{name: "client assertion not yet valid", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(assertion.set("nbf", now.Add(10*time.Minute).Unix(), "exp", now.Add(20*time.Minute).Unix()), cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 700024, wantError: "invalid_client"},
		{name: "client assertion for another tenant's token endpoint", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(assertion.set("aud", w.URL+"/"+tenantB+"/oauth2/v2.0/token"), cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 50012, wantError: "invalid_client"},
		{name: "client assertion for another host", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(assertion.set("aud", "https://login.microsoftonline.com/"+tenantA+"/oauth2/v2.0/token"), cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 50012, wantError: "invalid_client"},
		{name: "client assertion issued by another client", path: v2,
			form:       inv("client_secret", "", "client_assertion", signed(assertion.set("iss", middleID, "sub", middleID), cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 700021, wantError: "invalid_client"},
		{name: "client assertion of Daemon presented as the Middle Tier", path: v2,
			form:       inv("client_id", middleID, "client_secret", "", "client_assertion", signed(assertion, cert.key), "client_assertion_type", jwtBearer),
			wantStatus: 401, wantCode: 700021, wantError: "invalid_client"},

		// On-behalf-of assertions (the Middle Tier for Downstream).
		{name: "OBO assertion alg none", path: v2, form: oboForm(unsigned(t, ours.KeyID, w.adaClaims())),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion HS256 keyed with our public key (PEM)", path: v2, form: oboForm(hs256(t, oboHeader, w.adaClaims(), publicPEM(t, &ours.PrivateKey.PublicKey))),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion HS256 keyed with our certificate", path: v2, form: oboForm(hs256(t, oboHeader, w.adaClaims(), ours.Certificate.Raw)),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion with an unknown kid", path: v2, form: oboForm(signWith(t, "RS256", ours.PrivateKey, "unknown-kid", w.adaClaims())),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion signed by a foreign key under our kid", path: v2, form: oboForm(signWith(t, "RS256", foreign, ours.KeyID, w.adaClaims())),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion tampered", path: v2, form: oboForm(tamper(t, ada)),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion expired", path: v2, form: oboForm(w.forge(t, w.adaClaims("exp", now.Add(-time.Minute).Unix()))),
			wantStatus: 400, wantCode: 500133, wantError: "invalid_grant"},
		{name: "OBO assertion not yet valid", path: v2, form: oboForm(w.forge(t, w.adaClaims("nbf", now.Add(time.Minute).Unix()))),
			wantStatus: 400, wantCode: 500133, wantError: "invalid_grant"},
		{name: "OBO assertion for another audience", path: v2, form: oboForm(w.forge(t, w.adaClaims("aud", downstreamID))),
			wantStatus: 400, wantCode: 500131, wantError: "invalid_grant"},
		{name: "OBO assertion of another issuer", path: v2, form: oboForm(w.forge(t, w.adaClaims("iss", "https://evil.example/"+tenantA+"/v2.0"))),
			wantStatus: 400, wantCode: 50013, wantError: "invalid_grant"},
		{name: "OBO assertion of a Fabrikam user, middle tier not in Fabrikam", path: "/common/oauth2/v2.0/token", form: oboForm(fay),
			wantStatus: 400, wantCode: 700016, wantError: "unauthorized_client"},
		{name: "OBO assertion of a Fabrikam user at Contoso", path: v2, form: oboForm(fay),
			wantStatus: 400, wantCode: 50034, wantError: "invalid_grant", wantSub: "bad_token"},
		{name: "OBO assertion of a Fabrikam user, middle tier not consented in Fabrikam", path: "/common/oauth2/v2.0/token",
			form:       oboForm(fayForPartner, "client_id", pMiddleID, "client_secret", pMiddleSec, "scope", "api://partner-api/Partner.Read"),
			wantStatus: 400, wantCode: 65001, wantError: "invalid_grant", wantSub: "consent_required"},
		{name: "OBO assertion of a Fabrikam user presented at Contoso by a consented middle tier", path: v2,
			form:       oboForm(fayForPartner, "client_id", pMiddleID, "client_secret", pMiddleSec, "scope", "api://partner-api/Partner.Read"),
			wantStatus: 400, wantCode: 50034, wantError: "invalid_grant", wantSub: "bad_token"},

		// Refresh tokens.
		{name: "refresh token replayed after rotation", path: v2, form: rtForm(rt1),
			wantStatus: 400, wantCode: 70008, wantError: "invalid_grant"},
		{name: "refresh token of the family the replay revoked", path: v2, form: rtForm(rt2),
			wantStatus: 400, wantCode: 50173, wantError: "invalid_grant"},
		{name: "refresh token used by another client", path: v2, form: rtForm(nativeRT, "client_id", middleID, "client_secret", middleSecret),
			wantStatus: 400, wantCode: 70000, wantError: "invalid_grant"},
		{name: "refresh token never issued", path: v2, form: rtForm("1.A" + strings.Repeat("A", 43)),
			wantStatus: 400, wantCode: 70000, wantError: "invalid_grant"},

		// Secrets.
		{name: "secret of another app", path: v2, form: inv("client_secret", middleSecret),
			wantStatus: 401, wantCode: 7000215, wantError: "invalid_client"},
		{name: "secret of another app in Basic", path: v2, form: inv("client_id", "", "client_secret", ""),
			header:     http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+url.QueryEscape(middleSecret)))}},
			wantStatus: 401, wantCode: 7000215, wantError: "invalid_client"},
		{name: "hint of the secret instead of the secret", path: v2, form: inv("client_secret", clientSecret[:3]),
			wantStatus: 401, wantCode: 7000215, wantError: "invalid_client"},

		// Sizes.
		{name: "body over 1 MiB", path: v2, body: inv().Encode() + "&pad=" + strings.Repeat("a", 1<<20),
			wantStatus: 413, wantCode: 9002313, wantError: "invalid_request"},
		{name: "headers over 64 KiB", path: v2, form: inv(), header: http.Header{"X-Pad": {strings.Repeat("a", 128<<10)}},
			wantStatus: 431},
		{name: "65 scopes", path: v2, form: pwForm("scope", scopes(65)),
			wantStatus: 400, wantCode: 70011, wantError: "invalid_scope"},
		{name: "65 copies of a valid scope", path: v2, form: inv("scope", strings.TrimSpace(strings.Repeat("api://inventory/.default ", 65))),
			wantStatus: 400, wantCode: 70011, wantError: "invalid_scope"},
		{name: "64 scopes are accepted", path: v2, form: inv("scope", strings.TrimSpace(strings.Repeat("api://inventory/.default ", 64))),
			wantStatus: 200},
		{name: "scope over 4 KiB", path: v2, form: inv("scope", "api://inventory/"+strings.Repeat("x", 4<<10)+"/.default"),
			wantStatus: 400, wantCode: 70011, wantError: "invalid_scope"},
		{name: "client_id of half a megabyte", path: v2, form: inv("client_id", strings.Repeat("b", 512<<10)),
			wantStatus: 400, wantCode: 700016, wantError: "unauthorized_client"},

		// Duplicated parameters.
		{name: "duplicated client_id", path: v2, body: inv().Encode() + "&client_id=" + middleID,
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},
		{name: "duplicated assertion", path: v2, body: oboForm(ada).Encode() + "&assertion=" + url.QueryEscape(ada),
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},
		{name: "duplicated refresh_token", path: v2, body: rtForm(nativeRT).Encode() + "&refresh_token=x",
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},
		{name: "duplicated client_assertion_type", path: v2, body: inv("client_secret", "", "client_assertion", signed(assertion, cert.key), "client_assertion_type", jwtBearer).Encode() + "&client_assertion_type=x",
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},

		// Text that is not UTF-8.
		{name: "non-UTF-8 parameter name", path: v2, body: inv().Encode() + "&%ff%fe=1",
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},
		{name: "non-UTF-8 client_id", path: v2, body: inv("client_id", "").Encode() + "&client_id=%c3%28",
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},
		{name: "raw non-UTF-8 bytes in the body", path: v2, body: inv("client_secret", "").Encode() + "&client_secret=\xff\xfe",
			wantStatus: 400, wantCode: 9002313, wantError: "invalid_request"},
		{name: "non-UTF-8 tenant segment", path: "/%ff%fe/oauth2/v2.0/token", form: inv(),
			wantStatus: 400, wantCode: 900023, wantError: "invalid_request"},
		{name: "non-UTF-8 UPN in UserRealm", method: http.MethodGet, path: "/common/UserRealm/%ff%fe?api-version=1.0",
			wantStatus: 200},

		// Tenant segments with path tricks: never a redirect.
		{name: "dot-dot segment", path: "/../" + tenantA + "/oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "common/../tenant", path: "/common/../" + tenantA + "/oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "encoded dot-dot", path: "/%2e%2e/oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "encoded dot-dot before a tenant", path: "/common/%2E%2E/" + tenantA + "/oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "encoded slash in the tenant", path: "/" + domainA + "%2F..%2F" + tenantB + "/oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "empty tenant segment", path: "//oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "double slash before the tenant", path: "//" + tenantA + "/oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "dot segment in the endpoint", path: "/" + tenantA + "/./oauth2/v2.0/token", form: inv(), wantStatus: 404},
		{name: "very long tenant", path: "/" + strings.Repeat("a", 8<<10) + "/oauth2/v2.0/token", form: inv(),
			wantStatus: 400, wantCode: 900023, wantError: "invalid_request"},
		{name: "very long domain of many labels", path: "/" + strings.Repeat("a.", 300) + "com/oauth2/v2.0/token", form: inv(),
			wantStatus: 400, wantCode: 900023, wantError: "invalid_request"},
		{name: "unicode tenant", path: "/c%C3%B6ntoso.com/oauth2/v2.0/token", form: inv(),
			wantStatus: 400, wantCode: 900023, wantError: "invalid_request"},
		{name: "NUL in the tenant", path: "/" + tenantA + "%00/oauth2/v2.0/token", form: inv(),
			wantStatus: 400, wantCode: 900023, wantError: "invalid_request"},
		{name: "tenant with a space", path: "/contoso%20.com/oauth2/token", form: ccForm("resource", "api://orders"),
			wantStatus: 400, wantCode: 900023, wantError: "invalid_request"},
		{name: "v1 endpoint under a dot-dot", path: "/common/..%2F" + tenantA + "/oauth2/token", form: ccForm("resource", "api://orders"), wantStatus: 404},
		{name: "discovery through dot-dot", method: http.MethodGet, path: "/common/../" + tenantA + "/v2.0/.well-known/openid-configuration", wantStatus: 404},
		{name: "v1 endpoint, unknown tenant", path: "/nowhere.example/oauth2/token", form: ccForm("resource", "api://orders"),
			wantStatus: 400, wantCode: 90002, wantError: "invalid_request"},
		{name: "v1 endpoint, token for Orders", path: v1, form: ccForm("resource", "api://orders", "client_secret", middleSecret),
			wantStatus: 401, wantCode: 7000215, wantError: "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			body := tc.body
			if body == "" && tc.form != nil {
				body = tc.form.Encode()
			}
			req := w.request(t, method, tc.path, body)
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for k, vs := range tc.header {
				req.Header[k] = vs
			}
			r := noRedirect(t, w, req)
			if r.status >= 500 || r.status >= 300 && r.status < 400 {
				t.Fatalf("%s %s = %d (Location %q); want a refusal, never a 5xx or a redirect\n%.300s", method, tc.path, r.status, r.header.Get("Location"), r.body)
			}
			if tc.wantCode == 0 {
				if r.status != tc.wantStatus {
					t.Errorf("%s %s = %d; want %d\n%.300s", method, tc.path, r.status, tc.wantStatus, r.body)
				}
				if r.status == http.StatusNotFound {
					var e struct{ Error string }
					if json.Unmarshal(r.body, &e) != nil || e.Error != "not_found" {
						t.Errorf("404 body %.300s; want a JSON not_found", r.body)
					}
				}
				return
			}
			checkRefused(t, r, tc.wantCode, tc.wantError, tc.wantStatus, tc.wantSub)
		})
	}
}

// noRedirect sends req without following redirects and reads the answer.
func noRedirect(t *testing.T, w *world, req *http.Request) result {
	t.Helper()
	c := *w.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestSignInLogBoundsClientInput checks that what a client sends is kept
// in the sign-in log and the server log only in bounded pieces: a client
// sending megabyte-long parameters cannot make the 10,000-entry log hold
// gigabytes.
func TestSignInLogBoundsClientInput(t *testing.T) {
	var logs syncBuffer
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}))
	huge := strings.Repeat("x", 900<<10)
	w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default", "client_id", huge))
	w.post(t, "/"+strings.Repeat("a", 60<<10)+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	w.post(t, "/"+tenantA+"/oauth2/token", ccForm("resource", huge))
	// The token endpoint records a sign-in after it has answered: wait
	// for the third.
	entries := w.Issuer.SignIns(issuer.SignInFilter{})
	for deadline := time.Now().Add(10 * time.Second); len(entries) < 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		entries = w.Issuer.SignIns(issuer.SignInFilter{})
	}
	if len(entries) != 3 {
		t.Fatalf("%d sign-ins; want 3", len(entries))
	}
	for _, e := range entries {
		size := len(e.Tenant) + len(e.ClientID) + len(e.Resource) + len(e.User) + len(e.Flow) + len(e.Detail)
		if size > 8<<10 {
			t.Errorf("a sign-in holds %d bytes of client input (tenant %d, client %d, resource %d, detail %d); want at most 8 KiB",
				size, len(e.Tenant), len(e.ClientID), len(e.Resource), len(e.Detail))
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 16<<10 {
			t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
		}
	}
}
