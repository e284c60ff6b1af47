package issuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// staticKeys is a keySetFetcher serving fixed keys for one issuer and
// counting its fetches; any other issuer fails as an unreachable one would.
type staticKeys struct {
	issuer string
	keys   []jose.JSONWebKey
	n      atomic.Int64
}

func (s *staticKeys) fetchKeySet(_ context.Context, issuer string) ([]jose.JSONWebKey, error) {
	s.n.Add(1)
	if issuer != s.issuer {
		return nil, errors.New("unreachable")
	}
	return s.keys, nil
}

// fuzzJWT signs claims with key (RS256 or PS256 per header["alg"]).
func fuzzJWT(f *testing.F, header, claims map[string]any, key *rsa.PrivateKey) string {
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if header["alg"] == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], nil)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	if err != nil {
		f.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// FuzzClientAssertion feeds arbitrary client assertions and assertion
// types to authenticateClient for a client with a certificate and a
// federated credential: nothing may panic, an accepted assertion earns
// appidacr "2", and every refusal is an *Error with a client-error code of
// the table.
func FuzzClientAssertion(f *testing.F) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := storage.Open(filepath.Join(f.TempDir(), "fuzz.db"), storage.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	d := tenant.NewDirectory(db, tenant.WithClock(func() time.Time { return now }))
	if _, err := d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"}); err != nil {
		f.Fatal(err)
	}
	const appID = "b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2"
	if _, err := d.RegisterApplication(ctx, "contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Daemon", AppID: appID}); err != nil {
		f.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "daemon"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	cred, err := d.AddKeyCredential(ctx, appID, der, "")
	if err != nil {
		f.Fatal(err)
	}
	const fedIssuer = "https://idp.example/tenant"
	if _, err := d.AddFederatedIdentityCredential(ctx, appID, tenant.FederatedIdentityCredential{Name: "idp", Issuer: fedIssuer, Subject: "workload"}); err != nil {
		f.Fatal(err)
	}
	srv, err := New(ctx, db, Config{BaseURL: "https://issuer.test", Clock: frozenAt(now)})
	if err != nil {
		f.Fatal(err)
	}
	srv.federation = newFederationKeys(&staticKeys{issuer: fedIssuer, keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}}, srv.cfg.Now)
	auth, err := srv.resolveAuthority(ctx, "contoso.onmicrosoft.com")
	if err != nil {
		f.Fatal(err)
	}
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		f.Fatal(err)
	}

	aud := "https://issuer.test/" + auth.tenant.ID + "/oauth2/v2.0/token"
	claims := map[string]any{"iss": appID, "sub": appID, "aud": aud, "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "x"}
	for _, seed := range []struct{ assertion, typ string }{
		{fuzzJWT(f, map[string]any{"alg": "PS256", "x5t#S256": base64.StdEncoding.EncodeToString(cred.Thumbprint256)}, claims, key), clientAssertionTypeJWT},
		{fuzzJWT(f, map[string]any{"alg": "RS256", "x5t": base64.RawURLEncoding.EncodeToString(cred.CustomKeyIdentifier)}, claims, key), clientAssertionTypeJWT},
		{fuzzJWT(f, map[string]any{"alg": "RS256", "kid": cred.KeyID}, claims, key), clientAssertionTypeJWT},
		{fuzzJWT(f, map[string]any{"alg": "RS256", "kid": "k1"}, map[string]any{"iss": fedIssuer, "sub": "workload", "aud": []string{tenant.DefaultFederationAudience}, "exp": now.Add(time.Hour).Unix()}, key), clientAssertionTypeJWT},
		{fuzzJWT(f, map[string]any{"alg": "RS256", "kid": "k1"}, map[string]any{"iss": "https://other.example", "sub": "workload", "aud": "x", "exp": 1}, key), clientAssertionTypeJWT},
		{"eyJhbGciOiJub25lIn0.e30.", clientAssertionTypeJWT},
		{"e30.e30.e30", clientAssertionTypeJWT},
		{"eyJhbGciOiJQUzI1NiIsIng1dCI6IiUlJSJ9.eyJpc3MiOjEsImF1ZCI6W1siYSJdXX0.c2ln", clientAssertionTypeJWT},
		{`{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJSUzI1NiJ9","signature":"c2ln"}]}`, clientAssertionTypeJWT},
		{"a.b.c", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"},
		{"a.b.c", ""},
		{"", clientAssertionTypeJWT},
	} {
		f.Add(seed.assertion, seed.typ)
	}
	f.Fuzz(func(t *testing.T, assertion, typ string) {
		req := &tokenRequest{Endpoint: 2, Tenant: "contoso.onmicrosoft.com", GrantType: grantClientCredentials,
			ClientID: appID, ClientAssertion: assertion, ClientAssertionType: typ}
		acr, err := srv.authenticateClient(ctx, auth, &app, req, now)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if assertion == "" {
			t.Fatalf("an empty assertion authenticated the client")
		}
		if acr != appIDACRCertificate {
			t.Fatalf("accepted assertion earned appidacr %q; want %q", acr, appIDACRCertificate)
		}
	})
}
