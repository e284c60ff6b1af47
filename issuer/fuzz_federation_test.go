package issuer

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// documentTransport answers the fetcher's two requests from memory: the
// discovery document for .well-known/openid-configuration, the key set for
// anything else, each with its status. No network is involved.
type documentTransport struct {
	discovery, jwks []byte
	status          int
}

func (d documentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := d.jwks
	if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		body = d.discovery
	}
	return &http.Response{StatusCode: d.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// FuzzFederationDocuments feeds arbitrary discovery documents and key sets,
// as an external identity provider would serve them, to the fetcher and
// then to the authentication of a client whose federated credential names
// that provider: nothing may panic; a fetch either fails with an error or
// returns at most federationMaxKeys RSA signing keys; and the client is
// either authenticated, which requires its token's key among them, or
// refused with an *Error of the table that is not a server error.
func FuzzFederationDocuments(f *testing.F) {
	const iss = "https://idp.example/tenant"
	fc := newFederatedClient(f, iss)
	pub := jose.JSONWebKey{Key: &fc.key.PublicKey, KeyID: "k1", Use: "sig", Algorithm: "RS256"}
	good, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	discovery := []byte(`{"issuer":"` + iss + `","jwks_uri":"https://idp.example/keys"}`)
	for _, seed := range []struct {
		discovery, jwks string
		status          int
	}{
		{string(discovery), string(good), 200},
		{string(discovery), `{"keys":[]}`, 200},
		{string(discovery), `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}]}`, 200},
		{string(discovery), `{"keys":[{"kty":"RSA","kid":"k1","use":"enc","n":"AQAB","e":"AQAB"}]}`, 200},
		{string(discovery), `{"keys":[{"kty":"RSA","kid":"k1","n":"","e":""}]}`, 200},
		{string(discovery), `{"keys":[` + strings.Repeat(`{"kty":"oct","k":"AA"},`, 150) + `{}]}`, 200},
		{string(discovery), `{"keys":null}`, 200},
		{string(discovery), `[]`, 200},
		{`{"issuer":"https://evil.example","jwks_uri":"https://idp.example/keys"}`, string(good), 200},
		{`{"issuer":"` + iss + `","jwks_uri":"http://idp.example/keys"}`, string(good), 200},
		{`{"issuer":"` + iss + `","jwks_uri":"::"}`, string(good), 200},
		{`{"issuer":"` + iss + `"`, string(good), 200},
		{string(discovery), string(good), 404},
		{"", "", 200},
		{"null", "null", 200},
	} {
		f.Add([]byte(seed.discovery), []byte(seed.jwks), seed.status)
	}
	f.Fuzz(func(t *testing.T, discovery, jwks []byte, status int) {
		if status < 100 || status > 999 {
			status = 200
		}
		client := &http.Client{Transport: documentTransport{discovery: discovery, jwks: jwks, status: status}}
		fetcher := &httpKeySetFetcher{client: func() *http.Client { return client }}
		keys, err := fetcher.fetchKeySet(context.Background(), iss)
		if err == nil {
			if len(keys) > federationMaxKeys {
				t.Fatalf("fetchKeySet kept %d keys; want at most %d", len(keys), federationMaxKeys)
			}
			for _, k := range keys {
				if _, ok := k.Key.(*rsa.PublicKey); !ok || k.Use != "" && k.Use != "sig" {
					t.Fatalf("fetchKeySet kept a %T key with use %q", k.Key, k.Use)
				}
			}
		}
		fc.srv.federation = newFederationKeys(fetcher, fc.srv.cfg.Now)
		err = fc.authenticate(context.Background(), iss)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == CodeServerError || e.Status() >= 500 {
				t.Fatalf("refusal %v (%T); want an *Error of the table that is not a server error", err, err)
			}
			if _, ok := codeTable[e.Code]; !ok {
				t.Fatalf("refusal code %d is not in the table", e.Code)
			}
			return
		}
		found := false
		for _, k := range keys {
			if pk, ok := k.Key.(*rsa.PublicKey); ok && pk.Equal(&fc.key.PublicKey) {
				found = true
			}
		}
		if !found {
			t.Fatalf("authenticated with a key set that does not hold the token's key")
		}
	})
}

// FuzzTokenPath sends requests with arbitrary paths to the handler: nothing
// may panic, no answer may be a 5xx or a redirect, and every answer is a
// JSON document with an `error` member, or a successful metadata document.
func FuzzTokenPath(f *testing.F) {
	srv, err := newFuzzServer(f)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{
		"/contoso.onmicrosoft.com/oauth2/v2.0/token",
		"/common/oauth2/token",
		"/../x/oauth2/v2.0/token",
		"/common/../contoso.onmicrosoft.com/oauth2/v2.0/token",
		"//oauth2/v2.0/token",
		"/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
		"/common/discovery/v2.0/keys",
		"/common/UserRealm/a@b.c",
		"/healthz",
		"/\x00/oauth2/token",
		"/c\u00f6ntoso.com/oauth2/v2.0/token",
		"/" + strings.Repeat("a.", 200) + "/oauth2/token",
		"/./oauth2/token",
		"*",
		"",
	} {
		f.Add(p, false)
		f.Add(p, true)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2"},
		"client_secret": {"fuzz-secret-value-0001"}, "scope": {"api://daemon/.default"}}.Encode()
	f.Fuzz(func(t *testing.T, path string, get bool) {
		method, body := http.MethodPost, form
		if get {
			method, body = http.MethodGet, ""
		}
		r := httptest.NewRequest(method, "https://issuer.test/", strings.NewReader(body))
		r.URL.Path, r.URL.RawPath = path, ""
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		if rec.Code >= 500 || rec.Code >= 300 && rec.Code < 400 {
			t.Fatalf("%s %q = %d; want no 5xx and no redirect\n%s", method, path, rec.Code, rec.Body)
		}
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s %q = %d with a body that is not JSON: %q", method, path, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK {
			return
		}
		if _, ok := doc["error"].(string); !ok {
			t.Fatalf("%s %q = %d without an error member: %s", method, path, rec.Code, rec.Body)
		}
		if codes, ok := doc["error_codes"].([]any); ok {
			if len(codes) != 1 {
				t.Fatalf("error_codes %v", codes)
			}
			if _, ok := codeTable[int(codes[0].(float64))]; !ok {
				t.Fatalf("error code %v is not in the table", codes[0])
			}
		}
	})
}
