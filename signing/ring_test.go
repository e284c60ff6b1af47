package signing

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// testKeys are two keys made once per test binary.
var testKeys = sync.OnceValues(func() ([2]tenant.SigningKey, error) {
	var out [2]tenant.SigningKey
	for i := range out {
		var err error
		if out[i], err = NewKey(fixedNow); err != nil {
			return out, err
		}
	}
	return out, nil
})

func twoKeys(t *testing.T) (tenant.SigningKey, tenant.SigningKey) {
	t.Helper()
	ks, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return ks[0], ks[1]
}

// TestNewRingRefusals: a key set that cannot sign or be published is
// refused when it is loaded.
func TestNewRingRefusals(t *testing.T) {
	a, b := twoKeys(t)
	retired := a
	retired.RetiredDateTime, retired.ExpiresDateTime = fixedNow, fixedNow.Add(time.Hour)
	noKey := a
	noKey.PrivateKey = nil
	wrongKid := a
	wrongKid.KeyID = b.KeyID
	otherCert := a
	otherCert.Certificate = b.Certificate
	for _, tc := range []struct {
		name string
		keys []tenant.SigningKey
	}{
		{"no keys", nil},
		{"only retired keys", []tenant.SigningKey{retired}},
		{"no private key", []tenant.SigningKey{noKey}},
		{"kid not the thumbprint", []tenant.SigningKey{wrongKid}},
		{"certificate of another key", []tenant.SigningKey{otherCert}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRing(tc.keys, GoBackend()); err == nil {
				t.Error("NewRing succeeded; want an error")
			}
		})
	}
}

// TestRing: the first active key signs; every published key, retired ones
// in their grace period included, is in the JWKS and verifies.
func TestRing(t *testing.T) {
	a, b := twoKeys(t)
	retired := b
	retired.RetiredDateTime, retired.ExpiresDateTime = fixedNow, fixedNow.Add(time.Hour)
	r, err := NewRing([]tenant.SigningKey{retired, a}, GoBackend())
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID() != a.KeyID {
		t.Errorf("KeyID = %s; want the active key %s", r.KeyID(), a.KeyID)
	}
	for _, version := range []int{1, 2} {
		tok, err := r.Sign(version, map[string]any{"aud": "x"})
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(r.PublicKey(a.KeyID, fixedNow), crypto.SHA256, digest[:], sig); err != nil {
			t.Errorf("v%d token does not verify with the active key: %v", version, err)
		}
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		want []string
	}{
		{"in the grace period", fixedNow.Add(30 * time.Minute), []string{retired.KeyID, a.KeyID}},
		{"after it", fixedNow.Add(time.Hour), []string{a.KeyID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, k := range r.JWKS(tc.at, "https://issuer.test/{tenantid}/v2.0") {
				got = append(got, k.Kid)
				if k.Issuer != "https://issuer.test/{tenantid}/v2.0" || k.X5t != k.Kid || len(k.X5c) != 1 {
					t.Errorf("JWK %+v", k)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("JWKS kids = %v; want %v", got, tc.want)
			}
			if pk := r.PublicKey(retired.KeyID, tc.at); (pk != nil) != (len(tc.want) == 2) {
				t.Errorf("PublicKey of the retired key = %v; want it only while published", pk)
			}
		})
	}
	if r.PublicKey("unknown", fixedNow) != nil {
		t.Error("PublicKey of an unknown kid is not nil")
	}
}

// TestLoad: an empty store gets its first key; a store that fails is an
// error, not a ring.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "keys.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(ctx, db, fixedNow, GoBackend())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := db.SigningKeys(ctx)
	if err != nil || len(keys) != 1 || r.KeyID() != keys[0].KeyID {
		t.Errorf("after Load of an empty store: %d keys (%v), ring signs with %s", len(keys), err, r.KeyID())
	}
	again, err := Load(ctx, db, fixedNow, GoBackend())
	if keys, _ := db.SigningKeys(ctx); err != nil || again.KeyID() != r.KeyID() || len(keys) != 1 {
		t.Errorf("a second Load made another key or failed: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, db, fixedNow, GoBackend()); err == nil {
		t.Errorf("Load of a closed database succeeded; want its error")
	}
}
