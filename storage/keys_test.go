package storage

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// testRSAKey is generated once per test binary: RSA generation is slow.
var testRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// newSigningKey returns a signing key with its own self-signed certificate
// (serial n), created at created.
func newSigningKey(t testing.TB, kid string, n int64, created time.Time) tenant.SigningKey {
	t.Helper()
	priv, err := testRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: "issuer " + kid},
		NotBefore: created, NotAfter: created.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tenant.SigningKey{KeyID: kid, PrivateKey: priv, Certificate: cert, CreatedDateTime: created}
}

func TestSigningKeys(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	if ks, err := db.SigningKeys(ctx); err != nil || len(ks) != 0 {
		t.Errorf("SigningKeys of a new database = %v, %v; want none", ks, err)
	}
	k1 := newSigningKey(t, "kid-1", 1, t0)
	k2 := newSigningKey(t, "kid-2", 2, t0.Add(time.Hour))
	k3 := newSigningKey(t, "kid-0", 3, t0.Add(2*time.Hour)) // newest, though its kid sorts first
	k1.RetiredDateTime, k1.ExpiresDateTime = t0.Add(time.Hour), t0.Add(48*time.Hour)
	for _, k := range []tenant.SigningKey{k2, k1, k3} {
		if err := db.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey(%s): %v", k.KeyID, err)
		}
	}

	ks, err := db.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range ks {
		kids = append(kids, k.KeyID)
	}
	if want := []string{"kid-0", "kid-2", "kid-1"}; !slices.Equal(kids, want) {
		t.Errorf("SigningKeys order = %v; want %v (newest first)", kids, want)
	}
	for i, want := range []tenant.SigningKey{k3, k2, k1} {
		got := ks[i]
		if !got.PrivateKey.Equal(want.PrivateKey) || !got.Certificate.Equal(want.Certificate) {
			t.Errorf("key %s: key material changed in the round trip", want.KeyID)
		}
		if !got.CreatedDateTime.Equal(want.CreatedDateTime) || !got.RetiredDateTime.Equal(want.RetiredDateTime) ||
			!got.ExpiresDateTime.Equal(want.ExpiresDateTime) {
			t.Errorf("key %s: times = %v/%v/%v; want %v/%v/%v", want.KeyID, got.CreatedDateTime, got.RetiredDateTime,
				got.ExpiresDateTime, want.CreatedDateTime, want.RetiredDateTime, want.ExpiresDateTime)
		}
	}
	if ks[0].Active() != true || ks[2].Active() != false {
		t.Errorf("Active() = %v, %v; want true for kid-0, false for the retired kid-1", ks[0].Active(), ks[2].Active())
	}

	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		kid    string
		update func(*tenant.SigningKey) error
		want   error
	}{
		{"retire", "kid-2", func(k *tenant.SigningKey) error {
			k.RetiredDateTime, k.ExpiresDateTime = t0.Add(3*time.Hour), t0.Add(72*time.Hour)
			return nil
		}, nil},
		{"change kid", "kid-2", func(k *tenant.SigningKey) error { k.KeyID = "kid-9"; return nil }, tenant.ErrInvalid},
		{"drop private key", "kid-2", func(k *tenant.SigningKey) error { k.PrivateKey = nil; return nil }, tenant.ErrInvalid},
		{"updater error aborts", "kid-0", func(k *tenant.SigningKey) error { k.RetiredDateTime = t0; return errBoom }, errBoom},
		{"missing", "kid-9", func(*tenant.SigningKey) error { return nil }, tenant.ErrNotFound},
	} {
		t.Run("update/"+tc.name, func(t *testing.T) {
			wantErr(t, "UpdateSigningKey", db.UpdateSigningKey(ctx, tc.kid, tc.update), tc.want)
		})
	}
	ks, _ = db.SigningKeys(ctx)
	if !ks[1].RetiredDateTime.Equal(t0.Add(3*time.Hour)) || !ks[0].Active() {
		t.Errorf("after updates: kid-2 retired at %v, kid-0 active %v; want retired at t0+3h and active", ks[1].RetiredDateTime, ks[0].Active())
	}

	for _, tc := range []struct {
		name string
		k    tenant.SigningKey
		want error
	}{
		{"duplicate kid", newSigningKey(t, "kid-1", 4, t0), tenant.ErrExists},
		{"empty kid", newSigningKey(t, "", 5, t0), tenant.ErrInvalid},
		{"no private key", tenant.SigningKey{KeyID: "kid-5", Certificate: k1.Certificate}, tenant.ErrInvalid},
		{"no certificate", tenant.SigningKey{KeyID: "kid-6", PrivateKey: k1.PrivateKey}, tenant.ErrInvalid},
	} {
		t.Run("add/"+tc.name, func(t *testing.T) {
			wantErr(t, "AddSigningKey", db.AddSigningKey(ctx, tc.k), tc.want)
		})
	}

	if err := db.DeleteSigningKey(ctx, "kid-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSigningKey(ctx, "kid-1"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("second DeleteSigningKey = %v; want ErrNotFound", err)
	}
	if ks, _ := db.SigningKeys(ctx); len(ks) != 2 {
		t.Errorf("SigningKeys after delete = %d keys; want 2", len(ks))
	}
}

func TestSettings(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	if _, err := db.Setting(ctx, "tls"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Setting(tls) of a new database = %v; want ErrNotFound", err)
	}
	for _, tc := range []struct {
		name  string
		key   string
		value []byte
		want  []byte
	}{
		{"bytes", "tls", []byte("-----BEGIN CERTIFICATE-----\x00\xff"), []byte("-----BEGIN CERTIFICATE-----\x00\xff")},
		{"overwrite", "tls", []byte("second"), []byte("second")},
		{"empty value", "empty", []byte{}, []byte{}},
		{"nil value", "nil", nil, []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.PutSetting(ctx, tc.key, tc.value); err != nil {
				t.Fatal(err)
			}
			got, err := db.Setting(ctx, tc.key)
			if err != nil || !bytes.Equal(got, tc.want) || got == nil {
				t.Errorf("Setting(%s) = %q, %v; want %q", tc.key, got, err, tc.want)
			}
		})
	}
	// The returned slice is the caller's.
	got, _ := db.Setting(ctx, "tls")
	got[0] = 'X'
	if again, _ := db.Setting(ctx, "tls"); string(again) != "second" {
		t.Errorf("Setting(tls) after mutating a result = %q; want second", again)
	}
	if _, err := db.Setting(ctx, "tl"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Setting(tl) = %v; want ErrNotFound (no prefix match)", err)
	}
	if err := db.PutSetting(ctx, "", []byte("x")); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("PutSetting(\"\") = %v; want ErrInvalid", err)
	}
}
