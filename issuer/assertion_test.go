package issuer_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// withEntraIssuers turns on Config.EntraIssuers.
func withEntraIssuers() issuertest.Option {
	return issuertest.WithConfig(func(c *issuer.Config) { c.EntraIssuers = true })
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// testRSAKeys are generated once per test binary: RSA key generation is
// the slow part of these tests.
var testRSAKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 4)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// clientCert is a client's certificate and private key.
type clientCert struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// newClientCert returns a self-signed certificate for test key n, valid
// from nb to na.
func newClientCert(t testing.TB, n int, nb, na time.Time) clientCert {
	t.Helper()
	key := testRSAKeys()[n]
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(n + 1)), Subject: pkix.Name{CommonName: "daemon"}, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return clientCert{key: key, cert: cert}
}

// wideCert is valid for years around both the fixed test clock and the
// real time (MSAL signs with the real clock).
func wideCert(t testing.TB, n int) clientCert {
	return newClientCert(t, n, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC))
}

func (c clientCert) sha1() []byte   { s := sha1.Sum(c.cert.Raw); return s[:] }
func (c clientCert) sha256() []byte { s := sha256.Sum256(c.cert.Raw); return s[:] }

// addCert registers c on the application.
func (w *world) addCert(t testing.TB, appID string, c clientCert) tenant.KeyCredential {
	t.Helper()
	k, err := w.Directory.AddKeyCredential(context.Background(), appID, c.cert.Raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signJWT builds a compact JWS of header and claims, signed with key as
// header["alg"] says: RS256, PS256 (salt = hash length, as MSAL Go and
// msal-node sign), HS256 (with a fixed secret), none (no signature); any
// other alg gets a dummy signature. Building it by hand lets tests send
// what real libraries send, padding and all.
func signJWT(t testing.TB, header, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch header["alg"] {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "HS256":
		m := hmac.New(sha256.New, []byte("a shared secret of at least 32 bytes"))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	default:
		sig = []byte("signature")
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// assertionSpec describes a client assertion: defaults are what MSAL Go
// sends (PS256, x5t#S256 in padded standard base64, aud = the v2 token
// endpoint with the tenant GUID, nbf, exp = +10 min, no iat).
type assertionSpec struct {
	header map[string]any
	claims map[string]any
}

func (w *world) defaultAssertion(c clientCert, now time.Time) assertionSpec {
	return assertionSpec{
		header: map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(c.sha256())},
		claims: map[string]any{
			"aud": w.URL + "/" + tenantA + "/oauth2/v2.0/token",
			"iss": clientID, "sub": clientID,
			"jti": "6b3c4a3e-8b52-4b4e-9d0c-1c7f1b6f0a11",
			"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		},
	}
}

// set changes claims (or header members, with "h:" in front); a nil value
// deletes the member.
func (s assertionSpec) set(kv ...any) assertionSpec {
	h, c := map[string]any{}, map[string]any{}
	for k, v := range s.header {
		h[k] = v
	}
	for k, v := range s.claims {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		name, m := kv[i].(string), c
		if after, ok := strings.CutPrefix(name, "h:"); ok {
			name, m = after, h
		}
		if kv[i+1] == nil {
			delete(m, name)
		} else {
			m[name] = kv[i+1]
		}
	}
	return assertionSpec{header: h, claims: c}
}

// assertionForm is a client-credentials request for Daemon with a client
// assertion instead of its secret.
func assertionForm(assertion string, kv ...string) url.Values {
	return ccForm(append([]string{"client_secret", "", "client_assertion", assertion, "client_assertion_type", jwtBearer}, kv...)...)
}

// tokenClaims posts form and returns the verified claims of the token, or
// fails.
func (w *world) tokenClaims(t testing.TB, path string, form url.Values, version int) map[string]any {
	t.Helper()
	r := w.post(t, path, form)
	if r.status != http.StatusOK {
		t.Fatalf("POST %s = %d %s; want 200", path, r.status, r.body)
	}
	var m map[string]any
	r.decode(t, &m)
	return w.verify(t, m["access_token"].(string), tenantA, version).claims
}

// TestCertificateAssertion authenticates Daemon with a certificate the way
// each real library signs (clients.md §2) and checks that the token
// records it: appidacr "2" (v1) and azpacr "2" (v2).
func TestCertificateAssertion(t *testing.T) {
	w := newWorld(t)
	cert := wideCert(t, 0)
	cred := w.addCert(t, clientID, cert)
	v2, v1 := "/"+tenantA+"/oauth2/v2.0/token", "/"+tenantA+"/oauth2/token"
	base := w.defaultAssertion(cert, fixedNow)
	b64url, b64urlPadded, b64std := base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding
	for _, tc := range []struct {
		name string
		spec assertionSpec
	}{
		{"MSAL Go: PS256, x5t#S256 padded standard base64", base},
		{"msal-node: PS256, x5t#S256 base64url, iat", base.set("h:x5t#S256", b64url.EncodeToString(cert.sha256()), "iat", fixedNow.Unix())},
		{"msal-node legacy: RS256, x5t base64url", base.set("h:alg", "RS256", "h:x5t#S256", nil, "h:x5t", b64url.EncodeToString(cert.sha1()))},
		{"MSAL Python: RS256, x5t base64url padded, iat only", base.set("h:alg", "RS256", "h:x5t#S256", nil, "h:x5t", b64urlPadded.EncodeToString(cert.sha1()), "nbf", nil, "iat", fixedNow.Unix())},
		{"x5t in standard base64 without padding", base.set("h:alg", "RS256", "h:x5t#S256", nil, "h:x5t", strings.TrimRight(b64std.EncodeToString(cert.sha1()), "="))},
		{"x5c chain", base.set("h:x5c", []string{b64std.EncodeToString(cert.cert.Raw)})},
		{"kid is the keyId", base.set("h:x5t#S256", nil, "h:kid", strings.ToUpper(cred.KeyID))},
		{"aud names the tenant by domain", base.set("aud", w.URL+"/contoso.com/oauth2/v2.0/token")},
		{"aud is the v1 token endpoint", base.set("aud", w.URL+"/"+tenantA+"/oauth2/token")},
		{"aud in upper case", base.set("aud", strings.ToUpper(w.URL+"/"+domainA+"/oauth2/v2.0/token"))},
		{"aud as a one-element array", base.set("aud", []string{w.URL + "/" + tenantA + "/oauth2/v2.0/token"})},
		{"iss and sub in upper case", base.set("iss", strings.ToUpper(clientID), "sub", strings.ToUpper(clientID))},
		{"expired within the 5-minute skew", base.set("nbf", fixedNow.Add(-14*time.Minute).Unix(), "exp", fixedNow.Add(-4*time.Minute).Unix())},
		{"nbf within the skew", base.set("nbf", fixedNow.Add(4*time.Minute).Unix())},
		{"valid for 24 hours", base.set("exp", fixedNow.Add(24*time.Hour).Unix())},
		{"no jti", base.set("jti", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := signJWT(t, tc.spec.header, tc.spec.claims, cert.key)
			c := w.tokenClaims(t, v2, assertionForm(a, "scope", "api://inventory/.default"), 2)
			if c["azpacr"] != "2" || c["azp"] != clientID || c["aud"] != inventoryID {
				t.Errorf("azpacr, azp, aud = %v, %v, %v; want 2, %s, %s", c["azpacr"], c["azp"], c["aud"], clientID, inventoryID)
			}
		})
	}
	t.Run("v1 endpoint and v1 token", func(t *testing.T) {
		a := signJWT(t, base.header, base.set("aud", w.URL+"/"+tenantA+"/oauth2/token").claims, cert.key)
		c := w.tokenClaims(t, v1, assertionForm(a, "resource", "api://orders"), 1)
		if c["appidacr"] != "2" || c["appid"] != clientID {
			t.Errorf("appidacr, appid = %v, %v; want 2, %s", c["appidacr"], c["appid"], clientID)
		}
	})
	t.Run("a repeated jti is accepted", func(t *testing.T) {
		// MSAL Python and msal-node reuse an assertion for minutes; Entra
		// does not enforce single use.
		a := signJWT(t, base.header, base.claims, cert.key)
		for range 3 {
			w.tokenClaims(t, v2, assertionForm(a, "scope", "api://inventory/.default"), 2)
		}
	})
	t.Run("the secret still works", func(t *testing.T) {
		if c := w.tokenClaims(t, v2, ccForm("scope", "api://inventory/.default"), 2); c["azpacr"] != "1" {
			t.Errorf("azpacr = %v; want 1 for a secret", c["azpacr"])
		}
	})
}

// TestCertificateAssertionRefusals checks every refusal of a client
// assertion: AADSTS code, `error` and status.
func TestCertificateAssertionRefusals(t *testing.T) {
	w := newWorld(t)
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	other := wideCert(t, 1) // not registered
	expired := newClientCert(t, 2, fixedNow.Add(-48*time.Hour), fixedNow.Add(-24*time.Hour))
	w.addCert(t, clientID, expired)
	future := newClientCert(t, 3, fixedNow.Add(24*time.Hour), fixedNow.Add(48*time.Hour))
	w.addCert(t, clientID, future)
	w.addCert(t, staleID, other) // registered on another application

	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	base := w.defaultAssertion(cert, fixedNow)
	sign := func(s assertionSpec) string { return signJWT(t, s.header, s.claims, cert.key) }
	x5t := func(c clientCert) string { return base64.RawURLEncoding.EncodeToString(c.sha1()) }
	s256 := func(c clientCert) string { return base64.RawURLEncoding.EncodeToString(c.sha256()) }
	good := sign(base)
	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 1
	altered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tokenEndpoint := w.URL + "/" + tenantA + "/oauth2/v2.0/token"
	for _, tc := range []struct {
		name       string
		form       url.Values
		wantCode   int
		wantError  string
		wantStatus int
	}{
		// Request parameters.
		{"no client_assertion_type", assertionForm(good, "client_assertion_type", ""), 900144, "invalid_request", 400},
		{"other client_assertion_type", assertionForm(good, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), 90011, "invalid_request", 400},
		{"assertion and secret", assertionForm(good, "client_secret", clientSecret), 9002313, "invalid_request", 400},
		{"assertion from a public client", assertionForm(good, "client_id", publicID), 700025, "invalid_client", 401},

		// Not a JWT we can read.
		{"not a JWT", assertionForm("not-a-jwt"), 50027, "invalid_request", 400},
		{"two segments", assertionForm("eyJhbGciOiJSUzI1NiJ9.e30"), 50027, "invalid_request", 400},
		{"five segments (JWE)", assertionForm(good + ".a.b"), 50027, "invalid_request", 400},
		{"header not base64url", assertionForm("eyJ!!!." + strings.SplitN(good, ".", 2)[1]), 50027, "invalid_request", 400},
		{"header not JSON", assertionForm(b64("alg") + ".e30.c2ln"), 50027, "invalid_request", 400},
		{"claims not JSON", assertionForm(b64(`{"alg":"PS256","x5t":"a"}`) + "." + b64("[1,2]") + ".c2ln"), 50027, "invalid_request", 400},
		{"JWS JSON serialisation", assertionForm(`{"payload":"e30","signatures":[]}`), 50027, "invalid_request", 400},
		{"iss not a string", assertionForm(sign(base.set("iss", 42))), 50027, "invalid_request", 400},
		{"aud with two values", assertionForm(sign(base.set("aud", []string{w.URL + "/" + tenantA + "/v2.0", tokenEndpoint}))), 50027, "invalid_request", 400},

		// Algorithm and key identifier.
		{"alg none", assertionForm(sign(base.set("h:alg", "none"))), 5002738, "invalid_client", 401},
		{"alg HS256", assertionForm(sign(base.set("h:alg", "HS256"))), 5002738, "invalid_client", 401},
		{"alg ES256", assertionForm(sign(base.set("h:alg", "ES256"))), 5002738, "invalid_client", 401},
		{"alg RS512", assertionForm(sign(base.set("h:alg", "RS512"))), 5002738, "invalid_client", 401},
		{"no alg", assertionForm(sign(base.set("h:alg", nil))), 5002738, "invalid_client", 401},
		{"no x5t, x5t#S256 or kid", assertionForm(sign(base.set("h:x5t#S256", nil))), 5002723, "invalid_client", 401},

		// Claims.
		{"no iss", assertionForm(sign(base.set("iss", nil))), 90014, "invalid_request", 400},
		{"no aud", assertionForm(sign(base.set("aud", nil))), 90014, "invalid_request", 400},
		{"no exp", assertionForm(sign(base.set("exp", nil))), 90014, "invalid_request", 400},
		{"iss is another app", assertionForm(sign(base.set("iss", staleID))), 700021, "invalid_client", 401},
		{"sub is another app", assertionForm(sign(base.set("sub", staleID))), 700021, "invalid_client", 401},
		{"no sub", assertionForm(sign(base.set("sub", nil))), 700021, "invalid_client", 401},
		{"client_id is another app", assertionForm(good, "client_id", staleID), 700021, "invalid_client", 401},
		{"aud is another host", assertionForm(sign(base.set("aud", "https://login.microsoftonline.com/"+tenantA+"/oauth2/v2.0/token"))), 50012, "invalid_client", 401},
		{"aud is another tenant", assertionForm(sign(base.set("aud", w.URL+"/"+tenantB+"/oauth2/v2.0/token"))), 50012, "invalid_client", 401},
		{"aud is common", assertionForm(sign(base.set("aud", w.URL+"/common/oauth2/v2.0/token"))), 50012, "invalid_client", 401},
		{"aud is the issuer", assertionForm(sign(base.set("aud", w.URL+"/"+tenantA+"/v2.0"))), 50012, "invalid_client", 401},
		{"aud over http", assertionForm(sign(base.set("aud", strings.Replace(tokenEndpoint, "https://", "http://", 1)))), 50012, "invalid_client", 401},
		{"aud with a query", assertionForm(sign(base.set("aud", tokenEndpoint+"?x=1"))), 50012, "invalid_client", 401},
		{"aud is the client id", assertionForm(sign(base.set("aud", clientID))), 50012, "invalid_client", 401},

		// Key and signature.
		{"unknown certificate", assertionForm(signJWT(t, base.set("h:x5t#S256", s256(other)).header, base.claims, other.key)), 700027, "invalid_client", 401},
		{"unknown SHA-1 thumbprint", assertionForm(sign(base.set("h:x5t#S256", nil, "h:x5t", x5t(other)))), 700027, "invalid_client", 401},
		{"thumbprint that is not base64", assertionForm(sign(base.set("h:x5t#S256", "%%%"))), 700027, "invalid_client", 401},
		{"thumbprint of the wrong length", assertionForm(sign(base.set("h:x5t#S256", x5t(cert)))), 700027, "invalid_client", 401},
		{"unknown kid", assertionForm(sign(base.set("h:x5t#S256", nil, "h:kid", "00000000-1111-4222-8333-444444444444"))), 700027, "invalid_client", 401},
		{"registered thumbprint, signed by another key", assertionForm(signJWT(t, base.header, base.claims, other.key)), 700027, "invalid_client", 401},
		{"signature altered", assertionForm(altered), 700027, "invalid_client", 401},
		{"claims altered after signing", assertionForm(parts[0] + "." + strings.Split(sign(base.set("jti", "other")), ".")[1] + "." + parts[2]), 700027, "invalid_client", 401},
		{"expired certificate", assertionForm(signJWT(t, base.set("h:x5t#S256", s256(expired)).header, base.claims, expired.key)), 700027, "invalid_client", 401},
		{"certificate not yet valid", assertionForm(signJWT(t, base.set("h:x5t#S256", s256(future)).header, base.claims, future.key)), 700027, "invalid_client", 401},
		{"certificate of another app", assertionForm(signJWT(t, base.set("h:x5t#S256", s256(other)).header, base.claims, other.key)), 700027, "invalid_client", 401},

		// Time.
		{"expired", assertionForm(sign(base.set("nbf", fixedNow.Add(-20*time.Minute).Unix(), "exp", fixedNow.Add(-6*time.Minute).Unix()))), 700024, "invalid_client", 401},
		{"not yet valid", assertionForm(sign(base.set("nbf", fixedNow.Add(6*time.Minute).Unix(), "exp", fixedNow.Add(16*time.Minute).Unix()))), 700024, "invalid_client", 401},
		{"valid for more than a day", assertionForm(sign(base.set("exp", fixedNow.Add(25*time.Hour).Unix()))), 700024, "invalid_client", 401},
		{"valid for more than a day from iat", assertionForm(sign(base.set("nbf", nil, "iat", fixedNow.Add(-2*time.Hour).Unix(), "exp", fixedNow.Add(23*time.Hour).Unix()))), 700024, "invalid_client", 401},
		{"exp far in the future, no nbf or iat", assertionForm(sign(base.set("nbf", nil, "exp", fixedNow.Add(48*time.Hour).Unix()))), 700024, "invalid_client", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			form.Set("scope", "api://inventory/.default")
			r := w.post(t, v2, form)
			e := checkErrorShape(t, r, tc.wantCode)
			if r.status != tc.wantStatus || e.Error != tc.wantError || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != tc.wantCode {
				t.Errorf("= %d %s %v; want %d %s [%d]\n%s", r.status, e.Error, e.ErrorCodes, tc.wantStatus, tc.wantError, tc.wantCode, r.body)
			}
		})
	}
}

// TestAssertionSignatureMessage checks that AADSTS700027 names the key the
// client used by its SHA-1 thumbprint in upper-case hex, as Entra does.
func TestAssertionSignatureMessage(t *testing.T) {
	w := newWorld(t)
	other := wideCert(t, 1)
	base := w.defaultAssertion(other, fixedNow).set("h:alg", "RS256", "h:x5t#S256", nil, "h:x5t", base64.RawURLEncoding.EncodeToString(other.sha1()))
	r := w.post(t, "/"+tenantA+"/oauth2/v2.0/token", assertionForm(signJWT(t, base.header, base.claims, other.key), "scope", "api://inventory/.default"))
	e := checkErrorShape(t, r, 700027)
	if want := strings.ToUpper(hex.EncodeToString(other.sha1())); !strings.Contains(e.ErrorDescription, "'"+want+"'") || !strings.Contains(e.ErrorDescription, clientID) {
		t.Errorf("error_description = %q; want the thumbprint %s and the app id", e.ErrorDescription, want)
	}
}

// TestAssertionAudienceEntraHosts checks that with EntraIssuers an
// assertion may name Microsoft's hosts, as ADAL-era clients do.
func TestAssertionAudienceEntraHosts(t *testing.T) {
	w := newWorld(t, withEntraIssuers())
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	base := w.defaultAssertion(cert, fixedNow)
	for _, aud := range []string{
		"https://login.microsoftonline.com/" + tenantA + "/oauth2/v2.0/token",
		"https://login.windows.net/contoso.com/oauth2/token",
		w.URL + "/" + tenantA + "/oauth2/v2.0/token",
	} {
		s := base.set("aud", aud)
		r := w.post(t, "/"+tenantA+"/oauth2/v2.0/token", assertionForm(signJWT(t, s.header, s.claims, cert.key), "scope", "api://inventory/.default"))
		if r.status != http.StatusOK {
			t.Errorf("aud %s: %d %s; want 200", aud, r.status, r.body)
		}
	}
}
