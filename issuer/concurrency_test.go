package issuer_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// fact is one piece of directory state a test changes while requests run,
// with its history: values[0] is the state before any change, and each
// change appends the state it brings before it starts. acked is the index
// of the last change that completed. A request that starts when acked is
// i and ends when the history has n values may have seen any of
// values[i:n]: never a state older than the last change acknowledged
// before it started.
type fact[T comparable] struct {
	mu     sync.Mutex
	values []T
	acked  int
}

func newFact[T comparable](v T) *fact[T] { return &fact[T]{values: []T{v}} }

// change records v as the coming state, runs apply, and acknowledges it.
func (f *fact[T]) change(v T, apply func() error) error {
	f.mu.Lock()
	f.values = append(f.values, v)
	n := len(f.values) - 1
	f.mu.Unlock()
	if err := apply(); err != nil {
		return err
	}
	f.mu.Lock()
	f.acked = n
	f.mu.Unlock()
	return nil
}

// start is a request's view of the fact when it begins.
func (f *fact[T]) start() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked
}

// possible returns the states a request that began at from may have seen,
// asked when it ends.
func (f *fact[T]) possible(from int) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.values[from:])
}

// current is the last acknowledged state.
func (f *fact[T]) current() T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.values[f.acked]
}

// TestConsistencyUnderChange runs token requests from many goroutines
// (client credentials with two secrets, on-behalf-of, refresh tokens,
// JWKS reads) while one goroutine grants and revokes an app role, adds and
// removes a client secret, revokes and grants a client's delegated
// consent, and rotates the signing key. Every answer must be a token that
// matches the directory at some instant during the request, or the
// refusal that instant calls for; in particular a request that starts
// after a revocation was acknowledged never carries the revoked role or
// scope. No answer may be a 5xx, and the race detector watches.
func TestConsistencyUnderChange(t *testing.T) {
	w := newDelegatedWorld(t)
	ctx := context.Background()
	m := w.manager()
	v1 := "/" + tenantA + "/oauth2/token"
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	const rounds = 24
	const secondSecret = "second-daemon-secret-0001"
	ada := w.adaToken(t)
	refreshTokens := make([]string, 4)
	for i := range refreshTokens {
		refreshTokens[i] = w.tokenOK(t, v2, pwForm())["refresh_token"].(string)
	}

	writeRole := newFact(false) // Daemon holds Orders.Write.All
	second := newFact(false)    // Daemon's second secret exists
	nativeConsent := newFact(true)
	keys, err := w.DB.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signingKey := newFact(keys[0].KeyID)

	var stop atomic.Bool
	var requests atomic.Int64
	var outcomes sync.Map // outcome name → *atomic.Int64, for the log
	count := func(name string) {
		v, _ := outcomes.LoadOrStore(name, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var mutations sync.WaitGroup
	mutations.Go(func() {
		defer stop.Store(true)
		var keyID string
		for round := range rounds {
			var err error
			switch round % 4 {
			case 0:
				give := !writeRole.current()
				err = writeRole.change(give, func() error {
					who := consent.Assignee{ClientAppID: clientID}
					if give {
						_, err := m.AssignRole(ctx, tenantA, "api://orders", "Orders.Write.All", who)
						return err
					}
					_, err := m.UnassignRole(ctx, tenantA, "api://orders", "Orders.Write.All", who)
					return err
				})
			case 1:
				add := !second.current()
				err = second.change(add, func() error {
					if add {
						cred, _, err := w.Directory.AddPassword(ctx, clientID, tenant.PasswordSpec{SecretText: secondSecret})
						keyID = cred.KeyID
						return err
					}
					return w.Directory.RemovePassword(ctx, clientID, keyID)
				})
			case 2:
				grant := !nativeConsent.current()
				err = nativeConsent.change(grant, func() error {
					if grant {
						_, err := m.GrantAdminConsent(ctx, tenantA, nativeID)
						return err
					}
					_, err := m.Revoke(ctx, tenantA, nativeID, "")
					return err
				})
			case 3:
				// The store holds the new key first; the server signs with
				// it, and publishes it, from ReloadKeys on.
				k, err2 := signing.Rotate(ctx, w.DB, w.Now(), signing.DefaultRotationGrace)
				if err2 != nil {
					err = err2
					break
				}
				err = signingKey.change(k.KeyID, func() error { return w.Issuer.ReloadKeys(ctx) })
			}
			if err != nil {
				t.Errorf("round %d: %v", round, err)
				return
			}
			// Let requests run in this state: until a dozen more have
			// completed, at most 200 polls.
			for base, i := requests.Load(), 0; requests.Load() < base+12 && i < 200; i++ {
				time.Sleep(time.Millisecond)
			}
		}
	})

	var workers sync.WaitGroup
	worker := func(do func(t *testing.T) bool) {
		workers.Go(func() {
			for !stop.Load() {
				if !do(t) {
					return
				}
				requests.Add(1)
			}
		})
	}
	checkKid := func(t *testing.T, what, token string, from int) bool {
		kid := tokenKid(t, token)
		if !slices.Contains(signingKey.possible(from), kid) {
			t.Errorf("%s: signed with %s, not a key active during the request", what, kid)
			return false
		}
		return true
	}

	for i := range 3 {
		secret := clientSecret
		if i == 2 {
			secret = secondSecret
		}
		worker(func(t *testing.T) bool {
			from, fromSecret, fromKey := writeRole.start(), second.start(), signingKey.start()
			r := w.post(t, v1, ccForm("resource", "api://orders", "client_secret", secret))
			switch {
			case r.status == http.StatusUnauthorized && secret == secondSecret:
				checkErrorShape(t, r, 7000215)
				count("second secret refused")
				if !slices.Contains(second.possible(fromSecret), false) {
					t.Errorf("the second secret was refused while it existed throughout the request")
					return false
				}
				return true
			case r.status != http.StatusOK:
				t.Errorf("client credentials: %d %s", r.status, r.body)
				return false
			}
			if secret == secondSecret && !slices.Contains(second.possible(fromSecret), true) {
				t.Errorf("the second secret worked although it was removed before the request")
				return false
			}
			var body struct {
				AccessToken string `json:"access_token"`
			}
			r.decode(t, &body)
			roles := claimStrings(claimsOf(t, body.AccessToken)["roles"])
			hasWrite := slices.Contains(roles, "Orders.Write.All")
			count(fmt.Sprintf("client credentials, Orders.Write.All %v", hasWrite))
			if !slices.Contains(roles, "Orders.Read.All") || !slices.Contains(writeRole.possible(from), hasWrite) {
				t.Errorf("roles %v; the directory held Orders.Write.All in states %v during the request", roles, writeRole.possible(from))
				return false
			}
			return checkKid(t, "client credentials", body.AccessToken, fromKey)
		})
	}
	worker(func(t *testing.T) bool {
		fromKey := signingKey.start()
		r := w.post(t, v2, oboForm(ada))
		if r.status != http.StatusOK {
			t.Errorf("on-behalf-of: %d %s", r.status, r.body)
			return false
		}
		var body struct {
			AccessToken string `json:"access_token"`
		}
		r.decode(t, &body)
		if scp := claimsOf(t, body.AccessToken)["scp"]; scp != "Data.Read" {
			t.Errorf("on-behalf-of scp %v; want Data.Read", scp)
			return false
		}
		return checkKid(t, "on-behalf-of", body.AccessToken, fromKey)
	})
	for i := range refreshTokens {
		worker(func(t *testing.T) bool {
			from, fromKey := nativeConsent.start(), signingKey.start()
			r := w.post(t, v2, rtForm(refreshTokens[i]))
			switch r.status {
			case http.StatusBadRequest:
				checkRefused(t, r, 65001, "invalid_grant", 400, "consent_required")
				count("refresh refused for consent")
				if !slices.Contains(nativeConsent.possible(from), false) {
					t.Errorf("refresh refused for consent while consent held throughout the request")
					return false
				}
				return true // the token was not redeemed: use it again
			case http.StatusOK:
			default:
				t.Errorf("refresh: %d %s", r.status, r.body)
				return false
			}
			var body struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			r.decode(t, &body)
			refreshTokens[i] = body.RefreshToken
			count("refresh granted")
			if !slices.Contains(nativeConsent.possible(from), true) {
				t.Errorf("refresh succeeded although consent was revoked before the request")
				return false
			}
			if scp := claimsOf(t, body.AccessToken)["scp"]; scp != "access_as_user" {
				t.Errorf("refresh scp %v; want access_as_user", scp)
				return false
			}
			return checkKid(t, "refresh", body.AccessToken, fromKey)
		})
	}
	worker(func(t *testing.T) bool {
		from := signingKey.start()
		r := w.get(t, "/common/discovery/v2.0/keys")
		if r.status != http.StatusOK {
			t.Errorf("JWKS: %d", r.status)
			return false
		}
		var set jose.JSONWebKeySet
		r.decode(t, &set)
		for _, kid := range signingKey.possible(from)[:1] {
			if len(set.Key(kid)) == 0 {
				t.Errorf("JWKS lacks %s, the signing key when the request started", kid)
				return false
			}
		}
		return true
	})

	mutations.Wait()
	workers.Wait()
	if requests.Load() < rounds {
		t.Errorf("only %d requests ran during %d changes", requests.Load(), rounds)
	}
	t.Logf("%d requests during %d changes", requests.Load(), rounds)
	outcomes.Range(func(k, v any) bool {
		t.Logf("  %s: %d", k, v.(*atomic.Int64).Load())
		return true
	})

	// Every token signed during the test verifies against the final JWKS:
	// rotated keys stay published for their grace period.
	final := map[string]*rsa.PublicKey{}
	all, err := w.DB.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all {
		final[k.KeyID] = &k.PrivateKey.PublicKey
	}
	for _, kid := range signingKey.possible(0) {
		if final[kid] == nil {
			t.Errorf("signing key %s is no longer stored", kid)
		}
	}
}

// tokenKid returns the kid of a compact JWS.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok.Headers[0].KeyID
}

// claimStrings reads a JSON array of strings.
func claimStrings(v any) []string {
	var out []string
	if list, ok := v.([]any); ok {
		for _, s := range list {
			if str, ok := s.(string); ok {
				out = append(out, str)
			}
		}
	}
	return out
}
