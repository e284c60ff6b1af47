package issuer_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// relyingParty validates tokens the way an API does: it caches the JWKS
// and, on a kid it does not know, fetches the set again once (go-oidc,
// Microsoft.IdentityModel and jose all do).
type relyingParty struct {
	w        *world
	set      jose.JSONWebKeySet
	fetches  int
	jwksPath string
}

func (rp *relyingParty) refresh(t *testing.T) {
	t.Helper()
	rp.set = jose.JSONWebKeySet{}
	rp.w.get(t, rp.jwksPath).decode(t, &rp.set)
	rp.fetches++
}

// check verifies token against the cached set, refreshing it once on an
// unknown kid.
func (rp *relyingParty) check(t *testing.T, token string) error {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	kid := tok.Headers[0].KeyID
	if len(rp.set.Key(kid)) == 0 {
		rp.refresh(t)
	}
	keys := rp.set.Key(kid)
	if len(keys) == 0 {
		return errors.New("unknown kid " + kid)
	}
	return tok.Claims(keys[0].Key)
}

// token gets a v2 token for Daemon and returns it with its kid.
func (w *world) token(t *testing.T) (string, string) {
	t.Helper()
	r := w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	var m map[string]any
	r.decode(t, &m)
	tok := m["access_token"].(string)
	return tok, decodeSegment(t, tok, 0)["kid"].(string)
}

// TestRotateKeys rotates the signing key as `issuer keys rotate` does and
// follows tokens and a caching relying party through the grace period.
func TestRotateKeys(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	old := testKey(t)
	rp := &relyingParty{w: w, jwksPath: "/" + tenantA + "/discovery/v2.0/keys"}
	rp.refresh(t)
	before, kid := w.token(t)
	if kid != old.KeyID {
		t.Fatalf("token kid = %s; want the test key %s", kid, old.KeyID)
	}

	next, err := signing.Rotate(ctx, w.DB, w.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.must(w.Issuer.ReloadKeys(ctx))
	keys, err := w.DB.SigningKeys(ctx)
	w.must(err)
	if len(keys) != 2 || keys[0].KeyID != next.KeyID || !keys[0].Active() || keys[1].Active() ||
		!keys[1].RetiredDateTime.Equal(fixedNow) || !keys[1].ExpiresDateTime.Equal(fixedNow.Add(24*time.Hour)) {
		t.Fatalf("keys after rotation = %+v; want the new key active and the old one retired until +24h", keys)
	}

	after, kid := w.token(t)
	if kid != next.KeyID {
		t.Errorf("new token kid = %s; want the new key %s", kid, next.KeyID)
	}
	for name, tok := range map[string]string{"old token": before, "new token": after} {
		if err := rp.check(t, tok); err != nil {
			t.Errorf("%s during the grace period: %v", name, err)
		}
		w.verify(t, tok, tenantA, 2) // a relying party fetching afresh
	}
	if rp.fetches != 2 {
		t.Errorf("relying party fetched the JWKS %d times; want 2 (once more for the new kid)", rp.fetches)
	}

	w.Advance(24*time.Hour + time.Second)
	if got := w.jwksKids(t, "/common/discovery/keys"); len(got) != 1 || got[0] != next.KeyID {
		t.Errorf("after the grace period, kids = %v; want only %s", got, next.KeyID)
	}
	fresh := &relyingParty{w: w, jwksPath: "/common/discovery/keys"}
	fresh.refresh(t)
	if err := fresh.check(t, before); err == nil {
		t.Errorf("a token of the expired key still verifies against the JWKS")
	}

	// The next rotation deletes the expired key.
	third, err := signing.Rotate(ctx, w.DB, w.Now(), time.Hour)
	w.must(err)
	keys, err = w.DB.SigningKeys(ctx)
	w.must(err)
	if len(keys) != 2 || keys[0].KeyID != third.KeyID || keys[1].KeyID != next.KeyID {
		t.Errorf("keys after a second rotation = %d keys; want the third and the second, the first deleted", len(keys))
	}
}

func TestRotateKeysNegativeGrace(t *testing.T) {
	w := newWorld(t)
	if _, err := signing.Rotate(context.Background(), w.DB, w.Now(), -time.Second); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("RotateKeys with a negative grace = %v; want ErrInvalid", err)
	}
	if keys, _ := w.DB.SigningKeys(context.Background()); len(keys) != 1 {
		t.Errorf("a refused rotation left %d keys; want 1", len(keys))
	}
}

// TestRotateKeysZeroGrace: with no grace the old key leaves the JWKS at once.
func TestRotateKeysZeroGrace(t *testing.T) {
	w := newWorld(t)
	next, err := signing.Rotate(context.Background(), w.DB, w.Now(), 0)
	w.must(err)
	w.must(w.Issuer.ReloadKeys(context.Background()))
	if got := w.jwksKids(t, "/common/discovery/keys"); len(got) != 1 || got[0] != next.KeyID {
		t.Errorf("kids = %v; want only %s", got, next.KeyID)
	}
}
