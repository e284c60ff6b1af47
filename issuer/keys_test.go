package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// jwksKids lists the kids of a key set.
func (w *world) jwksKids(t *testing.T, path string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	w.get(t, path).decode(t, &set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// TestFirstKey checks that a fresh database gets one signing key, stored
// and published, and that a second server over the same store reuses it.
func TestFirstKey(t *testing.T) {
	s := issuertest.NewServer(t, issuertest.Clock(fixedNow))
	ctx := context.Background()
	keys, err := s.DB.SigningKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("SigningKeys = %d keys, %v; want 1", len(keys), err)
	}
	w := &world{Server: s}
	if got := w.jwksKids(t, "/common/discovery/keys"); len(got) != 1 || got[0] != keys[0].KeyID {
		t.Errorf("JWKS kids = %v; want [%s]", got, keys[0].KeyID)
	}
	if _, err := issuer.New(ctx, s.DB, issuer.Config{BaseURL: s.URL}); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.DB.SigningKeys(ctx); len(again) != 1 {
		t.Errorf("after a second New: %d keys; want the first one reused", len(again))
	}
}

// TestKeyRotation retires the test key for a new one: after ReloadKeys new
// tokens carry the new kid, both keys are published while the old one is in
// its grace period, and only the new one after.
func TestKeyRotation(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	old := testKey(t)
	next, err := signing.NewKey(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	w.must(w.DB.AddSigningKey(ctx, next))
	w.must(w.DB.UpdateSigningKey(ctx, old.KeyID, func(k *tenant.SigningKey) error {
		k.RetiredDateTime = fixedNow
		k.ExpiresDateTime = fixedNow.Add(24 * time.Hour)
		return nil
	}))
	w.must(w.Issuer.ReloadKeys(ctx))

	r := w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	var m map[string]any
	r.decode(t, &m)
	if v := w.verify(t, m["access_token"].(string), tenantA, 2); v.kid != next.KeyID {
		t.Errorf("token kid = %s; want the new key %s", v.kid, next.KeyID)
	}
	for _, path := range []string{"/common/discovery/keys", "/" + tenantA + "/discovery/v2.0/keys"} {
		if got := w.jwksKids(t, path); len(got) != 2 || got[0] != next.KeyID || got[1] != old.KeyID {
			t.Errorf("GET %s kids = %v; want [%s %s] (new first)", path, got, next.KeyID, old.KeyID)
		}
	}
	w.Advance(25 * time.Hour)
	if got := w.jwksKids(t, "/common/discovery/keys"); len(got) != 1 || got[0] != next.KeyID {
		t.Errorf("after the grace period, kids = %v; want [%s]", got, next.KeyID)
	}
}

// TestRetiredKeysOnly checks that a server whose keys are all retired makes
// a new active one rather than signing with a retired key.
func TestRetiredKeysOnly(t *testing.T) {
	k := testKey(t)
	k.RetiredDateTime = fixedNow.Add(-time.Hour)
	s := issuertest.NewServer(t, issuertest.Clock(fixedNow), issuertest.SigningKey(k))
	keys, err := s.DB.SigningKeys(context.Background())
	if err != nil || len(keys) != 2 || !keys[0].Active() || keys[0].KeyID == k.KeyID {
		t.Fatalf("SigningKeys = %d keys, %v; want a new active key before the retired one", len(keys), err)
	}
	w := &world{Server: s}
	if got := w.jwksKids(t, "/common/discovery/keys"); len(got) != 2 {
		t.Errorf("JWKS kids = %v; want the new key and the retired one (no expiry set)", got)
	}
	if r := w.get(t, "/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz = %d; want 200", r.status)
	}
}

// TestTokenLifetime checks that Config.TokenLifetime sets expires_in and
// moves exp with it, keeping the 300 s backdating and the extra second.
func TestTokenLifetime(t *testing.T) {
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.TokenLifetime = 2 * time.Hour }))
	r := w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	var m map[string]any
	r.decode(t, &m)
	c := w.verify(t, m["access_token"].(string), tenantA, 2).claims
	if m["expires_in"] != float64(7200) || c["exp"].(float64)-c["iat"].(float64) != 7501 {
		t.Errorf("expires_in = %v, exp-iat = %v; want 7200, 7501", m["expires_in"], c["exp"].(float64)-c["iat"].(float64))
	}
}

// TestUserTokenLifetime: delegated access tokens live between 60 and 90
// minutes, drawn for each token (Entra's default), unless
// Config.UserTokenLifetime fixes it; app-only tokens keep 3599 s either way.
func TestUserTokenLifetime(t *testing.T) {
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	for _, tc := range []struct {
		name     string
		fixed    time.Duration
		draw     func(int64) int64
		want     []float64 // expires_in of two password grants
		wantSpan bool      // draws may differ; each within 60-90 min
	}{
		// The draw is in [0, 1801): the lowest and the highest, each token its own.
		{name: "each token draws, lowest then highest", draw: sequence(1800, 0, 1800), want: []float64{3600, 5400}},
		{name: "real source", wantSpan: true},
		{name: "fixed by configuration", fixed: 20 * time.Minute, draw: func(int64) int64 { panic("drawn although fixed") },
			want: []float64{1200, 1200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) {
				c.UserTokenLifetime = tc.fixed
				if tc.draw != nil {
					c.LifetimeDraw = tc.draw
				} else {
					c.LifetimeDraw = nil // the default source
				}
			}))
			w.seedDelegated()
			for i := range 2 {
				m := w.tokenOK(t, v2, pwForm())
				in := m["expires_in"].(float64)
				c := w.verify(t, m["access_token"].(string), tenantA, 2).claims
				if got := c["exp"].(float64) - c["iat"].(float64); got != in+301 {
					t.Errorf("exp-iat = %v; want expires_in %v + 301", got, in)
				}
				switch {
				case tc.wantSpan && (in < 3600 || in > 5400):
					t.Errorf("expires_in = %v; want 3600..5400", in)
				case !tc.wantSpan && in != tc.want[i]:
					t.Errorf("token %d: expires_in = %v; want %v", i, in, tc.want[i])
				}
			}
			var app map[string]any
			w.post(t, v2, ccForm("scope", "api://inventory/.default")).decode(t, &app)
			if app["expires_in"] != float64(3599) {
				t.Errorf("app-only expires_in = %v; want 3599", app["expires_in"])
			}
		})
	}
}

// TestTokenLifetimePolicy: an application's token lifetime policy sets the
// lifetime of the access tokens issued for it, app-only and delegated (no
// draw), and of the id_tokens issued to it, with Entra's arithmetic (a
// policy of L: expires_in L-1, exp-iat L+300); without one, the defaults.
func TestTokenLifetimePolicy(t *testing.T) {
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) {
		c.LifetimeDraw = func(n int64) int64 { return 0 } // 60 minutes when drawn
	}))
	w.seedDelegated()
	set := func(appRef string, d time.Duration) {
		if _, err := w.Directory.UpdateApplication(context.Background(), appRef, tenant.ApplicationUpdate{AccessTokenLifetime: &d}); err != nil {
			t.Fatal(err)
		}
	}
	span := func(c map[string]any) float64 { return c["exp"].(float64) - c["iat"].(float64) }
	tests := []struct {
		name              string
		inventory, middle time.Duration // the resources' policies
		native            time.Duration // the password grant's client's
		wantApp, wantUser float64       // expires_in
		wantIDSpan        float64       // exp-iat of the id_token
	}{
		{"no policies", 0, 0, 0, 3599, 3600, 3900},
		{"the resources' policies", 4 * time.Hour, 30 * time.Minute, 0, 14399, 1799, 3900},
		{"the client's policy: id_tokens only", 0, 0, 2 * time.Hour, 3599, 3600, 7500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set(inventoryID, tt.inventory)
			set(middleID, tt.middle)
			set(nativeID, tt.native)
			var app map[string]any
			w.post(t, v2, ccForm("scope", "api://inventory/.default")).decode(t, &app)
			if app["expires_in"] != tt.wantApp || span(w.verify(t, app["access_token"].(string), tenantA, 2).claims) != tt.wantApp+301 {
				t.Errorf("app-only: expires_in %v; want %v", app["expires_in"], tt.wantApp)
			}
			m := w.tokenOK(t, v2, pwForm())
			if m["expires_in"] != tt.wantUser || span(w.verify(t, m["access_token"].(string), tenantA, 2).claims) != tt.wantUser+301 {
				t.Errorf("delegated: expires_in %v; want %v", m["expires_in"], tt.wantUser)
			}
			if got := span(jwtClaims(t, m["id_token"].(string))); got != tt.wantIDSpan {
				t.Errorf("id_token exp-iat %v; want %v", got, tt.wantIDSpan)
			}
		})
	}
	for _, d := range []time.Duration{9 * time.Minute, 25 * time.Hour, 90*time.Minute + time.Millisecond} {
		if _, err := w.Directory.UpdateApplication(context.Background(), inventoryID, tenant.ApplicationUpdate{AccessTokenLifetime: &d}); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("a policy of %v: %v; want ErrInvalid", d, err)
		}
	}
}

// sequence returns a draw that checks it is asked for a number in
// [0, span+1) and answers vs in turn.
func sequence(span int64, vs ...int64) func(int64) int64 {
	var i int
	return func(n int64) int64 {
		if n != span+1 {
			panic(fmt.Sprintf("draw in [0, %d); want [0, %d)", n, span+1))
		}
		v := vs[i%len(vs)]
		i++
		return v
	}
}

// TestConfigValidation checks that New refuses configurations clients could
// not use.
func TestConfigValidation(t *testing.T) {
	s := issuertest.NewServer(t)
	ok := issuer.Config{BaseURL: "https://login.example.test:8443"}
	for _, tc := range []struct {
		name string
		edit func(*issuer.Config)
	}{
		{"no BaseURL", func(c *issuer.Config) { c.BaseURL = "" }},
		{"http BaseURL", func(c *issuer.Config) { c.BaseURL = "http://localhost:8080" }},
		{"ftp BaseURL with AllowHTTP", func(c *issuer.Config) { c.BaseURL = "ftp://localhost:8080"; c.AllowHTTP = true }},
		{"BaseURL with a path", func(c *issuer.Config) { c.BaseURL = "https://localhost/entra" }},
		{"BaseURL with a query", func(c *issuer.Config) { c.BaseURL = "https://localhost?x=1" }},
		{"BaseURL without host", func(c *issuer.Config) { c.BaseURL = "https:///x" }},
		{"negative lifetime", func(c *issuer.Config) { c.TokenLifetime = -time.Second }},
		{"negative user token lifetime", func(c *issuer.Config) { c.UserTokenLifetime = -time.Second }},
		{"negative refresh token lifetime", func(c *issuer.Config) { c.RefreshTokenLifetime = -time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			if _, err := issuer.New(context.Background(), s.DB, cfg); err == nil {
				t.Errorf("New(%+v) succeeded; want an error", cfg)
			}
		})
	}
	t.Run("no backend", func(t *testing.T) {
		if _, err := issuer.New(context.Background(), nil, ok); err == nil {
			t.Errorf("New without a backend succeeded; want an error")
		}
	})
	t.Run("trailing slash is dropped", func(t *testing.T) {
		cfg := ok
		cfg.BaseURL = "https://login.example.test:8443/"
		srv, err := issuer.New(context.Background(), s.DB, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.BaseURL(); got != "https://login.example.test:8443" {
			t.Errorf("BaseURL() = %q; want no trailing slash", got)
		}
	})
}
