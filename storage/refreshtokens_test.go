package storage

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// newRefreshToken is a token of family, issued at t0 for a day.
func newRefreshToken(hash, family string) tenant.RefreshToken {
	return tenant.RefreshToken{
		Hash: hash, FamilyID: family, TenantID: tenantA, ClientAppID: appClient, UserID: objectID("user", "alice"),
		Resource: "api://orders", Scopes: []string{"Orders.Read"},
		IssuedDateTime: t0, ExpiresDateTime: t0.Add(24 * time.Hour),
	}
}

func TestRefreshTokenCreateGet(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	rt := newRefreshToken("h1", "f1")
	if err := e.db.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	got, err := e.db.GetRefreshToken(ctx, "h1")
	if err != nil || !reflect.DeepEqual(got, rt) {
		t.Errorf("GetRefreshToken = %+v, %v; want %+v", got, err, rt)
	}
	for _, tc := range []struct {
		name string
		rt   tenant.RefreshToken
		want error
	}{
		{"same hash", newRefreshToken("h1", "f2"), tenant.ErrExists},
		{"no hash", newRefreshToken("", "f2"), tenant.ErrInvalid},
		{"no family", newRefreshToken("h2", ""), tenant.ErrInvalid},
		{"zero byte in the family", newRefreshToken("h2", "f\x00"), tenant.ErrInvalid},
		{"no expiry", func() tenant.RefreshToken {
			r := newRefreshToken("h2", "f2")
			r.ExpiresDateTime = time.Time{}
			return r
		}(), tenant.ErrInvalid},
		{"no user", func() tenant.RefreshToken { r := newRefreshToken("h2", "f2"); r.UserID = ""; return r }(), tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "CreateRefreshToken", e.db.CreateRefreshToken(ctx, tc.rt), tc.want)
		})
	}
	if _, err := e.db.GetRefreshToken(ctx, "nope"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetRefreshToken(unknown) = %v; want ErrNotFound", err)
	}
}

func TestRefreshTokenRotation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.db.CreateRefreshToken(ctx, newRefreshToken("a1", "fa")))
	must(e.db.CreateRefreshToken(ctx, newRefreshToken("b1", "fb"))) // another family

	// a1 → a2 → a3: each rotation marks the old one and stores the new.
	at := t0.Add(time.Hour)
	must(e.db.RotateRefreshToken(ctx, "a1", at, newRefreshToken("a2", "fa")))
	must(e.db.RotateRefreshToken(ctx, "a2", at.Add(time.Minute), newRefreshToken("a3", "fa")))
	a1, err := e.db.GetRefreshToken(ctx, "a1")
	must(err)
	if !a1.Rotated() || !a1.RotatedDateTime.Equal(at) || !a1.LastUsedDateTime.Equal(at) || a1.Revoked() {
		t.Errorf("a1 after rotation = %+v; want rotated and last used at %v, not revoked", a1, at)
	}
	if a3, _ := e.db.GetRefreshToken(ctx, "a3"); a3.Rotated() || a3.Revoked() {
		t.Errorf("a3 = %+v; want the family's current token", a3)
	}

	for _, tc := range []struct {
		name string
		hash string
		next tenant.RefreshToken
		want error
	}{
		{"unknown token", "zz", newRefreshToken("z2", "fz"), tenant.ErrNotFound},
		{"successor in another family", "a3", newRefreshToken("x", "fb"), tenant.ErrInvalid},
		{"successor hash taken", "a3", newRefreshToken("a1", "fa"), tenant.ErrExists},
		{"invalid successor", "a3", newRefreshToken("", "fa"), tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "RotateRefreshToken", e.db.RotateRefreshToken(ctx, tc.hash, at, tc.next), tc.want)
		})
	}

	// Replaying a1 revokes the family's token not yet rotated, a3, and the
	// revocation sticks although the call fails. The rotated a1 and a2
	// are left as they are: redeeming them stays a replay.
	replay := at.Add(2 * time.Minute)
	wantErr(t, "replay", e.db.RotateRefreshToken(ctx, "a1", replay, newRefreshToken("a9", "fa")), tenant.ErrRefreshTokenReused)
	if a3, err := e.db.GetRefreshToken(ctx, "a3"); err != nil || !a3.RevokedDateTime.Equal(replay) {
		t.Errorf("a3 after the replay = %+v, %v; want revoked at %v", a3, err, replay)
	}
	for _, h := range []string{"a1", "a2"} {
		if rt, err := e.db.GetRefreshToken(ctx, h); err != nil || rt.Revoked() || !rt.Rotated() {
			t.Errorf("%s after the replay = %+v, %v; want rotated, not marked revoked", h, rt, err)
		}
		wantErr(t, "replaying "+h+" again", e.db.RotateRefreshToken(ctx, h, replay, newRefreshToken("a9", "fa")), tenant.ErrRefreshTokenReused)
	}
	if _, err := e.db.GetRefreshToken(ctx, "a9"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("the replay's successor was stored: %v", err)
	}
	wantErr(t, "rotating a revoked token", e.db.RotateRefreshToken(ctx, "a3", replay, newRefreshToken("a4", "fa")), tenant.ErrRefreshTokenRevoked)
	if b1, _ := e.db.GetRefreshToken(ctx, "b1"); b1.Revoked() {
		t.Error("the replay revoked another family")
	}

	n, err := e.db.RevokeRefreshTokenFamily(ctx, "fb", replay)
	if err != nil || n != 1 {
		t.Errorf("RevokeRefreshTokenFamily(fb) = %d, %v; want 1", n, err)
	}
	if n, err := e.db.RevokeRefreshTokenFamily(ctx, "fb", replay); err != nil || n != 0 {
		t.Errorf("revoking fb again = %d, %v; want 0", n, err)
	}
	if n, err := e.db.RevokeRefreshTokenFamily(ctx, "unknown", replay); err != nil || n != 0 {
		t.Errorf("revoking an unknown family = %d, %v; want 0", n, err)
	}
}

// TestRefreshTokenPrune: a rotation deletes the family's expired tokens and
// keeps the rotated ones still within their lifetime.
func TestRefreshTokenPrune(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	old := newRefreshToken("p1", "fp")
	if err := e.db.CreateRefreshToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	// p1 → p2 an hour in; p2 → p3 two days later, when p1 has expired.
	p2 := newRefreshToken("p2", "fp")
	p2.ExpiresDateTime = t0.Add(72 * time.Hour)
	if err := e.db.RotateRefreshToken(ctx, "p1", t0.Add(time.Hour), p2); err != nil {
		t.Fatal(err)
	}
	p3 := newRefreshToken("p3", "fp")
	p3.ExpiresDateTime = t0.Add(96 * time.Hour)
	if err := e.db.RotateRefreshToken(ctx, "p2", t0.Add(48*time.Hour), p3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.GetRefreshToken(ctx, "p1"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("expired p1 = %v; want pruned", err)
	}
	if p, err := e.db.GetRefreshToken(ctx, "p2"); err != nil || !p.Rotated() {
		t.Errorf("p2 = %+v, %v; want kept, rotated", p, err)
	}
	if got := countKeys(t, e.db, "", bucketRTByFamily); got != 2 {
		t.Errorf("refresh_token_family has %d entries; want 2", got)
	}
}

// TestRefreshTokenPruneMany: a family in which many tokens expired at once
// (a client back after a long pause) loses at most maxPrunedPerWrite of
// them a redemption, so that the write stays small, and the rest over the
// next redemptions. A family entry from before entries held the expiry
// (an empty value) is pruned by its record, and kept while it is live.
func TestRefreshTokenPruneMany(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	lasting := func(hash string) tenant.RefreshToken {
		rt := newRefreshToken(hash, "fm")
		rt.ExpiresDateTime = t0.Add(90 * 24 * time.Hour)
		return rt
	}
	const expired = 2*maxPrunedPerWrite + 3
	tokens := []tenant.RefreshToken{lasting("live"), lasting("before-live")}
	for i := range expired {
		tokens = append(tokens, newRefreshToken(fmt.Sprint("old-", i), "fm"))
	}
	for _, rt := range tokens {
		if err := e.db.CreateRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.bolt.Update(func(tx *bbolt.Tx) error {
		for _, hash := range []string{"before-live", "old-0"} {
			if err := tx.Bucket(bucketRTByFamily).Put(key("fm", hash), []byte{}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	at := t0.Add(48 * time.Hour)
	for i, wantExpired := range []int{expired - maxPrunedPerWrite, expired - 2*maxPrunedPerWrite, 0, 0} {
		if err := e.db.RenewRefreshToken(ctx, "live", at, lasting(fmt.Sprint("next-", i))); err != nil {
			t.Fatalf("redemption %d: %v", i, err)
		}
		// live, before-live and a successor a redemption stay.
		if got, want := countKeys(t, e.db, "", bucketRTByFamily), wantExpired+2+i+1; got != want {
			t.Errorf("after redemption %d: %d family entries; want %d (%d expired)", i, got, want, wantExpired)
		}
	}
	if _, err := e.db.GetRefreshToken(ctx, "old-0"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("expired old-0 with an entry from before = %v; want pruned", err)
	}
	if _, err := e.db.GetRefreshToken(ctx, "before-live"); err != nil {
		t.Errorf("live before-live with an entry from before: %v; want kept", err)
	}
	if err := e.db.Check(ctx); err != nil {
		t.Errorf("Check after pruning: %v", err)
	}
}

// TestRefreshTokenConcurrentRotation: of two redemptions of one token, one
// wins and the other is a replay that revokes the family.
func TestRefreshTokenConcurrentRotation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.db.CreateRefreshToken(ctx, newRefreshToken("c1", "fc")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			errs[i] = e.db.RotateRefreshToken(ctx, "c1", t0.Add(time.Minute), newRefreshToken("c2-"+string(rune('a'+i)), "fc"))
		})
	}
	wg.Wait()
	var ok, reused int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, tenant.ErrRefreshTokenReused):
			reused++
		default:
			t.Errorf("RotateRefreshToken: %v", err)
		}
	}
	if ok != 1 || reused != 1 {
		t.Errorf("%d succeeded and %d were replays; want one of each", ok, reused)
	}
}
