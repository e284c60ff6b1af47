package conformance

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// RSA keys take a while to make: the suite makes three, once.
var (
	keysOnce sync.Once
	keys     [3]tenant.SigningKey
	keysErr  error
)

// signingKeys returns three distinct signing keys, created at t0.
func signingKeys(t *testing.T) [3]tenant.SigningKey {
	t.Helper()
	keysOnce.Do(func() {
		for i := range keys {
			if keys[i], keysErr = signing.NewKey(t0); keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatalf("NewSigningKey: %v", keysErr)
	}
	return keys
}

// sameKey compares signing keys by their material and dates.
func sameKey(a, b tenant.SigningKey) bool {
	return a.KeyID == b.KeyID && a.PrivateKey != nil && b.PrivateKey != nil && a.PrivateKey.Equal(b.PrivateKey) &&
		a.Certificate != nil && b.Certificate != nil && bytes.Equal(a.Certificate.Raw, b.Certificate.Raw) &&
		a.CreatedDateTime.Equal(b.CreatedDateTime) && a.RetiredDateTime.Equal(b.RetiredDateTime) &&
		a.ExpiresDateTime.Equal(b.ExpiresDateTime)
}

func (f *fixture) wantKeys(what string, want ...tenant.SigningKey) {
	f.t.Helper()
	got, err := f.b.SigningKeys(f.ctx)
	f.must("SigningKeys", err)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = sameKey(got[i], want[i])
	}
	if !ok {
		var g, w []string
		for _, k := range got {
			g = append(g, k.KeyID)
		}
		for _, k := range want {
			w = append(w, k.KeyID)
		}
		f.t.Errorf("%s: SigningKeys = %v; want %v, newest first, as stored", what, g, w)
	}
}

func testSigningKeys(t *testing.T, f *fixture) {
	ks := signingKeys(t)
	f.wantKeys("a new backend")
	// Newest first; keys created at the same time in KeyID order.
	oldest, newer, same := ks[0], ks[1], ks[2]
	newer.CreatedDateTime = t0.Add(time.Hour)
	same.CreatedDateTime = newer.CreatedDateTime
	for _, k := range []tenant.SigningKey{oldest, newer, same} {
		f.must("AddSigningKey", f.b.AddSigningKey(f.ctx, k))
	}
	first, second := newer, same
	if second.KeyID < first.KeyID {
		first, second = second, first
	}
	f.wantKeys("three keys", first, second, oldest)

	noCert := oldest
	noCert.KeyID, noCert.Certificate = "no-certificate", nil
	noKey := oldest
	noKey.KeyID, noKey.PrivateKey = "no-private-key", nil
	runErrCases(t, []errCase{
		{"add a taken kid", func() error { return f.b.AddSigningKey(f.ctx, oldest) }, tenant.ErrExists},
		{"add without a kid", func() error { k := oldest; k.KeyID = ""; return f.b.AddSigningKey(f.ctx, k) }, tenant.ErrInvalid},
		{"add without a certificate", func() error { return f.b.AddSigningKey(f.ctx, noCert) }, tenant.ErrInvalid},
		{"add without a private key", func() error { return f.b.AddSigningKey(f.ctx, noKey) }, tenant.ErrInvalid},
		{"update a missing key", func() error {
			return f.b.UpdateSigningKey(f.ctx, "missing", func(*tenant.SigningKey) error { return nil })
		}, tenant.ErrNotFound},
		{"update changing the kid", func() error {
			return f.b.UpdateSigningKey(f.ctx, oldest.KeyID, func(k *tenant.SigningKey) error { k.KeyID = "other"; return nil })
		}, tenant.ErrInvalid},
		{"delete a missing key", func() error { return f.b.DeleteSigningKey(f.ctx, "missing") }, tenant.ErrNotFound},
	})
	f.wantKeys("after refused writes", first, second, oldest)

	// Retiring: the dates are stored, the material unchanged.
	retired, expires := t0.Add(2*time.Hour), t0.Add(26*time.Hour)
	f.must("UpdateSigningKey", f.b.UpdateSigningKey(f.ctx, oldest.KeyID, func(k *tenant.SigningKey) error {
		if !sameKey(*k, oldest) {
			t.Errorf("the updater was given %s, not the stored key", k.KeyID)
		}
		k.RetiredDateTime, k.ExpiresDateTime = retired, expires
		return nil
	}))
	oldest.RetiredDateTime, oldest.ExpiresDateTime = retired, expires
	f.wantKeys("after retiring the oldest", first, second, oldest)

	f.must("DeleteSigningKey", f.b.DeleteSigningKey(f.ctx, oldest.KeyID))
	f.wantKeys("after deleting the oldest", first, second)
	if err := f.b.DeleteSigningKey(f.ctx, oldest.KeyID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("deleting a key twice: %v; want ErrNotFound", err)
	}
}

// testFirstSigningKey: AddFirstSigningKey stores a key only while the
// store holds no active one, so that servers starting together on one
// store keep one key.
func testFirstSigningKey(t *testing.T, f *fixture) {
	ks := signingKeys(t)
	a, b := ks[0], ks[1]
	steps := []struct {
		name      string
		key       tenant.SigningKey
		wantAdded bool
		retire    bool // retire every key before the step
	}{
		{"an empty store takes the key", a, true, false},
		{"a store with an active key does not", b, false, false},
		{"a store whose keys are all retired does", b, true, true},
		{"and then no more", a, false, false},
	}
	for _, st := range steps {
		if st.retire {
			f.must("UpdateSigningKey", f.b.UpdateSigningKey(f.ctx, a.KeyID, func(k *tenant.SigningKey) error {
				k.RetiredDateTime, k.ExpiresDateTime = t0, t0.Add(time.Hour)
				return nil
			}))
		}
		added, err := f.b.AddFirstSigningKey(f.ctx, st.key)
		if err != nil || added != st.wantAdded {
			t.Errorf("%s: AddFirstSigningKey = %v, %v; want %v", st.name, added, err, st.wantAdded)
		}
	}
	got, err := f.b.SigningKeys(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].KeyID == got[1].KeyID {
		t.Errorf("%d keys stored; want a and b once each", len(got))
	}
	k := a
	k.Certificate = nil
	if _, err := f.b.AddFirstSigningKey(f.ctx, k); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("a key without a certificate: %v; want ErrInvalid", err)
	}
}

func testSettings(t *testing.T, f *fixture) {
	if _, err := f.b.Setting(f.ctx, "tls"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Setting never put: %v; want ErrNotFound", err)
	}
	value := []byte("first")
	f.must("PutSetting", f.b.PutSetting(f.ctx, "tls", value))
	value[0] = 'F' // the store kept its own copy
	got, err := f.b.Setting(f.ctx, "tls")
	f.must("Setting", err)
	if string(got) != "first" {
		t.Errorf("Setting = %q; want %q", got, "first")
	}
	got[0] = 'X' // and hands out copies
	if again, _ := f.b.Setting(f.ctx, "tls"); string(again) != "first" {
		t.Errorf("Setting after changing a returned value = %q; want %q", again, "first")
	}
	f.must("PutSetting replacing", f.b.PutSetting(f.ctx, "tls", []byte("second")))
	if got, err := f.b.Setting(f.ctx, "tls"); err != nil || string(got) != "second" {
		t.Errorf("Setting after a replace = %q, %v; want %q", got, err, "second")
	}
	// An empty value is a value; names are exact.
	f.must("PutSetting empty", f.b.PutSetting(f.ctx, "empty", nil))
	if got, err := f.b.Setting(f.ctx, "empty"); err != nil || len(got) != 0 {
		t.Errorf("Setting of an empty value = %q, %v; want empty and no error", got, err)
	}
	for _, name := range []string{"TLS", "tl", "tls2"} {
		if _, err := f.b.Setting(f.ctx, name); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("Setting(%q) beside %q: %v; want ErrNotFound", name, "tls", err)
		}
	}
	if err := f.b.PutSetting(f.ctx, "", []byte("x")); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("PutSetting with an empty name: %v; want ErrInvalid", err)
	}
}
