package issuer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// post sends the fixture's token request (or body, when not empty) to the
// handler and returns the status and the decoded answer.
func (f *hotFixture) post(t *testing.T, body string) (int, map[string]any) {
	t.Helper()
	if body == "" {
		body = f.body
	}
	r := httptest.NewRequest(http.MethodPost, f.path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("status %d, body %q: %v", w.Code, w.Body, err)
	}
	return w.Code, out
}

// tokenRoles returns the roles claim of the access token in a token answer.
func tokenRoles(t *testing.T, answer map[string]any) []any {
	t.Helper()
	parts := strings.Split(answer["access_token"].(string), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	roles, _ := claims["roles"].([]any)
	return roles
}

// TestReadCacheSeesEveryWrite: once a request's facts are cached, a write
// to anything they hold is seen by the very next request (Backend's
// read-after-write rule), whatever the write.
func TestReadCacheSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	disabled := false
	tests := []struct {
		name  string
		write func(f *hotFixture, d *tenant.Directory) error
		code  int // the AADSTS code of the next answer; 0 for a token
		roles int // roles in that token
	}{
		{"client service principal disabled", func(f *hotFixture, d *tenant.Directory) error {
			_, err := d.UpdateServicePrincipal(ctx, f.tenant.ID, f.daemon.AppID, tenant.ServicePrincipalUpdate{AccountEnabled: &disabled})
			return err
		}, CodeApplicationDisabled, 0},
		{"resource service principal disabled", func(f *hotFixture, d *tenant.Directory) error {
			_, err := d.UpdateServicePrincipal(ctx, f.tenant.ID, f.api.AppID, tenant.ServicePrincipalUpdate{AccountEnabled: &disabled})
			return err
		}, CodeResourceDisabled, 0},
		{"secret removed", func(f *hotFixture, d *tenant.Directory) error {
			app, err := d.GetApplication(ctx, f.daemon.AppID)
			if err != nil {
				return err
			}
			return d.RemovePassword(ctx, f.daemon.AppID, app.PasswordCredentials[0].KeyID)
		}, CodeInvalidClientSecret, 0},
		{"app role unassigned", func(f *hotFixture, d *tenant.Directory) error {
			_, err := consent.NewManager(d, f.db).UnassignRole(ctx, f.tenant.ID, "api://orders", "Orders.Read.All", consent.Assignee{ClientAppID: f.daemon.AppID})
			return err
		}, 0, 0},
		{"tenant removed", func(f *hotFixture, d *tenant.Directory) error {
			return d.RemoveTenant(ctx, f.tenant.ID)
		}, CodeTenantNotFound, 0},
		{"app role disabled", func(f *hotFixture, d *tenant.Directory) error {
			_, err := d.SetAppRoleEnabled(ctx, f.api.AppID, "Orders.Read.All", false)
			return err
		}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHotFixture(t, signing.GoBackend())
			for range 2 { // the second token comes from the cache
				if status, answer := f.post(t, ""); status != http.StatusOK || len(tokenRoles(t, answer)) != 1 {
					t.Fatalf("before the write: %d %v", status, answer)
				}
			}
			if n, m := f.srv.facts.len(), f.srv.tenants.len(); n != 1 || m != 1 {
				t.Fatalf("%d facts and %d tenants cached, want 1 and 1", n, m)
			}
			if err := tt.write(f, tenant.NewDirectory(f.db)); err != nil {
				t.Fatal(err)
			}
			status, answer := f.post(t, "")
			if tt.code != 0 {
				codes, _ := answer["error_codes"].([]any)
				if len(codes) != 1 || codes[0] != float64(tt.code) {
					t.Fatalf("after the write: %d %v, want AADSTS%d", status, answer, tt.code)
				}
				return
			}
			if status != http.StatusOK {
				t.Fatalf("after the write: %d %v", status, answer)
			}
			if got := len(tokenRoles(t, answer)); got != tt.roles {
				t.Fatalf("after the write: %d roles, want %d", got, tt.roles)
			}
		})
	}
}

// TestReadCacheOutlivesRefreshTokens: redeeming a refresh token writes to
// the store (rotation, last use), and a server issuing user tokens beside
// app-only ones kept emptying the app-only flows' cache with each one.
// Refresh-token writes no longer count (storage's Generation): the next
// app-only token comes from the cache, the same cached answers as before.
func TestReadCacheOutlivesRefreshTokens(t *testing.T) {
	ctx := context.Background()
	f := newHotFixture(t, signing.GoBackend())
	for range 2 {
		if status, answer := f.post(t, ""); status != http.StatusOK {
			t.Fatalf("before: %d %v", status, answer)
		}
	}
	facts, tenants := f.srv.facts.cur.Load(), f.srv.tenants.cur.Load()
	rt := tenant.RefreshToken{
		Hash: "h1", FamilyID: "f1", TenantID: f.tenant.ID, ClientAppID: f.daemon.AppID, UserID: "u1",
		IssuedDateTime: time.Now(), ExpiresDateTime: time.Now().Add(time.Hour),
	}
	next := rt
	next.Hash = "h2"
	if err := f.db.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RotateRefreshToken(ctx, rt.Hash, time.Now(), next); err != nil {
		t.Fatal(err)
	}
	if status, answer := f.post(t, ""); status != http.StatusOK || len(tokenRoles(t, answer)) != 1 {
		t.Fatalf("after: %d %v", status, answer)
	}
	if f.srv.facts.cur.Load() != facts || f.srv.tenants.cur.Load() != tenants {
		t.Fatal("the token after the refresh-token writes was not answered from the read caches")
	}
}

// TestReadCacheBounds: the cache holds facts of one generation only, at
// most maxCached of them, and never for long names.
func TestReadCacheBounds(t *testing.T) {
	facts := func(id string) consent.Facts { return consent.Facts{Tenant: tenant.Tenant{ID: id}} }
	key := func(i int) factKey {
		k, ok := newFactKey(consent.Request{Flow: consent.FlowClientCredentials, TenantRef: "t", ClientAppID: fmt.Sprint(i)})
		if !ok {
			t.Fatal("short key refused")
		}
		return k
	}
	tests := []struct {
		name string
		run  func(t *testing.T, c *readCache[factKey, consent.Facts])
	}{
		{"a full cache is emptied", func(t *testing.T, c *readCache[factKey, consent.Facts]) {
			for i := range maxCached + 1 {
				c.put(1, key(i), facts("x"))
				if c.len() > maxCached {
					t.Fatalf("%d facts cached, bound %d", c.len(), maxCached)
				}
			}
			if _, ok := c.get(1, key(maxCached)); !ok {
				t.Fatal("the newest facts are not cached")
			}
		}},
		{"a newer generation empties the cache", func(t *testing.T, c *readCache[factKey, consent.Facts]) {
			c.put(1, key(1), facts("old"))
			c.put(2, key(2), facts("new"))
			if _, ok := c.get(2, key(1)); ok {
				t.Fatal("facts of generation 1 served at generation 2")
			}
			if c.len() != 1 {
				t.Fatalf("%d facts cached, want 1", c.len())
			}
		}},
		{"facts of an older generation are dropped", func(t *testing.T, c *readCache[factKey, consent.Facts]) {
			c.put(2, key(2), facts("new"))
			c.put(1, key(1), facts("old"))
			if _, ok := c.get(1, key(1)); ok {
				t.Fatal("facts of generation 1 served")
			}
			if _, ok := c.get(2, key(1)); ok {
				t.Fatal("facts of generation 1 served at generation 2")
			}
		}},
		{"a lookup at another generation misses", func(t *testing.T, c *readCache[factKey, consent.Facts]) {
			c.put(3, key(1), facts("x"))
			if _, ok := c.get(4, key(1)); ok {
				t.Fatal("facts of generation 3 served at generation 4")
			}
			if f, ok := c.get(3, key(1)); !ok || f.Tenant.ID != "x" {
				t.Fatalf("get = %v, %v", f, ok)
			}
		}},
		{"long names are not cached", func(t *testing.T, c *readCache[factKey, consent.Facts]) {
			long := consent.Request{Flow: consent.FlowClientCredentials, TenantRef: "t",
				ClientAppID: "c", ResourceName: strings.Repeat("r", maxCacheKeyBytes)}
			if _, ok := newFactKey(long); ok {
				t.Fatal("a key longer than maxCacheKeyBytes accepted")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, &readCache[factKey, consent.Facts]{}) })
	}
}

// TestReadCacheOnlyAppOnly: delegated flows, whose facts more code reads,
// and requests under a done context always read the store.
func TestReadCacheOnlyAppOnly(t *testing.T) {
	f := newHotFixture(t, signing.GoBackend())
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		flow consent.Flow
		err  bool
	}{
		{"client credentials", context.Background(), consent.FlowClientCredentials, false},
		{"password", context.Background(), consent.FlowPassword, false},
		{"done context", done, consent.FlowClientCredentials, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.facts = readCache[factKey, consent.Facts]{}
			creq := consent.Request{Flow: tt.flow, TenantRef: f.tenant.ID, ClientAppID: f.daemon.AppID, ResourceName: "api://orders"}
			_, err := f.srv.cachedResolve(tt.ctx, creq)
			if (err != nil) != tt.err {
				t.Fatalf("cachedResolve: %v, want error %v", err, tt.err)
			}
			want := 0
			if tt.flow == consent.FlowClientCredentials && !tt.err {
				want = 1
			}
			if got := f.srv.facts.len(); got != want {
				t.Fatalf("%d facts cached, want %d", got, want)
			}
		})
	}
}

// BenchmarkReadCacheGet is the read caches' share of a token request
// under parallel load: every request looks up its tenant and its facts.
func BenchmarkReadCacheGet(b *testing.B) {
	var c readCache[factKey, consent.Facts]
	k, _ := newFactKey(consent.Request{Flow: consent.FlowClientCredentials, TenantRef: "t", ClientAppID: "c", ResourceName: "api://orders"})
	c.put(7, k, consent.Facts{Tenant: tenant.Tenant{ID: "t"}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.get(7, k); !ok {
				b.Fatal("miss")
			}
		}
	})
}

// tokenGroups returns the groups claim of the access token in a token
// answer.
func tokenGroups(t *testing.T, answer map[string]any) []string {
	t.Helper()
	parts := strings.Split(answer["access_token"].(string), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Groups []string `json:"groups"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Groups
}

// TestReadCacheSeesGroupWrites: the client's groups, which an app-only
// token lists when the resource asks, are read with the cached facts, and
// every change of them is seen by the very next request, as any other
// write is (TestReadCacheSeesEveryWrite).
func TestReadCacheSeesGroupWrites(t *testing.T) {
	ctx := context.Background()
	f := newHotFixture(t, signing.GoBackend())
	d := tenant.NewDirectory(f.db)
	claims := "SecurityGroup"
	if _, err := d.UpdateApplication(ctx, f.api.AppID, tenant.ApplicationUpdate{GroupMembershipClaims: &claims}); err != nil {
		t.Fatal(err)
	}
	g, err := d.AddGroup(ctx, f.tenant.ID, tenant.GroupSpec{DisplayName: "Daemons"})
	if err != nil {
		t.Fatal(err)
	}
	outer, err := d.AddGroup(ctx, f.tenant.ID, tenant.GroupSpec{DisplayName: "Services"})
	if err != nil {
		t.Fatal(err)
	}
	member := func(group, ref string) func() error {
		return func() error { _, err := d.AddGroupMember(ctx, f.tenant.ID, group, ref); return err }
	}
	for _, step := range []struct {
		name  string
		write func() error
		want  []string
	}{
		{"in no group", nil, nil},
		{"added to a group", member(g.ID, f.daemon.AppID), []string{g.ID}},
		{"the group added to another", member(outer.ID, g.ID), sorted(g.ID, outer.ID)},
		{"removed from the first", func() error { return d.RemoveGroupMember(ctx, f.tenant.ID, g.ID, f.daemon.AppID) }, nil},
		{"added to the second", member(outer.ID, f.daemon.AppID), []string{outer.ID}},
		{"the second deleted", func() error { return d.RemoveGroup(ctx, f.tenant.ID, outer.ID) }, nil},
	} {
		if step.write != nil {
			if err := step.write(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		for i := range 2 { // the second answer comes from the cache
			status, answer := f.post(t, "")
			if status != http.StatusOK {
				t.Fatalf("%s: %d %v", step.name, status, answer)
			}
			if got := tokenGroups(t, answer); !slices.Equal(got, step.want) {
				t.Errorf("%s, token %d: groups %v; want %v", step.name, i+1, got, step.want)
			}
		}
		if n := f.srv.facts.len(); n != 1 {
			t.Errorf("%s: %d facts cached; want 1", step.name, n)
		}
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
