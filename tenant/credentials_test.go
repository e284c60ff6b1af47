package tenant_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// selfSigned returns a DER certificate for key, valid from nb to na.
func selfSigned(t *testing.T, key crypto.Signer, cn string, nb, na time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyCredentials(t *testing.T) {
	e := newEnv(t)
	e.tenant("contoso")
	app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Daemon"})
	key := rsaKey(t, 2048)
	der := selfSigned(t, key, "daemon", epoch.Add(-time.Hour), epoch.Add(365*24*time.Hour))

	c, err := e.dir.AddKeyCredential(e.ctx, strings.ToUpper(app.AppID), der, "")
	if err != nil {
		t.Fatal(err)
	}
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	if c.Type != tenant.KeyTypeAsymmetricX509Cert || c.Usage != tenant.KeyUsageVerify || c.DisplayName != "CN=daemon" ||
		!bytes.Equal(c.CustomKeyIdentifier, s1[:]) || !bytes.Equal(c.Thumbprint256, s256[:]) || !bytes.Equal(c.Key, der) ||
		!c.StartDateTime.Equal(epoch.Add(-time.Hour)) || !c.EndDateTime.Equal(epoch.Add(365*24*time.Hour)) || !tenant.IsGUID(c.KeyID) {
		t.Errorf("AddKeyCredential = %+v; want the certificate's thumbprints, dates and subject", c)
	}
	if want := strings.ToUpper(fmt.Sprintf("%x", s1)); c.Thumbprint() != want {
		t.Errorf("Thumbprint() = %s; want %s", c.Thumbprint(), want)
	}
	got, err := e.dir.GetApplication(e.ctx, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	for name, find := range map[string]func() (tenant.KeyCredential, bool){
		"SHA-1":   func() (tenant.KeyCredential, bool) { return got.KeyCredentialBySHA1(s1[:]) },
		"SHA-256": func() (tenant.KeyCredential, bool) { return got.KeyCredentialBySHA256(s256[:]) },
		"keyId":   func() (tenant.KeyCredential, bool) { return got.KeyCredentialByID(strings.ToUpper(c.KeyID)) },
	} {
		if k, ok := find(); !ok || k.KeyID != c.KeyID {
			t.Errorf("lookup by %s = %v, %v; want %s", name, k.KeyID, ok, c.KeyID)
		}
	}
	if _, ok := got.KeyCredentialBySHA1(s256[:20]); ok {
		t.Errorf("lookup by a wrong SHA-1 found a credential")
	}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{{epoch, true}, {epoch.Add(-2 * time.Hour), false}, {epoch.Add(365 * 24 * time.Hour), false}} {
		if c.Valid(tc.at) != tc.want {
			t.Errorf("Valid(%v) = %v; want %v", tc.at, !tc.want, tc.want)
		}
	}

	named, err := e.dir.AddKeyCredential(e.ctx, app.AppID, selfSigned(t, key, "other", epoch, epoch.Add(time.Hour)), "  ci cert ")
	if err != nil || named.DisplayName != "ci cert" {
		t.Errorf("AddKeyCredential with a name = %+v, %v; want displayName %q", named, err, "ci cert")
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name  string
		appID string
		der   []byte
		want  error
	}{
		{"same certificate again", app.AppID, der, tenant.ErrExists},
		{"not a certificate", app.AppID, []byte("not DER"), tenant.ErrInvalid},
		{"ECDSA certificate", app.AppID, selfSigned(t, ec, "ec", epoch, epoch.Add(time.Hour)), tenant.ErrInvalid},
		{"RSA-1024 certificate", app.AppID, selfSigned(t, rsaKey(t, 1024), "small", epoch, epoch.Add(time.Hour)), tenant.ErrInvalid},
		{"validity ends before it starts", app.AppID, selfSigned(t, key, "backwards", epoch, epoch.Add(-time.Hour)), tenant.ErrInvalid},
		{"unknown application", "00000000-1111-4222-8333-444444444444", der, tenant.ErrNotFound},
		{"application id not a GUID", "daemon", der, tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.dir.AddKeyCredential(e.ctx, tc.appID, tc.der, ""); !errors.Is(err, tc.want) {
				t.Errorf("AddKeyCredential = %v; want %v", err, tc.want)
			}
		})
	}

	list, err := e.dir.ListKeyCredentials(e.ctx, app.AppID)
	if err != nil || len(list) != 2 || list[0].KeyID != c.KeyID || list[1].KeyID != named.KeyID {
		t.Fatalf("ListKeyCredentials = %v, %v; want the two credentials in order", list, err)
	}
	if err := e.dir.RemoveKeyCredential(e.ctx, app.AppID, strings.ToUpper(c.KeyID)); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.RemoveKeyCredential(e.ctx, app.AppID, c.KeyID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("removing it again = %v; want ErrNotFound", err)
	}
	if list, _ := e.dir.ListKeyCredentials(e.ctx, app.AppID); len(list) != 1 || list[0].KeyID != named.KeyID {
		t.Errorf("after remove: %v; want only %s", list, named.KeyID)
	}
}

func TestFederatedIdentityCredentials(t *testing.T) {
	e := newEnv(t)
	e.tenant("contoso")
	app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Deployer"})
	const gh = "https://token.actions.githubusercontent.com"
	spec := func(name, issuer, subject string, aud ...string) tenant.FederatedIdentityCredential {
		return tenant.FederatedIdentityCredential{Name: name, Issuer: issuer, Subject: subject, Audiences: aud}
	}
	first, err := e.dir.AddFederatedIdentityCredential(e.ctx, app.AppID, spec("main-branch", gh, "repo:contoso/app:ref:refs/heads/main"))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Audiences) != 1 || first.Audiences[0] != tenant.DefaultFederationAudience || !tenant.IsGUID(first.ID) {
		t.Errorf("AddFederatedIdentityCredential = %+v; want the default audience and an id", first)
	}
	long := strings.Repeat("x", 601)
	for _, tc := range []struct {
		name string
		spec tenant.FederatedIdentityCredential
		want error
	}{
		{"name too short", spec("ab", gh, "s"), tenant.ErrInvalid},
		{"name too long", spec(strings.Repeat("n", 121), gh, "s"), tenant.ErrInvalid},
		{"name with a slash", spec("a/b/c", gh, "s"), tenant.ErrInvalid},
		{"name starting with a dash", spec("-abc", gh, "s"), tenant.ErrInvalid},
		{"name taken, other case", spec("MAIN-branch", gh, "other"), tenant.ErrExists},
		{"same issuer and subject", spec("again", gh, "repo:contoso/app:ref:refs/heads/main"), tenant.ErrExists},
		{"no issuer", spec("no-issuer", "", "s"), tenant.ErrInvalid},
		{"http issuer", spec("http-issuer", "http://idp.example", "s"), tenant.ErrInvalid},
		{"issuer not a URL", spec("bad-issuer", "contoso", "s"), tenant.ErrInvalid},
		{"issuer with whitespace", spec("ws-issuer", gh+" ", "s"), tenant.ErrInvalid},
		{"issuer too long", spec("long-issuer", gh+"/"+long, "s"), tenant.ErrInvalid},
		{"no subject", spec("no-subject", gh, ""), tenant.ErrInvalid},
		{"subject with whitespace", spec("ws-subject", gh, " repo:x"), tenant.ErrInvalid},
		{"subject too long", spec("long-subject", gh, long), tenant.ErrInvalid},
		{"two audiences", spec("two-aud", gh, "s", "api://a", "api://b"), tenant.ErrInvalid},
		{"empty audience", spec("empty-aud", gh, "s", ""), tenant.ErrInvalid},
		{"description too long", tenant.FederatedIdentityCredential{Name: "desc", Issuer: gh, Subject: "s", Description: long}, tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.dir.AddFederatedIdentityCredential(e.ctx, app.AppID, tc.spec); !errors.Is(err, tc.want) {
				t.Errorf("AddFederatedIdentityCredential(%+v) = %v; want %v", tc.spec, err, tc.want)
			}
		})
	}
	// The same subject in another letter case is another credential:
	// subjects are case-sensitive.
	if _, err := e.dir.AddFederatedIdentityCredential(e.ctx, app.AppID, spec("main-upper", gh, "repo:Contoso/app:ref:refs/heads/main", "api://AzureADTokenExchangeUSGov")); err != nil {
		t.Errorf("subject differing in case: %v; want it accepted", err)
	}
	for i := 2; i < 20; i++ {
		if _, err := e.dir.AddFederatedIdentityCredential(e.ctx, app.AppID, spec(fmt.Sprintf("env-%02d", i), gh, fmt.Sprintf("repo:contoso/app:environment:%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.dir.AddFederatedIdentityCredential(e.ctx, app.AppID, spec("one-too-many", gh, "repo:contoso/app:environment:x")); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("21st credential: %v; want ErrInvalid (at most 20)", err)
	}
	list, err := e.dir.ListFederatedIdentityCredentials(e.ctx, app.AppID)
	if err != nil || len(list) != 20 || list[0].Name != "main-branch" {
		t.Fatalf("ListFederatedIdentityCredentials = %d, %v; want 20 starting with main-branch", len(list), err)
	}
	if err := e.dir.RemoveFederatedIdentityCredential(e.ctx, app.AppID, "MAIN-BRANCH"); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.RemoveFederatedIdentityCredential(e.ctx, app.AppID, "main-branch"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("removing it again = %v; want ErrNotFound", err)
	}
	if _, err := e.dir.ListFederatedIdentityCredentials(e.ctx, "00000000-1111-4222-8333-444444444444"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("list of an unknown application = %v; want ErrNotFound", err)
	}
	other := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Other"})
	if got, _ := e.dir.GetApplication(e.ctx, other.AppID); got.FederatedIdentityCredentials != nil {
		t.Errorf("an application without federated credentials holds %v; want nil", got.FederatedIdentityCredentials)
	}
}
