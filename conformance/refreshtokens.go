package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// newRefreshToken is the record of a token of family, issued at t0.
func newRefreshToken(family, name string) tenant.RefreshToken {
	return tenant.RefreshToken{
		Hash: fmt.Sprintf("%x", objectID("rt", family, name)), FamilyID: family, TenantID: tenantA,
		ClientAppID: appClient, UserID: objectID("user", "alice"), Resource: "api://orders", Scopes: []string{"Orders.Read"},
		IssuedDateTime: t0, ExpiresDateTime: t0.Add(90 * 24 * time.Hour),
	}
}

func (f *fixture) wantRefreshToken(what string, want tenant.RefreshToken) {
	f.t.Helper()
	got, err := f.b.GetRefreshToken(f.ctx, want.Hash)
	f.must("GetRefreshToken "+what, err)
	wantSame(f.t, what, got, want)
}

func testRefreshTokens(t *testing.T, f *fixture) {
	first := newRefreshToken("family-1", "first")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, first))
	f.wantRefreshToken("a new token", first)
	other := newRefreshToken("family-2", "first")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, other))

	invalid := func(change func(*tenant.RefreshToken)) tenant.RefreshToken {
		rt := newRefreshToken("family-3", "invalid")
		change(&rt)
		return rt
	}
	second := newRefreshToken("family-1", "second")
	now := t0.Add(time.Hour)
	runErrCases(t, []errCase{
		{"create a taken hash", func() error { return f.b.CreateRefreshToken(f.ctx, first) }, tenant.ErrExists},
		{"create without a hash", func() error {
			return f.b.CreateRefreshToken(f.ctx, invalid(func(rt *tenant.RefreshToken) { rt.Hash = "" }))
		}, tenant.ErrInvalid},
		{"create without a family", func() error {
			return f.b.CreateRefreshToken(f.ctx, invalid(func(rt *tenant.RefreshToken) { rt.FamilyID = "" }))
		}, tenant.ErrInvalid},
		{"create without a user", func() error {
			return f.b.CreateRefreshToken(f.ctx, invalid(func(rt *tenant.RefreshToken) { rt.UserID = "" }))
		}, tenant.ErrInvalid},
		{"create without an expiry", func() error {
			return f.b.CreateRefreshToken(f.ctx, invalid(func(rt *tenant.RefreshToken) { rt.ExpiresDateTime = time.Time{} }))
		}, tenant.ErrInvalid},
		{"get a missing token", func() error { _, err := f.b.GetRefreshToken(f.ctx, "missing"); return err }, tenant.ErrNotFound},
		{"rotate a missing token", func() error { return f.b.RotateRefreshToken(f.ctx, "missing", now, second) }, tenant.ErrNotFound},
		{"rotate into another family", func() error {
			return f.b.RotateRefreshToken(f.ctx, first.Hash, now, newRefreshToken("family-2", "second"))
		}, tenant.ErrInvalid},
		{"rotate into an invalid successor", func() error {
			next := second
			next.ExpiresDateTime = time.Time{}
			return f.b.RotateRefreshToken(f.ctx, first.Hash, now, next)
		}, tenant.ErrInvalid},
		{"rotate into a taken hash", func() error {
			next := second
			next.Hash = first.Hash
			return f.b.RotateRefreshToken(f.ctx, first.Hash, now, next)
		}, tenant.ErrExists},
	})
	// None of the refused rotations redeemed the token.
	f.wantRefreshToken("after refused rotations", first)

	f.must("RotateRefreshToken", f.b.RotateRefreshToken(f.ctx, first.Hash, now, second))
	first.RotatedDateTime, first.LastUsedDateTime = now, now
	f.wantRefreshToken("the rotated token", first)
	f.wantRefreshToken("its successor", second)
	third := newRefreshToken("family-1", "third")
	later := now.Add(time.Hour)
	f.must("RotateRefreshToken the successor", f.b.RotateRefreshToken(f.ctx, second.Hash, later, third))
	f.wantRefreshToken("the third token", third)

	// Revoking a family revokes its tokens and no other family's.
	n, err := f.b.RevokeRefreshTokenFamily(f.ctx, "family-2", later)
	f.must("RevokeRefreshTokenFamily", err)
	if n != 1 {
		t.Errorf("RevokeRefreshTokenFamily = %d; want 1", n)
	}
	other.RevokedDateTime = later
	f.wantRefreshToken("a revoked token", other)
	if got, _ := f.b.GetRefreshToken(f.ctx, third.Hash); got.Revoked() {
		t.Errorf("revoking family-2 revoked a token of family-1")
	}
	if n, err := f.b.RevokeRefreshTokenFamily(f.ctx, "family-2", later.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("revoking a revoked family = %d, %v; want 0, nil", n, err)
	}
	if got, _ := f.b.GetRefreshToken(f.ctx, other.Hash); !got.RevokedDateTime.Equal(later) {
		t.Errorf("revoking again moved the revocation time to %v; want %v", got.RevokedDateTime, later)
	}
	if n, err := f.b.RevokeRefreshTokenFamily(f.ctx, "no-such-family", later); err != nil || n != 0 {
		t.Errorf("revoking an unknown family = %d, %v; want 0, nil", n, err)
	}
	err = f.b.RotateRefreshToken(f.ctx, other.Hash, later, newRefreshToken("family-2", "next"))
	wantErr(t, "rotating a revoked token", err, tenant.ErrRefreshTokenRevoked)
	if _, err := f.b.GetRefreshToken(f.ctx, newRefreshToken("family-2", "next").Hash); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused rotation stored the successor: %v", err)
	}
}

// testRefreshTokenReplay: redeeming a rotated token again is a replay,
// which revokes the whole family (RFC 9700 §4.14): its token not yet
// rotated is marked revoked, and the rotated one stays a replay.
func testRefreshTokenReplay(t *testing.T, f *fixture) {
	first, second := newRefreshToken("family", "first"), newRefreshToken("family", "second")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, first))
	f.must("RotateRefreshToken", f.b.RotateRefreshToken(f.ctx, first.Hash, t0.Add(time.Minute), second))
	replayAt := t0.Add(time.Hour)
	err := f.b.RotateRefreshToken(f.ctx, first.Hash, replayAt, newRefreshToken("family", "stolen"))
	wantErr(t, "replaying a rotated token", err, tenant.ErrRefreshTokenReused)
	if got, err := f.b.GetRefreshToken(f.ctx, second.Hash); err != nil || !got.RevokedDateTime.Equal(replayAt) {
		t.Errorf("the current token after a replay: revoked at %v, %v; want revoked at %v", got.RevokedDateTime, err, replayAt)
	}
	err = f.b.RotateRefreshToken(f.ctx, first.Hash, replayAt, newRefreshToken("family", "stolen"))
	wantErr(t, "replaying the rotated token again", err, tenant.ErrRefreshTokenReused)
	if _, err := f.b.GetRefreshToken(f.ctx, newRefreshToken("family", "stolen").Hash); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a replay stored its successor: %v", err)
	}
	err = f.b.RotateRefreshToken(f.ctx, second.Hash, replayAt, newRefreshToken("family", "third"))
	wantErr(t, "redeeming the family's current token after a replay", err, tenant.ErrRefreshTokenRevoked)
}

// testRefreshTokenReplayLongFamily: a replay in a family rotated more
// often than a shared store's transaction holds operations (etcd's
// default 128; five days of hourly refreshes) still revokes the family.
func testRefreshTokenReplayLongFamily(t *testing.T, f *fixture) {
	const rotations = 150
	token := func(i int) tenant.RefreshToken { return newRefreshToken("family", fmt.Sprint("t-", i)) }
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, token(0)))
	at := t0.Add(time.Minute)
	for i := range rotations {
		f.must(fmt.Sprint("RotateRefreshToken ", i), f.b.RotateRefreshToken(f.ctx, token(i).Hash, at, token(i+1)))
	}
	replayAt := t0.Add(time.Hour)
	err := f.b.RotateRefreshToken(f.ctx, token(0).Hash, replayAt, newRefreshToken("family", "stolen"))
	wantErr(t, "replaying the first token", err, tenant.ErrRefreshTokenReused)
	if got, err := f.b.GetRefreshToken(f.ctx, token(rotations).Hash); err != nil || !got.RevokedDateTime.Equal(replayAt) {
		t.Errorf("the current token after a replay: revoked at %v, %v; want revoked at %v", got.RevokedDateTime, err, replayAt)
	}
}

// testRefreshTokenConcurrentRotation: of many redemptions of one token at
// once, exactly one wins; every other one is a replay (or meets the family
// the first replay revoked).
func testRefreshTokenConcurrentRotation(t *testing.T, f *fixture) {
	const n = 16
	first := newRefreshToken("family", "first")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, first))
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f.b.RotateRefreshToken(f.ctx, first.Hash, t0.Add(time.Minute), newRefreshToken("family", fmt.Sprint("next-", i)))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("redemptions %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, tenant.ErrRefreshTokenReused) && !errors.Is(err, tenant.ErrRefreshTokenRevoked):
			t.Errorf("redemption %d: %v; want ErrRefreshTokenReused or ErrRefreshTokenRevoked", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no redemption succeeded: %v", errs)
	}
	for i := range n {
		got, err := f.b.GetRefreshToken(f.ctx, newRefreshToken("family", fmt.Sprint("next-", i)).Hash)
		switch {
		case i == winner && err != nil:
			t.Errorf("the winner's successor: %v", err)
		case i == winner && !got.Revoked():
			// The losers were replays, which revoke the family.
			t.Errorf("the winner's successor is not revoked after %d replays", n-1)
		case i != winner && !errors.Is(err, tenant.ErrNotFound):
			t.Errorf("a losing redemption's successor %d was stored: %v", i, err)
		}
	}
}

// testRefreshTokenRenew: Entra's redemption (RenewRefreshToken). The
// presented token stays valid: it may be renewed again, also by many
// callers at once; only its last use is recorded. A revoked token renews
// nothing.
func testRefreshTokenRenew(t *testing.T, f *fixture) {
	first := newRefreshToken("family-1", "first")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, first))
	at := t0.Add(time.Minute)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = f.b.RenewRefreshToken(f.ctx, first.Hash, at, newRefreshToken("family-1", fmt.Sprint("next-", i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		f.must(fmt.Sprint("RenewRefreshToken ", i), err)
		f.wantRefreshToken(fmt.Sprint("successor ", i), newRefreshToken("family-1", fmt.Sprint("next-", i)))
	}
	first.LastUsedDateTime = at
	f.wantRefreshToken("the renewed token", first)
	runErrCases(t, []errCase{
		{"renew into a taken hash", func() error {
			return f.b.RenewRefreshToken(f.ctx, first.Hash, at, newRefreshToken("family-1", "next-0"))
		}, tenant.ErrExists},
		{"renew into another family", func() error {
			return f.b.RenewRefreshToken(f.ctx, first.Hash, at, newRefreshToken("family-2", "x"))
		}, tenant.ErrInvalid},
		{"renew a missing token", func() error {
			return f.b.RenewRefreshToken(f.ctx, "missing", at, newRefreshToken("family-1", "x"))
		}, tenant.ErrNotFound},
	})
	if _, err := f.b.RevokeRefreshTokenFamily(f.ctx, "family-1", at); err != nil {
		t.Fatal(err)
	}
	err := f.b.RenewRefreshToken(f.ctx, first.Hash, at, newRefreshToken("family-1", "after"))
	wantErr(t, "renewing a revoked token", err, tenant.ErrRefreshTokenRevoked)
	if _, err := f.b.GetRefreshToken(f.ctx, newRefreshToken("family-1", "after").Hash); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a revoked token's renewal stored its successor: %v", err)
	}
}

// testRefreshTokenPruneMany: redeeming a token of a family in which many
// tokens expired at once (a client back after a long pause) succeeds, on a
// shared store too, whose one write of it must stay within the store's
// limits (etcd's default 128 operations a transaction); the expired tokens
// are gone after a few redemptions.
func testRefreshTokenPruneMany(t *testing.T, f *fixture) {
	const expired = 60
	live := newRefreshToken("family", "live")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, live))
	old := func(i int) tenant.RefreshToken {
		rt := newRefreshToken("family", fmt.Sprint("old-", i))
		rt.ExpiresDateTime = t0.Add(time.Hour)
		return rt
	}
	for i := range expired {
		f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, old(i)))
	}
	at := t0.Add(2 * time.Hour)
	for i := range 8 {
		f.must(fmt.Sprint("RenewRefreshToken ", i), f.b.RenewRefreshToken(f.ctx, live.Hash, at, newRefreshToken("family", fmt.Sprint("next-", i))))
	}
	for i := range expired {
		if _, err := f.b.GetRefreshToken(f.ctx, old(i).Hash); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("expired token %d after 8 redemptions: %v; want ErrNotFound", i, err)
		}
	}
	live.LastUsedDateTime = at
	f.wantRefreshToken("the redeemed token", live)
}

// testPasswordChangeRevokesMany: a password change revokes every one of
// the user's password-based tokens of public clients, however many (on a
// shared store, more than one transaction's operations), each at the
// change; a token issued after the change, and another user's, stay valid,
// and redeeming a revoked one is ErrRefreshTokenRevoked.
func testPasswordChangeRevokesMany(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	f.app(newApp(appClient, tenantA))
	alice, bob := f.user(tenantA, "alice@a.example"), f.user(tenantA, "bob@a.example")
	passwordToken := func(user tenant.User, family, name string) tenant.RefreshToken {
		rt := newRefreshToken(family, name)
		rt.UserID, rt.PasswordBased = user.ID, true
		return rt
	}
	const n = 150
	old := make([]tenant.RefreshToken, n)
	for i := range old {
		old[i] = passwordToken(alice, fmt.Sprint("family-", i%10), fmt.Sprint("old-", i))
		f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, old[i]))
	}
	bobs := passwordToken(bob, "bob", "bob")
	f.must("CreateRefreshToken bob", f.b.CreateRefreshToken(f.ctx, bobs))
	changedAt := t0.Add(time.Hour)
	f.must("changing the password", f.b.UpdateUser(f.ctx, tenantA, alice.ID, func(u *tenant.User) error {
		u.PasswordHash, u.LastPasswordChangeDateTime = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI", changedAt
		return nil
	}))
	fresh := passwordToken(alice, "family-new", "new")
	f.must("CreateRefreshToken after the change", f.b.CreateRefreshToken(f.ctx, fresh))
	for i, rt := range old {
		got, err := f.b.GetRefreshToken(f.ctx, rt.Hash)
		if err != nil || !got.RevokedDateTime.Equal(changedAt) {
			t.Fatalf("token %d after the change: revoked at %v, %v; want %v", i, got.RevokedDateTime, err, changedAt)
		}
	}
	f.wantRefreshToken("the token issued after the change", fresh)
	f.wantRefreshToken("another user's", bobs)
	err := f.b.RenewRefreshToken(f.ctx, old[0].Hash, changedAt, passwordToken(alice, old[0].FamilyID, "next"))
	wantErr(t, "redeeming a revoked token", err, tenant.ErrRefreshTokenRevoked)
	newer := passwordToken(alice, "family-new", "newer")
	f.must("redeeming the new token", f.b.RenewRefreshToken(f.ctx, fresh.Hash, changedAt, newer))
	f.wantRefreshToken("its successor", newer)
}

// refreshTokenRevocationTests: what deleting objects and changing a
// password does to refresh tokens (Entra's revocation table), one test per
// change. Each starts from the same directory: tenants A and B, a
// multi-tenant client homed in A and instantiated in B, another client in
// A, users alice (A) and bob (B), and tokens of each kind. It makes one
// change, creates the deleted object again with the same id where there is
// one, and checks which tokens are gone (ErrNotFound) and revoked; the
// others must be untouched.
func refreshTokenRevocationTests() []conformanceTest {
	type users struct{ alice, bob tenant.User }
	later := t0.Add(time.Hour)
	var out []conformanceTest
	for _, tc := range []struct {
		name     string
		change   func(f *fixture, u users) error
		recreate func(f *fixture, u users) error
		gone     []string
		revoked  []string
	}{
		{name: "password changed", change: func(f *fixture, u users) error {
			return f.b.UpdateUser(f.ctx, tenantA, u.alice.ID, func(usr *tenant.User) error {
				usr.PasswordHash, usr.LastPasswordChangeDateTime = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI", later
				return nil
			})
		}, revoked: []string{"alice-public-password"}},
		{name: "display name changed", change: func(f *fixture, u users) error {
			return f.b.UpdateUser(f.ctx, tenantA, u.alice.ID, func(usr *tenant.User) error { usr.DisplayName = "Alice"; return nil })
		}},
		{name: "user deleted", change: func(f *fixture, u users) error {
			return f.b.DeleteUser(f.ctx, tenantA, u.alice.ID)
		}, recreate: func(f *fixture, u users) error { return f.b.CreateUser(f.ctx, u.alice) },
			gone: []string{"alice-public-password", "alice-confidential-password", "alice-other-client"}},
		{name: "client's service principal deleted in B", change: func(f *fixture, u users) error {
			return f.b.DeleteServicePrincipal(f.ctx, tenantB, appClient)
		}, recreate: func(f *fixture, u users) error {
			return f.b.CreateServicePrincipal(f.ctx, newSP(tenantB, multiTenant(newApp(appClient, tenantA))))
		}, gone: []string{"bob-client"}},
		{name: "client application deleted", change: func(f *fixture, u users) error {
			return f.b.DeleteApplication(f.ctx, appClient)
		}, recreate: func(f *fixture, u users) error {
			app := multiTenant(newApp(appClient, tenantA))
			return f.b.CreateApplication(f.ctx, app, newSP(tenantA, app))
		}, gone: []string{"alice-public-password", "alice-confidential-password", "bob-client"}},
		{name: "tenant B deleted", change: func(f *fixture, u users) error {
			return f.b.DeleteTenant(f.ctx, tenantB)
		}, recreate: func(f *fixture, u users) error {
			if err := f.b.CreateTenant(f.ctx, newTenant(tenantB, "b.example")); err != nil {
				return err
			}
			return f.b.CreateUser(f.ctx, u.bob)
		}, gone: []string{"bob-client"}},
		{name: "tenant A deleted", change: func(f *fixture, u users) error {
			return f.b.DeleteTenant(f.ctx, tenantA)
		}, gone: []string{"alice-public-password", "alice-confidential-password", "alice-other-client", "bob-client"}},
	} {
		out = append(out, conformanceTest{"RefreshTokenRevocation/" + tc.name, func(t *testing.T, f *fixture) {
			f.tenant(tenantA, "a.example")
			f.tenant(tenantB, "b.example")
			client := multiTenant(newApp(appClient, tenantA))
			f.app(client)
			f.sp(tenantB, client)
			f.app(newApp(appOther, tenantA))
			u := users{alice: f.user(tenantA, "alice@a.example"), bob: f.user(tenantB, "bob@b.example")}
			all := map[string]tenant.RefreshToken{}
			for _, spec := range []struct {
				name, tenantID, client, user string
				password, confidential       bool
			}{
				{"alice-public-password", tenantA, appClient, u.alice.ID, true, false},
				{"alice-confidential-password", tenantA, appClient, u.alice.ID, true, true},
				{"alice-other-client", tenantA, appOther, u.alice.ID, false, false},
				{"bob-client", tenantB, appClient, u.bob.ID, true, false},
			} {
				rt := newRefreshToken("family-"+spec.name, spec.name)
				rt.TenantID, rt.ClientAppID, rt.UserID = spec.tenantID, spec.client, spec.user
				rt.PasswordBased, rt.ConfidentialClient = spec.password, spec.confidential
				f.must("CreateRefreshToken "+spec.name, f.b.CreateRefreshToken(f.ctx, rt))
				all[spec.name] = rt
			}
			f.must("the change", tc.change(f, u))
			if tc.recreate != nil {
				f.must("creating it again with the same id", tc.recreate(f, u))
			}
			for name, want := range all {
				got, err := f.b.GetRefreshToken(f.ctx, want.Hash)
				switch {
				case slices.Contains(tc.gone, name):
					if !errors.Is(err, tenant.ErrNotFound) {
						t.Errorf("%s: %+v, %v; want it deleted", name, got, err)
					}
				case slices.Contains(tc.revoked, name):
					if err != nil || !got.RevokedDateTime.Equal(later) {
						t.Errorf("%s: revoked at %v, %v; want revoked at %v", name, got.RevokedDateTime, err, later)
					}
				default:
					f.wantRefreshToken(name+" (untouched)", want)
				}
			}
		}})
	}
	return out
}

// deleteManyRefreshTokensTests: deleting a user, a client's service
// principal, an application or a tenant deletes every refresh token it
// holds, however many (on a shared store, more than one transaction's
// operations: etcd's default is 128, three a token); the tokens of other
// users, clients and tenants stay. Each test starts from tenants A and B,
// a client homed in A and instantiated in B, an application homed in B,
// users alice and bob in A and carol in B.
func deleteManyRefreshTokensTests() []conformanceTest {
	type who struct {
		tenantID string
		user     string // alice, bob or carol
		client   string
		n        int // tokens
	}
	var out []conformanceTest
	for _, tc := range []struct {
		name       string
		delete     func(f *fixture) error
		gone, kept []who
	}{
		{name: "user", delete: func(f *fixture) error { return f.b.DeleteUser(f.ctx, tenantA, newUser(tenantA, "alice@a.example").ID) },
			gone: []who{{tenantA, "alice", appClient, 150}},
			kept: []who{{tenantA, "bob", appClient, 1}, {tenantB, "carol", appClient, 1}}},
		{name: "service principal", delete: func(f *fixture) error { return f.b.DeleteServicePrincipal(f.ctx, tenantA, appClient) },
			gone: []who{{tenantA, "alice", appClient, 100}, {tenantA, "bob", appClient, 50}},
			kept: []who{{tenantB, "carol", appClient, 1}, {tenantB, "carol", appOther, 1}}},
		{name: "application", delete: func(f *fixture) error { return f.b.DeleteApplication(f.ctx, appClient) },
			gone: []who{{tenantA, "alice", appClient, 100}, {tenantB, "carol", appClient, 50}},
			kept: []who{{tenantB, "carol", appOther, 1}}},
		{name: "home tenant of a client", delete: func(f *fixture) error { return f.b.DeleteTenant(f.ctx, tenantA) },
			gone: []who{{tenantA, "alice", appClient, 100}, {tenantB, "carol", appClient, 50}},
			kept: []who{{tenantB, "carol", appOther, 1}}},
		{name: "tenant", delete: func(f *fixture) error { return f.b.DeleteTenant(f.ctx, tenantB) },
			gone: []who{{tenantB, "carol", appClient, 100}, {tenantB, "carol", appOther, 50}},
			kept: []who{{tenantA, "alice", appClient, 1}}},
	} {
		out = append(out, conformanceTest{name: "DeleteManyRefreshTokens/" + tc.name, run: func(t *testing.T, f *fixture) {
			f.tenant(tenantA, "a.example")
			f.tenant(tenantB, "b.example")
			client := newApp(appClient, tenantA)
			f.app(client)
			f.sp(tenantB, client)
			f.app(newApp(appOther, tenantB))
			users := map[string]tenant.User{
				"alice": f.user(tenantA, "alice@a.example"), "bob": f.user(tenantA, "bob@a.example"),
				"carol": f.user(tenantB, "carol@b.example"),
			}
			tokens := func(ws []who) []tenant.RefreshToken {
				var out []tenant.RefreshToken
				for _, w := range ws {
					for i := range w.n {
						rt := newRefreshToken(fmt.Sprint(w.user, w.client, i%10), fmt.Sprint(w.tenantID, w.user, w.client, i))
						rt.TenantID, rt.UserID, rt.ClientAppID = w.tenantID, users[w.user].ID, w.client
						f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, rt))
						out = append(out, rt)
					}
				}
				return out
			}
			gone, kept := tokens(tc.gone), tokens(tc.kept)
			f.must("deleting the "+tc.name, tc.delete(f))
			for i, rt := range gone {
				if _, err := f.b.GetRefreshToken(f.ctx, rt.Hash); !errors.Is(err, tenant.ErrNotFound) {
					t.Fatalf("token %d of the deleted %s: %v; want ErrNotFound", i, tc.name, err)
				}
			}
			for _, rt := range kept {
				f.wantRefreshToken("a token of another "+tc.name, rt)
			}
		}})
	}
	return out
}

// testDeleteTenantOfManyApplications: deleting a tenant deletes the
// applications homed in it, however many (on a shared store, more than
// one transaction's operations: each costs several), with their service
// principals in other tenants; the other tenants' own objects stay.
func testDeleteTenantOfManyApplications(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	f.tenant(tenantB, "b.example")
	const n = 40
	var homed []tenant.Application
	for i := range n {
		app := newApp(objectID("many", fmt.Sprint(i)), tenantA, fmt.Sprintf("api://many-%d", i))
		f.app(app)
		homed = append(homed, app)
	}
	f.sp(tenantB, homed[0])
	f.user(tenantA, "alice@a.example")
	other := newApp(appOther, tenantB)
	otherSP := f.app(other)
	f.must("deleting the tenant", f.b.DeleteTenant(f.ctx, tenantA))
	for i, app := range homed {
		if _, err := f.b.GetApplication(f.ctx, app.AppID); !errors.Is(err, tenant.ErrNotFound) {
			t.Fatalf("application %d of the deleted tenant: %v; want ErrNotFound", i, err)
		}
	}
	if _, err := f.b.GetServicePrincipal(f.ctx, tenantB, homed[0].AppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("its service principal in tenant B: %v; want ErrNotFound", err)
	}
	if _, err := f.b.GetTenant(f.ctx, tenantA); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("the deleted tenant: %v; want ErrNotFound", err)
	}
	got, err := f.b.GetServicePrincipal(f.ctx, tenantB, other.AppID)
	f.must("tenant B's own service principal", err)
	wantSame(t, "tenant B's own service principal", got, otherSP)
}
