package issuer_test

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
)

// metadataDoc holds the discovery members the tests look at.
type metadataDoc struct {
	Issuer                string  `json:"issuer"`
	TokenEndpoint         string  `json:"token_endpoint"`
	JWKSURI               string  `json:"jwks_uri"`
	AuthorizationEndpoint string  `json:"authorization_endpoint"`
	EndSessionEndpoint    string  `json:"end_session_endpoint"`
	TenantRegionScope     *string `json:"tenant_region_scope"`
}

// TestDiscovery checks both discovery documents for every form of the
// tenant segment: endpoints and issuer rewritten to the tenant GUID, the
// {tenantid} template for common/organizations, the consumer tenant for
// consumers, and v1's jwks_uri on /common (protocol.md §1.2, §1.3).
func TestDiscovery(t *testing.T) {
	w := newWorld(t)
	b := w.URL
	for _, tc := range []struct {
		name, segment                  string
		version                        int
		issuer, token, jwks, authorize string
		region                         bool
	}{
		{"v2 by GUID", tenantA, 2, b + "/" + tenantA + "/v2.0", b + "/" + tenantA + "/oauth2/v2.0/token", b + "/" + tenantA + "/discovery/v2.0/keys", b + "/" + tenantA + "/oauth2/v2.0/authorize", true},
		{"v2 by upper-case GUID", strings.ToUpper(tenantA), 2, b + "/" + tenantA + "/v2.0", b + "/" + tenantA + "/oauth2/v2.0/token", b + "/" + tenantA + "/discovery/v2.0/keys", b + "/" + tenantA + "/oauth2/v2.0/authorize", true},
		{"v2 by domain in mixed case", "Contoso.onmicrosoft.COM", 2, b + "/" + tenantA + "/v2.0", b + "/" + tenantA + "/oauth2/v2.0/token", b + "/" + tenantA + "/discovery/v2.0/keys", b + "/" + tenantA + "/oauth2/v2.0/authorize", true},
		{"v1 by GUID", tenantA, 1, b + "/" + tenantA + "/", b + "/" + tenantA + "/oauth2/token", b + "/common/discovery/keys", b + "/" + tenantA + "/oauth2/authorize", true},
		{"v1 by domain", "contoso.com", 1, b + "/" + tenantA + "/", b + "/" + tenantA + "/oauth2/token", b + "/common/discovery/keys", b + "/" + tenantA + "/oauth2/authorize", true},
		{"v2 common", "common", 2, b + "/{tenantid}/v2.0", b + "/common/oauth2/v2.0/token", b + "/common/discovery/v2.0/keys", b + "/common/oauth2/v2.0/authorize", false},
		{"v2 organizations", "Organizations", 2, b + "/{tenantid}/v2.0", b + "/organizations/oauth2/v2.0/token", b + "/organizations/discovery/v2.0/keys", b + "/organizations/oauth2/v2.0/authorize", false},
		{"v2 consumers", "consumers", 2, b + "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", b + "/consumers/oauth2/v2.0/token", b + "/consumers/discovery/v2.0/keys", b + "/consumers/oauth2/v2.0/authorize", false},
		{"v1 common", "common", 1, b + "/{tenantid}/", b + "/common/oauth2/token", b + "/common/discovery/keys", b + "/common/oauth2/authorize", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/" + tc.segment + "/v2.0/.well-known/openid-configuration"
			if tc.version == 1 {
				path = "/" + tc.segment + "/.well-known/openid-configuration"
			}
			r := w.get(t, path)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, r.status, r.body)
			}
			checkMetadataHeaders(t, r)
			var d metadataDoc
			r.decode(t, &d)
			if d.Issuer != tc.issuer || d.TokenEndpoint != tc.token || d.JWKSURI != tc.jwks || d.AuthorizationEndpoint != tc.authorize {
				t.Errorf("GET %s: issuer, token_endpoint, jwks_uri, authorization_endpoint = %q, %q, %q, %q; want %q, %q, %q, %q",
					path, d.Issuer, d.TokenEndpoint, d.JWKSURI, d.AuthorizationEndpoint, tc.issuer, tc.token, tc.jwks, tc.authorize)
			}
			if (d.TenantRegionScope != nil) != tc.region {
				t.Errorf("tenant_region_scope = %v; want present: %v", d.TenantRegionScope, tc.region)
			}
			if strings.Contains(string(r.body), "grant_types_supported") {
				t.Errorf("document has grant_types_supported; Entra's has none")
			}
		})
	}
}

// checkMetadataHeaders checks the caching and CORS headers of Entra's
// metadata endpoints (protocol.md §1.3).
func checkMetadataHeaders(t *testing.T, r result) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":                "max-age=86400, private",
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET, OPTIONS",
		"Content-Type":                 "application/json; charset=utf-8",
		"Strict-Transport-Security":    "max-age=31536000; includeSubDomains",
		"X-Content-Type-Options":       "nosniff",
		"X-Ms-Ests-Server":             "issuer - local",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q; want %q", k, got, want)
		}
	}
	if r.header.Get("x-ms-request-id") == "" {
		t.Errorf("header x-ms-request-id is missing")
	}
}

// TestMetadataRefusals checks the tenant errors of discovery and JWKS: there
// AADSTS90002 is invalid_tenant, and the answer is privately cacheable.
func TestMetadataRefusals(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, path string
		wantCode   int
		wantError  string
	}{
		{"v2 discovery, unknown GUID", "/99999999-9999-4999-8999-999999999999/v2.0/.well-known/openid-configuration", 90002, "invalid_tenant"},
		{"v1 discovery, unknown domain", "/nowhere.example/.well-known/openid-configuration", 90002, "invalid_tenant"},
		{"v2 keys, unknown domain", "/nowhere.example/discovery/v2.0/keys", 90002, "invalid_tenant"},
		{"v1 keys, unknown GUID", "/99999999-9999-4999-8999-999999999999/discovery/keys", 90002, "invalid_tenant"},
		{"v2 discovery, malformed tenant", "/not_a_tenant/v2.0/.well-known/openid-configuration", 900023, "invalid_request"},
		{"v1 keys, malformed tenant", "/x%20y/discovery/keys", 900023, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.get(t, tc.path)
			e := checkErrorShape(t, r, tc.wantCode)
			if r.status != http.StatusBadRequest || e.Error != tc.wantError || e.ErrorCodes[0] != tc.wantCode {
				t.Errorf("GET %s = %d %s %v; want 400 %s [%d]", tc.path, r.status, e.Error, e.ErrorCodes, tc.wantError, tc.wantCode)
			}
			if got := r.header.Get("Cache-Control"); got != "private" {
				t.Errorf("Cache-Control = %q; want private", got)
			}
		})
	}
}

// TestJWKS checks the key sets as validators read them: go-jose accepts
// them (it checks x5t against x5c and x5c against n/e), kid = x5t = the
// SHA-1 thumbprint of x5c[0], no alg, and issuer on the v2 set only.
func TestJWKS(t *testing.T) {
	w := newWorld(t)
	key := testKey(t)
	for _, tc := range []struct {
		name, path string
		issuer     string
	}{
		{"v2 for a tenant", "/" + tenantA + "/discovery/v2.0/keys", w.URL + "/{tenantid}/v2.0"},
		{"v2 for common", "/common/discovery/v2.0/keys", w.URL + "/{tenantid}/v2.0"},
		{"v2 for a domain", "/contoso.com/discovery/v2.0/keys", w.URL + "/{tenantid}/v2.0"},
		{"v1 for common", "/common/discovery/keys", ""},
		{"v1 for a tenant", "/" + tenantA + "/discovery/keys", ""},
		{"v1 for organizations", "/organizations/discovery/keys", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.get(t, tc.path)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", tc.path, r.status, r.body)
			}
			checkMetadataHeaders(t, r)
			var set jose.JSONWebKeySet
			r.decode(t, &set)
			var raw struct {
				Keys []map[string]any `json:"keys"`
			}
			r.decode(t, &raw)
			if len(set.Keys) != 1 || len(raw.Keys) != 1 {
				t.Fatalf("GET %s has %d keys; want 1", tc.path, len(raw.Keys))
			}
			k := raw.Keys[0]
			if k["kid"] != key.KeyID || k["x5t"] != key.KeyID {
				t.Errorf("kid, x5t = %v, %v; want %s", k["kid"], k["x5t"], key.KeyID)
			}
			der, err := base64.StdEncoding.DecodeString(k["x5c"].([]any)[0].(string))
			if err != nil {
				t.Fatalf("x5c[0] is not standard base64: %v", err)
			}
			sum := sha1.Sum(der)
			if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != k["kid"] {
				t.Errorf("SHA-1 of x5c[0] = %s; want kid %v", got, k["kid"])
			}
			if _, err := x509.ParseCertificate(der); err != nil {
				t.Errorf("x5c[0]: %v", err)
			}
			if _, ok := k["alg"]; ok {
				t.Errorf("key has alg %v; Entra publishes none", k["alg"])
			}
			if k["kty"] != "RSA" || k["use"] != "sig" || k["e"] != "AQAB" {
				t.Errorf("kty, use, e = %v, %v, %v; want RSA, sig, AQAB", k["kty"], k["use"], k["e"])
			}
			if got, _ := k["issuer"].(string); got != tc.issuer {
				t.Errorf("issuer = %q; want %q", got, tc.issuer)
			}
		})
	}
}

// TestEntraIssuers checks that EntraIssuers changes only the issuer strings:
// discovery issuer and token iss become Microsoft's, endpoints stay ours.
func TestEntraIssuers(t *testing.T) {
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.EntraIssuers = true }))
	for _, tc := range []struct {
		name, path, issuer, token string
	}{
		{"v2", "/" + tenantA + "/v2.0/.well-known/openid-configuration", "https://login.microsoftonline.com/" + tenantA + "/v2.0", w.URL + "/" + tenantA + "/oauth2/v2.0/token"},
		{"v1", "/" + domainA + "/.well-known/openid-configuration", "https://sts.windows.net/" + tenantA + "/", w.URL + "/" + tenantA + "/oauth2/token"},
		{"v2 common", "/common/v2.0/.well-known/openid-configuration", "https://login.microsoftonline.com/{tenantid}/v2.0", w.URL + "/common/oauth2/v2.0/token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d metadataDoc
			w.get(t, tc.path).decode(t, &d)
			if d.Issuer != tc.issuer || d.TokenEndpoint != tc.token {
				t.Errorf("issuer, token_endpoint = %q, %q; want %q, %q", d.Issuer, d.TokenEndpoint, tc.issuer, tc.token)
			}
		})
	}
	t.Run("JWKS issuer", func(t *testing.T) {
		var raw struct {
			Keys []struct {
				Issuer string `json:"issuer"`
			} `json:"keys"`
		}
		w.get(t, "/common/discovery/v2.0/keys").decode(t, &raw)
		if want := "https://login.microsoftonline.com/{tenantid}/v2.0"; len(raw.Keys) != 1 || raw.Keys[0].Issuer != want {
			t.Errorf("keys = %+v; want one with issuer %q", raw.Keys, want)
		}
	})
	for _, tc := range []struct {
		name, path, param, value string
		version                  int
		iss                      string
	}{
		{"v2 token", "/" + tenantA + "/oauth2/v2.0/token", "scope", "api://inventory/.default", 2, "https://login.microsoftonline.com/" + tenantA + "/v2.0"},
		{"v1 token", "/" + tenantA + "/oauth2/token", "resource", "api://orders", 1, "https://sts.windows.net/" + tenantA + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(t, tc.path, ccForm(tc.param, tc.value))
			var m map[string]any
			r.decode(t, &m)
			v := w.verify(t, m["access_token"].(string), tenantA, tc.version)
			if v.claims["iss"] != tc.iss {
				t.Errorf("iss = %v; want %q", v.claims["iss"], tc.iss)
			}
		})
	}
}

// TestInstanceDiscovery checks /common/discovery/instance (protocol.md
// §1.5): our host is the instance, the tenant is echoed unchecked, and other
// hosts are AADSTS50049 invalid_instance.
func TestInstanceDiscovery(t *testing.T) {
	w := newWorld(t)
	host := strings.TrimPrefix(w.URL, "https://")
	t.Run("known host", func(t *testing.T) {
		r := w.get(t, "/common/discovery/instance?api-version=1.1&authorization_endpoint="+w.URL+"/anything.example/oauth2/v2.0/authorize")
		if r.status != http.StatusOK {
			t.Fatalf("status = %d %s; want 200", r.status, r.body)
		}
		checkMetadataHeaders(t, r)
		var doc struct {
			TenantDiscoveryEndpoint string `json:"tenant_discovery_endpoint"`
			APIVersion              string `json:"api-version"`
			Metadata                []struct {
				PreferredNetwork string   `json:"preferred_network"`
				PreferredCache   string   `json:"preferred_cache"`
				Aliases          []string `json:"aliases"`
			} `json:"metadata"`
		}
		r.decode(t, &doc)
		if want := w.URL + "/anything.example/v2.0/.well-known/openid-configuration"; doc.TenantDiscoveryEndpoint != want {
			t.Errorf("tenant_discovery_endpoint = %q; want %q", doc.TenantDiscoveryEndpoint, want)
		}
		if doc.APIVersion != "1.1" || len(doc.Metadata) != 1 || doc.Metadata[0].PreferredNetwork != host ||
			doc.Metadata[0].PreferredCache != host || len(doc.Metadata[0].Aliases) != 1 || doc.Metadata[0].Aliases[0] != host {
			t.Errorf("instance document = %+v; want api-version 1.1 and %s as the only instance", doc, host)
		}
	})
	for _, tc := range []struct{ name, query string }{
		{"other host", "?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/v2.0/authorize"},
		{"missing authorization_endpoint", "?api-version=1.1"},
		{"garbled authorization_endpoint", "?authorization_endpoint=%25zz%3A%2F%2F"},
		{"no tenant segment", "?authorization_endpoint=" + w.URL + "/"},
		{"http scheme", "?authorization_endpoint=http://" + host + "/common/oauth2/v2.0/authorize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.get(t, "/common/discovery/instance"+tc.query)
			e := checkErrorShape(t, r, 50049)
			if r.status != http.StatusBadRequest || e.Error != "invalid_instance" {
				t.Errorf("status, error = %d %s; want 400 invalid_instance", r.status, e.Error)
			}
		})
	}
	t.Run("only under common", func(t *testing.T) {
		r := w.get(t, "/"+tenantA+"/discovery/instance?authorization_endpoint="+w.URL+"/common/oauth2/v2.0/authorize")
		if r.status != http.StatusNotFound {
			t.Errorf("status = %d; want 404", r.status)
		}
	})
}

// TestRouting checks what is not an Entra endpoint: /healthz, unknown paths
// (JSON 404), wrong methods on metadata (JSON 405), and no redirects.
func TestRouting(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string // substring
	}{
		{"healthz", http.MethodGet, "/healthz", 200, `{"status":"ok","signer":"` + testSignerName() + `","clock":{"mode":"frozen","now":"2026-01-01T00:00:00Z"}}`},
		{"unknown path", http.MethodGet, "/nothing/here/at/all", 404, `"error":"not_found"`},
		{"root", http.MethodGet, "/", 404, `"error":"not_found"`},
		{"trailing slash is not redirected", http.MethodGet, "/common/discovery/keys/", 404, `"error":"not_found"`},
		{"path case is not redirected", http.MethodGet, "/common/Discovery/Keys", 404, `"error":"not_found"`},
		{"POST on discovery", http.MethodPost, "/common/v2.0/.well-known/openid-configuration", 405, `"error":"method_not_allowed"`},
		{"POST on healthz", http.MethodPost, "/healthz", 404, `"error":"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(t, w.request(t, tc.method, tc.path, ""))
			if r.status != tc.status || !strings.Contains(string(r.body), tc.body) {
				t.Errorf("%s %s = %d %s; want %d containing %s", tc.method, tc.path, r.status, r.body, tc.status, tc.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q; want JSON", ct)
			}
		})
	}
}
