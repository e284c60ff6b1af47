package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
)

// TestFloorServer runs the floor's handler on a provisioned database: the
// bench's request gets a token of issuer's claims signed by the database's
// key, and what the floor refuses, it refuses without a token.
func TestFloorServer(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "issuer.db")
	target, _, _, err := provisionBench(t.Context(), dbFile, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := loadFloor(t.Context(), dbFile, target.ClientID, signing.GoBackend(), "https://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	endpoint := srv.URL + "/" + target.Tenant + "/oauth2/v2.0/token"
	form := func(change func(url.Values)) string {
		v, _ := url.ParseQuery(target.Form())
		if change != nil {
			change(v)
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name       string
		method     string
		url        string
		body       string
		wantStatus int
		wantError  string
	}{
		{"token", http.MethodPost, endpoint, form(nil), http.StatusOK, ""},
		{"another path", http.MethodPost, srv.URL + "/common/oauth2/v2.0/token", form(nil), http.StatusNotFound, ""},
		{"GET", http.MethodGet, endpoint, "", http.StatusNotFound, ""},
		{"wrong secret", http.MethodPost, endpoint, form(func(v url.Values) { v.Set("client_secret", "nope") }), http.StatusUnauthorized, "invalid_client"},
		{"another client", http.MethodPost, endpoint, form(func(v url.Values) { v.Set("client_id", "00000000-0000-0000-0000-000000000001") }), http.StatusUnauthorized, "invalid_client"},
		{"another grant", http.MethodPost, endpoint, form(func(v url.Values) { v.Set("grant_type", "password") }), http.StatusBadRequest, "invalid_request"},
		{"another scope", http.MethodPost, endpoint, form(func(v url.Values) { v.Set("scope", "api://other/.default") }), http.StatusBadRequest, "invalid_request"},
		{"malformed form", http.MethodPost, endpoint, "a=%zz", http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%s); want %d", resp.StatusCode, b, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusOK {
				if strings.Contains(string(b), "access_token") || !strings.Contains(string(b), tc.wantError) {
					t.Errorf("body %s; want error %q and no token", b, tc.wantError)
				}
				return
			}
			var body struct {
				TokenType   string `json:"token_type"`
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(b, &body); err != nil || body.TokenType != "Bearer" {
				t.Fatalf("body %s: %v", b, err)
			}
			checkFloorToken(t, dbFile, body.AccessToken, target)
		})
	}
}

// checkFloorToken verifies token with the database's active key and checks
// the claims that make it the size and shape of issuer's.
func checkFloorToken(t *testing.T, dbFile, token string, target Target) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	db, err := storage.Open(dbFile, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := db.SigningKeys(t.Context())
	db.Close()
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d signing keys, %v", len(keys), err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&keys[0].PrivateKey.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var header struct{ Alg, Kid string }
	var claims floorClaims
	for i, v := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	if header.Alg != "RS256" || header.Kid != keys[0].KeyID {
		t.Errorf("header %+v; want RS256 and kid %s", header, keys[0].KeyID)
	}
	if claims.Tid != target.Tenant || claims.Azp != target.ClientID || claims.Ver != "2.0" ||
		len(claims.Roles) != 1 || claims.Roles[0] != RoleValue || claims.Aud == "" || claims.Oid == "" ||
		claims.Exp-claims.Iat != 3600 || claims.Uti == "" || claims.Aio == "" {
		t.Errorf("claims %+v; want the bench client's app-only token", claims)
	}
}
