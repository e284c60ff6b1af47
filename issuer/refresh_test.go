package issuer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestRefreshToken checks the refresh_token grant's successes: rotation, the
// default resource of the token's basis, another resource the client has
// consent for, v1, /common and /organizations, a confidential middle tier
// refreshing its OBO token.
func TestRefreshToken(t *testing.T) {
	w := newDelegatedWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	fresh := func(t *testing.T) string {
		t.Helper()
		return w.tokenOK(t, v2, pwForm())["refresh_token"].(string)
	}

	for _, tc := range []struct {
		name      string
		path      string
		form      func(t *testing.T) (map[string][]string, int)
		version   int
		aud       string
		client    string
		scope     string
		idToken   bool
		clientInf bool
	}{
		{name: "v2, MSAL's request", path: v2, form: func(t *testing.T) (map[string][]string, int) { return rtForm(fresh(t)), 2 },
			version: 2, aud: middleID, client: nativeID, scope: "api://middle/access_as_user", idToken: true, clientInf: true},
		{name: "v2 without scope: the token's own resource and scopes", path: v2,
			form: func(t *testing.T) (map[string][]string, int) {
				return rtForm(fresh(t), "scope", "", "client_info", ""), 2
			},
			version: 2, aud: middleID, client: nativeID, scope: "api://middle/access_as_user"},
		{name: "v2 with only OIDC scopes: the token's resource", path: v2,
			form: func(t *testing.T) (map[string][]string, int) {
				return rtForm(fresh(t), "scope", "openid offline_access"), 2
			},
			version: 2, aud: middleID, client: nativeID, scope: "api://middle/access_as_user", idToken: true, clientInf: true},
		{name: "v2 for another resource the client has consent for", path: v2,
			form: func(t *testing.T) (map[string][]string, int) {
				return rtForm(fresh(t), "scope", "api://partner-middle/.default", "client_info", ""), 2
			},
			version: 2, aud: pMiddleID, client: nativeID, scope: "api://partner-middle/access_as_user api://partner-middle/.default"},
		{name: "at /common", path: "/common/oauth2/v2.0/token", form: func(t *testing.T) (map[string][]string, int) { return rtForm(fresh(t)), 2 },
			version: 2, aud: middleID, client: nativeID, scope: "api://middle/access_as_user", idToken: true, clientInf: true},
		{name: "at /organizations", path: "/organizations/oauth2/v2.0/token", form: func(t *testing.T) (map[string][]string, int) { return rtForm(fresh(t)), 2 },
			version: 2, aud: middleID, client: nativeID, scope: "api://middle/access_as_user", idToken: true, clientInf: true},
		{name: "v1 with resource", path: v1, form: func(t *testing.T) (map[string][]string, int) {
			return rtForm(fresh(t), "scope", "", "resource", "api://partner-middle", "client_info", ""), 1
		}, version: 2, aud: pMiddleID, client: nativeID, scope: "access_as_user"},
		{name: "v1 without resource: the token's", path: v1, form: func(t *testing.T) (map[string][]string, int) {
			rt := w.tokenOK(t, v1, pwForm("scope", "", "resource", "api://middle", "client_info", ""))["refresh_token"].(string)
			return rtForm(rt, "scope", "", "client_info", ""), 1
		}, version: 2, aud: middleID, client: nativeID, scope: "access_as_user"},
		{name: "the middle tier refreshes its OBO token with its secret", path: v2, form: func(t *testing.T) (map[string][]string, int) {
			rt := w.tokenOK(t, v2, oboForm(w.adaToken(t)))["refresh_token"].(string)
			return rtForm(rt, "client_id", middleID, "client_secret", middleSecret, "scope", "api://downstream/Data.Read offline_access", "client_info", ""), 2
		}, version: 2, aud: downstreamID, client: middleID, scope: "api://downstream/Data.Read"},
		{name: "the middle tier refreshes a v1 OBO token on v1", path: v1, form: func(t *testing.T) (map[string][]string, int) {
			rt := w.tokenOK(t, v1, oboForm(w.adaToken(t), "scope", "", "resource", "api://orders", "client_info", ""))["refresh_token"].(string)
			return rtForm(rt, "client_id", middleID, "client_secret", middleSecret, "scope", "", "client_info", ""), 1
		}, version: 1, aud: "api://orders", client: middleID, scope: "Orders.Read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form, endpoint := tc.form(t)
			r := w.post(t, tc.path, form)
			if r.status != http.StatusOK {
				t.Fatalf("status %d; want 200\n%s", r.status, r.body)
			}
			var m map[string]any
			r.decode(t, &m)
			checkUserResponse(t, r, m, endpoint, true, tc.idToken, tc.clientInf)
			if m["refresh_token"] == form["refresh_token"][0] {
				t.Error("the refresh token was not rotated")
			}
			if m["scope"] != tc.scope {
				t.Errorf("scope = %v; want %q", m["scope"], tc.scope)
			}
			c := w.verify(t, m["access_token"].(string), tenantA, tc.version).claims
			checkClaim(t, c, "aud", tc.aud)
			checkClaim(t, c, "oid", adaID)
			checkClaim(t, c, claimName(tc.version, "appid", "azp"), tc.client)
			if tc.idToken {
				checkIDToken(t, w, m["id_token"].(string), endpoint, tc.client)
			}
		})
	}

	t.Run("the successor can be redeemed in turn", func(t *testing.T) {
		rt := fresh(t)
		for i := range 3 {
			m := w.tokenOK(t, v2, rtForm(rt))
			if rt = m["refresh_token"].(string); rt == "" {
				t.Fatalf("redemption %d returned no refresh token", i)
			}
		}
	})

	t.Run("the database holds hashes, never tokens", func(t *testing.T) {
		rt := fresh(t)
		raw, err := os.ReadFile(w.DB.Path())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(rt))
		if bytes.Contains(raw, []byte(rt)) || !bytes.Contains(raw, []byte(hex.EncodeToString(sum[:]))) {
			t.Error("want the token's SHA-256 in the database file and not the token")
		}
		if bytes.Contains(raw, []byte(rt[3:])) {
			t.Error("the database file holds the token's random part")
		}
	})
}

// TestRefreshTokenRefusals checks the refusals of the refresh_token grant.
// Cases that change the directory (revoking consent, disabling the user,
// moving the clock) run on worlds of their own.
func TestRefreshTokenRefusals(t *testing.T) {
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	w := newDelegatedWorld(t)
	nativeRT := func(t *testing.T, w *world) string {
		t.Helper()
		return w.tokenOK(t, v2, pwForm())["refresh_token"].(string)
	}
	middleRT := w.tokenOK(t, v2, oboForm(w.adaToken(t)))["refresh_token"].(string)

	for _, tc := range []struct {
		name       string
		path       string
		form       func(t *testing.T) map[string][]string
		wantCode   int
		wantError  string
		wantStatus int
		wantSub    string
	}{
		{name: "no refresh_token", path: v2, form: func(t *testing.T) map[string][]string { return rtForm("", "refresh_token", "") },
			wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "no client_id", path: v2, form: func(t *testing.T) map[string][]string { return rtForm(nativeRT(t, w), "client_id", "") },
			wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "resource on v2", path: v2, form: func(t *testing.T) map[string][]string { return rtForm(nativeRT(t, w), "resource", "api://middle") },
			wantCode: 901002, wantError: "invalid_request", wantStatus: 400},
		{name: "garbage", path: v2, form: func(t *testing.T) map[string][]string { return rtForm("0.AXEA-not-one-of-ours") },
			wantCode: 70000, wantError: "invalid_grant", wantStatus: 400},
		{name: "well-formed but never issued", path: v2, form: func(t *testing.T) map[string][]string { return rtForm("1.A" + string(bytes.Repeat([]byte("Q"), 43))) },
			wantCode: 70000, wantError: "invalid_grant", wantStatus: 400},
		{name: "issued to another client", path: v2, form: func(t *testing.T) map[string][]string {
			return rtForm(nativeRT(t, w), "client_id", middleID, "client_secret", middleSecret)
		}, wantCode: 70000, wantError: "invalid_grant", wantStatus: 400},
		{name: "at /consumers", path: "/consumers/oauth2/v2.0/token", form: func(t *testing.T) map[string][]string { return rtForm(nativeRT(t, w)) },
			wantCode: 9001023, wantError: "invalid_request", wantStatus: 400},
		{name: "at another tenant", path: "/" + tenantB + "/oauth2/v2.0/token", form: func(t *testing.T) map[string][]string { return rtForm(nativeRT(t, w)) },
			wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "confidential client without its secret", path: v2, form: func(t *testing.T) map[string][]string {
			return rtForm(middleRT, "client_id", middleID, "scope", "api://downstream/Data.Read")
		}, wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},
		{name: "a scope nobody consented to", path: v2, form: func(t *testing.T) map[string][]string {
			return rtForm(nativeRT(t, w), "scope", "api://downstream/Data.Read")
		}, wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRefused(t, w.post(t, tc.path, tc.form(t)), tc.wantCode, tc.wantError, tc.wantStatus, tc.wantSub)
		})
	}

	t.Run("revoke-family: replay revokes the family", func(t *testing.T) {
		w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.RefreshTokenReuse = issuer.RefreshTokenReuseRevokeFamily }))
		w.seedDelegated()
		rt1 := nativeRT(t, w)
		rt2 := w.tokenOK(t, v2, rtForm(rt1))["refresh_token"].(string)
		// RFC 9700 §4.14: the redeemed rt1 comes back, so the family dies.
		checkRefused(t, w.post(t, v2, rtForm(rt1)), 70008, "invalid_grant", 400, "")
		checkRefused(t, w.post(t, v2, rtForm(rt2)), 50173, "invalid_grant", 400, "")
		// rt1 is still a replay: the revocation marks the tokens not yet
		// redeemed, which is what keeps it one write in a long family.
		checkRefused(t, w.post(t, v2, rtForm(rt1)), 70008, "invalid_grant", 400, "")
		// Other families live on.
		w.tokenOK(t, v2, rtForm(nativeRT(t, w)))
	})

	t.Run("allow (the default, Entra's): a redeemed token stays valid", func(t *testing.T) {
		rt1 := nativeRT(t, w)
		rt2 := w.tokenOK(t, v2, rtForm(rt1))["refresh_token"].(string)
		// A retry after a lost answer, and a second app sharing the cache.
		rt3 := w.tokenOK(t, v2, rtForm(rt1))["refresh_token"].(string)
		w.tokenOK(t, v2, rtForm(rt2))
		w.tokenOK(t, v2, rtForm(rt3))
		// Parallel workers redeeming one token at once all succeed.
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Go(func() { codes[i] = w.post(t, v2, rtForm(rt1)).status })
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusOK {
				t.Errorf("parallel redemption %d: status %d; want 200", i, c)
			}
		}
	})

	t.Run("a replay by an unauthenticated client revokes nothing", func(t *testing.T) {
		rt1 := w.tokenOK(t, v2, rtForm(middleRT, "client_id", middleID, "client_secret", middleSecret, "scope", ""))["refresh_token"].(string)
		checkRefused(t, w.post(t, v2, rtForm(middleRT, "client_id", middleID, "scope", "")), 7000218, "invalid_client", 401, "")
		w.tokenOK(t, v2, rtForm(rt1, "client_id", middleID, "client_secret", middleSecret, "scope", ""))
	})

	t.Run("expired", func(t *testing.T) {
		w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.RefreshTokenLifetime = 24 * time.Hour }))
		w.seedDelegated()
		rt := nativeRT(t, w)
		w.Advance(24 * time.Hour)
		checkRefused(t, w.post(t, v2, rtForm(rt)), 700082, "invalid_grant", 400, "bad_token")
	})

	t.Run("within its lifetime, renewed by each redemption", func(t *testing.T) {
		w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.RefreshTokenLifetime = 24 * time.Hour }))
		w.seedDelegated()
		rt := nativeRT(t, w)
		for range 3 {
			w.Advance(23 * time.Hour)
			rt = w.tokenOK(t, v2, rtForm(rt))["refresh_token"].(string)
		}
	})

	for _, tc := range []struct {
		name      string
		change    func(t *testing.T, w *world)
		wantCode  int
		wantError string
		wantSub   string
	}{
		{name: "user disabled", change: func(t *testing.T, w *world) {
			f := false
			_, err := w.Directory.UpdateUser(context.Background(), tenantA, adaUPN, tenant.UserUpdate{AccountEnabled: &f})
			w.must(err)
		}, wantCode: 50057, wantError: "invalid_grant"},
		// Deleting the user, the client or the tenant deletes the
		// refresh tokens with it: the token is then unknown (AADSTS70000),
		// and stays so when the object is created again with the same id.
		{name: "user removed", change: func(t *testing.T, w *world) {
			w.must(w.Directory.RemoveUser(context.Background(), tenantA, adaUPN))
		}, wantCode: 70000, wantError: "invalid_grant"},
		{name: "user removed and added again with the same id", change: func(t *testing.T, w *world) {
			w.must(w.Directory.RemoveUser(context.Background(), tenantA, adaUPN))
			_, err := w.Directory.AddUser(context.Background(), tenantA, tenant.UserSpec{ID: adaID, UserPrincipalName: adaUPN, DisplayName: "Ada Lovelace", Password: adaPassword})
			w.must(err)
		}, wantCode: 70000, wantError: "invalid_grant"},
		{name: "client's service principal removed and added again", change: func(t *testing.T, w *world) {
			w.must(w.Directory.RemoveServicePrincipal(context.Background(), tenantA, nativeID))
			_, err := w.Directory.AddServicePrincipal(context.Background(), tenantA, nativeID)
			w.must(err)
		}, wantCode: 70000, wantError: "invalid_grant"},
		{name: "tenants removed and seeded again", change: func(t *testing.T, w *world) {
			w.must(w.Directory.RemoveTenant(context.Background(), tenantA))
			w.must(w.Directory.RemoveTenant(context.Background(), tenantB))
			w.seed()
			w.seedDelegated()
		}, wantCode: 70000, wantError: "invalid_grant"},
		{name: "password reset", change: func(t *testing.T, w *world) {
			pw := "A-new-password-0001"
			_, err := w.Directory.UpdateUser(context.Background(), tenantA, adaUPN, tenant.UserUpdate{Password: &pw})
			w.must(err)
		}, wantCode: 50173, wantError: "invalid_grant"},
		{name: "consent revoked", change: func(t *testing.T, w *world) {
			_, err := w.manager().Revoke(context.Background(), tenantA, nativeID, "")
			w.must(err)
		}, wantCode: 65001, wantError: "invalid_grant", wantSub: "consent_required"},
		{name: "client disabled", change: func(t *testing.T, w *world) {
			f := false
			_, err := w.Directory.UpdateServicePrincipal(context.Background(), tenantA, nativeID, tenant.ServicePrincipalUpdate{AccountEnabled: &f})
			w.must(err)
		}, wantCode: 7000112, wantError: "unauthorized_client"},
		{name: "tenant removed", change: func(t *testing.T, w *world) {
			w.must(w.Directory.RemoveTenant(context.Background(), tenantA))
		}, wantCode: 70000, wantError: "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDelegatedWorld(t)
			rt := nativeRT(t, w)
			tc.change(t, w)
			checkRefused(t, w.post(t, "/organizations/oauth2/v2.0/token", rtForm(rt)), tc.wantCode, tc.wantError, 400, tc.wantSub)
		})
	}

	// Entra's revocation table: a password change or reset revokes the
	// password-based refresh tokens of public clients (above), and keeps
	// those of confidential clients and those not obtained with the
	// password (on-behalf-of).
	t.Run("password reset keeps confidential clients' tokens", func(t *testing.T) {
		w := newDelegatedWorld(t)
		confidential := w.tokenOK(t, v2, pwForm("client_id", middleID, "client_secret", middleSecret,
			"scope", "api://orders/Orders.Read offline_access", "client_info", ""))["refresh_token"].(string)
		obo := w.tokenOK(t, v2, oboForm(w.adaToken(t)))["refresh_token"].(string)
		public := nativeRT(t, w)
		pw := "A-new-password-0001"
		_, err := w.Directory.UpdateUser(context.Background(), tenantA, adaUPN, tenant.UserUpdate{Password: &pw})
		w.must(err)
		checkRefused(t, w.post(t, v2, rtForm(public)), 50173, "invalid_grant", 400, "")
		w.tokenOK(t, v2, rtForm(confidential, "client_id", middleID, "client_secret", middleSecret, "scope", ""))
		w.tokenOK(t, v2, rtForm(obo, "client_id", middleID, "client_secret", middleSecret, "scope", ""))
		// The new password signs in again, and its token works.
		w.tokenOK(t, v2, rtForm(w.tokenOK(t, v2, pwForm("password", pw))["refresh_token"].(string)))
	})

}
