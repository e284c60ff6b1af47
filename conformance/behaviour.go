package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// testUpdaterErrors: an updater's error aborts the call, comes back
// unchanged, and whatever the updater changed before failing is not stored.
func testUpdaterErrors(t *testing.T, f *fixture) {
	s := newScene(f)
	ks := signingKeys(t)
	f.must("AddSigningKey", f.b.AddSigningKey(f.ctx, ks[0]))
	errUpdate := errors.New("updater refused")
	for _, tc := range []struct {
		name   string
		update func() error
		check  func() bool
	}{
		{"tenant", func() error {
			return f.b.UpdateTenant(f.ctx, tenantA, func(t *tenant.Tenant) error {
				t.DisplayName, t.Domains = "changed", []string{"changed.example"}
				return errUpdate
			})
		}, func() bool {
			_, err := f.b.GetTenantByDomain(f.ctx, "changed.example")
			got, _ := f.b.GetTenant(f.ctx, tenantA)
			return errors.Is(err, tenant.ErrNotFound) && got.DisplayName != "changed"
		}},
		{"application", func() error {
			return f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error {
				a.DisplayName, a.IdentifierURIs = "changed", []string{"api://changed"}
				return errUpdate
			})
		}, func() bool {
			_, _, err := f.b.FindServicePrincipal(f.ctx, tenantA, "api://changed")
			got, _ := f.b.GetApplication(f.ctx, appAPI)
			return errors.Is(err, tenant.ErrNotFound) && got.DisplayName != "changed"
		}},
		{"service principal", func() error {
			return f.b.UpdateServicePrincipal(f.ctx, tenantA, appAPI, func(sp *tenant.ServicePrincipal) error {
				sp.AccountEnabled = false
				return errUpdate
			})
		}, func() bool {
			got, _ := f.b.GetServicePrincipal(f.ctx, tenantA, appAPI)
			return got.AccountEnabled
		}},
		{"user", func() error {
			return f.b.UpdateUser(f.ctx, tenantA, s.alice.ID, func(u *tenant.User) error {
				u.UserPrincipalName = "changed@a.example"
				return errUpdate
			})
		}, func() bool {
			_, err := f.b.GetUserByUPN(f.ctx, tenantA, "changed@a.example")
			return errors.Is(err, tenant.ErrNotFound)
		}},
		{"signing key", func() error {
			return f.b.UpdateSigningKey(f.ctx, ks[0].KeyID, func(k *tenant.SigningKey) error {
				k.RetiredDateTime = t0
				return errUpdate
			})
		}, func() bool {
			got, _ := f.b.SigningKeys(f.ctx)
			return len(got) == 1 && got[0].Active()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "Update with a failing updater", tc.update(), errUpdate)
			if !tc.check() {
				t.Errorf("a failed update of the %s left a change behind", tc.name)
			}
		})
	}
}

// testValuesAreCopies: a store keeps no reference to what it was given and
// hands out values the caller may change.
func testValuesAreCopies(t *testing.T, f *fixture) {
	tn := newTenant(tenantA, "a.example")
	f.must("CreateTenant", f.b.CreateTenant(f.ctx, tn))
	tn.Domains[0] = "changed.example"
	got, err := f.b.GetTenant(f.ctx, tenantA)
	f.must("GetTenant", err)
	if got.Domains[0] != "a.example" {
		t.Errorf("changing the tenant given to CreateTenant changed the stored one: %v", got.Domains)
	}
	got.Domains[0] = "changed.example"
	if again, _ := f.b.GetTenant(f.ctx, tenantA); again.Domains[0] != "a.example" {
		t.Errorf("changing a returned tenant changed the stored one: %v", again.Domains)
	}

	app := newApp(appAPI, tenantA, "api://orders")
	f.app(app)
	app.IdentifierURIs[0], app.AppRoles[0].Value = "api://changed", "Changed"
	stored, err := f.b.GetApplication(f.ctx, appAPI)
	f.must("GetApplication", err)
	if stored.IdentifierURIs[0] != "api://orders" || stored.AppRoles[0].Value != "Read" {
		t.Errorf("changing the application given to CreateApplication changed the stored one: %+v", stored)
	}
	stored.IdentifierURIs[0], stored.AppRoles[0].AllowedMemberTypes[0] = "api://changed", "Changed"
	if again, _ := f.b.GetApplication(f.ctx, appAPI); again.IdentifierURIs[0] != "api://orders" ||
		again.AppRoles[0].AllowedMemberTypes[0] != tenant.MemberTypeApplication {
		t.Errorf("changing a returned application changed the stored one: %+v", again)
	}
	// An updater's changes to a value it was given reach nothing unless
	// the update succeeds.
	if err := f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error {
		a.AppRoles[0].AllowedMemberTypes[0] = "Changed"
		return errors.New("refused")
	}); err == nil {
		t.Errorf("UpdateApplication with a failing updater succeeded")
	}
	if again, _ := f.b.GetApplication(f.ctx, appAPI); again.AppRoles[0].AllowedMemberTypes[0] != tenant.MemberTypeApplication {
		t.Errorf("a failed updater's change to a nested slice was stored: %+v", again.AppRoles)
	}

	rt := newRefreshToken("family", "first")
	f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, rt))
	rt.Scopes[0] = "changed"
	if got, _ := f.b.GetRefreshToken(f.ctx, rt.Hash); got.Scopes[0] != "Orders.Read" {
		t.Errorf("changing the token given to CreateRefreshToken changed the stored one: %v", got.Scopes)
	}
}

// testCanceledContext: a done context fails a call before it changes
// anything.
func testCanceledContext(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.b.GetTenant(ctx, tenantA); !errors.Is(err, context.Canceled) {
		t.Errorf("GetTenant with a canceled context: %v; want context.Canceled", err)
	}
	if err := f.b.CreateTenant(ctx, newTenant(tenantB, "b.example")); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateTenant with a canceled context: %v; want context.Canceled", err)
	}
	if _, err := f.b.GetTenant(f.ctx, tenantB); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a CreateTenant with a canceled context stored the tenant: %v", err)
	}
	if err := f.b.UpdateTenant(ctx, tenantA, func(t *tenant.Tenant) error { t.DisplayName = "changed"; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("UpdateTenant with a canceled context: %v; want context.Canceled", err)
	}
	if got, _ := f.b.GetTenant(f.ctx, tenantA); got.DisplayName == "changed" {
		t.Errorf("an UpdateTenant with a canceled context changed the tenant")
	}
}

// testConcurrentUpdates: read-modify-write calls from many goroutines lose
// no update (a store that retries on conflict calls the updater again).
func testConcurrentUpdates(t *testing.T, f *fixture) {
	const n = 16
	f.tenant(tenantA, "a.example")
	s := f.app(newApp(appAPI, tenantA))
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- f.b.UpdateTenant(f.ctx, tenantA, func(t *tenant.Tenant) error {
				t.Domains = append(t.Domains, fmt.Sprintf("d%d.example", i))
				return nil
			})
		}()
		go func() {
			defer wg.Done()
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.ID, s.ID, consent.AllPrincipals, "", ""),
				func(g *consent.PermissionGrant) error {
					g.Scope = joinScope(g.Scope, fmt.Sprintf("s%d", i))
					return nil
				})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	got, err := f.b.GetTenant(f.ctx, tenantA)
	f.must("GetTenant", err)
	if len(got.Domains) != n+1 {
		t.Errorf("after %d concurrent updates adding a domain each: %d domains %v; want %d", n, len(got.Domains), got.Domains, n+1)
	}
	for i := range n {
		if found, err := f.b.GetTenantByDomain(f.ctx, fmt.Sprintf("d%d.example", i)); err != nil || found.ID != tenantA {
			t.Errorf("GetTenantByDomain(d%d.example) = %s, %v", i, found.ID, err)
		}
	}
	grants, err := f.b.PermissionGrantsOf(f.ctx, tenantA, s.ID, s.ID)
	f.must("PermissionGrantsOf", err)
	// The first put creates the grant with an empty scope; every other one
	// merges its scope in, so n-1 scopes at least and no grant twice.
	if len(grants) != 1 || len(grants[0].Scopes()) < n-1 {
		t.Errorf("after %d concurrent puts of one grant: %+v; want one grant with a scope from each merge", n, grants)
	}
}

func joinScope(scope, s string) string {
	if scope == "" {
		return s
	}
	return scope + " " + s
}

// testConcurrentCreates: a uniqueness rule holds when creates race: of
// many creates of one domain, UPN or appId, exactly one succeeds.
func testConcurrentCreates(t *testing.T, f *fixture) {
	const n = 8
	f.tenant(tenantA, "a.example")
	for _, tc := range []struct {
		name   string
		create func(i int) error
	}{
		{"tenants with one domain", func(i int) error {
			return f.b.CreateTenant(f.ctx, newTenant(objectID("tenant", fmt.Sprint(i)), "Race.example"))
		}},
		{"users with one UPN", func(i int) error {
			u := newUser(tenantA, "race@a.example")
			u.ID = objectID("user", fmt.Sprint(i))
			return f.b.CreateUser(f.ctx, u)
		}},
		{"applications with one appId", func(i int) error {
			a := newApp(appOther, tenantA)
			a.ID = objectID("app object", fmt.Sprint(i))
			sp := newSP(tenantA, a)
			sp.ID = objectID("sp", fmt.Sprint(i))
			return f.b.CreateApplication(f.ctx, a, sp)
		}},
		{"applications with one identifier URI", func(i int) error {
			a := newApp(objectID("app", fmt.Sprint("uri-", i)), tenantA, "api://race")
			return f.b.CreateApplication(f.ctx, a, newSP(tenantA, a))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = tc.create(i)
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, tenant.ErrExists):
					t.Errorf("create %d: %v; want success or ErrExists", i, err)
				}
			}
			if won != 1 {
				t.Errorf("%d of %d racing creates succeeded; want exactly 1", won, n)
			}
		})
	}
}

// testReadAfterWrite: a write acknowledged in one goroutine is seen by a
// read that another goroutine starts afterwards.
func testReadAfterWrite(t *testing.T, f *fixture) {
	const n = 50
	f.tenant(tenantA, "a.example")
	written := make(chan tenant.User)
	done := make(chan []string)
	go func() {
		var problems []string
		for u := range written {
			got, err := f.b.GetUserByUPN(f.ctx, tenantA, u.UserPrincipalName)
			if err != nil || got.ID != u.ID {
				problems = append(problems, fmt.Sprintf("user %s: %v", u.UserPrincipalName, err))
			}
			rt, err := f.b.GetRefreshToken(f.ctx, newRefreshToken("family", u.UserPrincipalName).Hash)
			if err != nil || rt.FamilyID != "family" {
				problems = append(problems, fmt.Sprintf("refresh token of %s: %v", u.UserPrincipalName, err))
			}
		}
		done <- problems
	}()
	for i := range n {
		u := newUser(tenantA, fmt.Sprintf("user%d@a.example", i))
		f.must("CreateUser", f.b.CreateUser(f.ctx, u))
		f.must("CreateRefreshToken", f.b.CreateRefreshToken(f.ctx, newRefreshToken("family", u.UserPrincipalName)))
		written <- u
	}
	close(written)
	for _, p := range <-done {
		t.Error(p)
	}
	users, err := f.b.ListUsers(f.ctx, tenantA)
	f.must("ListUsers", err)
	if len(users) != n {
		t.Errorf("ListUsers after %d creates: %d users", n, len(users))
	}
}
