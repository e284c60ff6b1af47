package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// TestMicrosoftGraph: Graph is in every tenant created, a directory made
// before Graph was hosted gets it at the next start, and nothing of
// Microsoft's can be changed or removed.
func TestMicrosoftGraph(t *testing.T) {
	e := newEnv(t)
	// A tenant written straight to the store: a directory of an older
	// binary, without Graph.
	old := tenant.Tenant{ID: "0a1b2c3d-0000-4000-8000-000000000001", DisplayName: "Old", Domains: []string{"old.onmicrosoft.com"},
		UserConsent: tenant.UserConsentAllowed, CreatedDateTime: time.Now().UTC()}
	if err := e.db.CreateTenant(e.ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.dir.CreateTenant(e.ctx, tenant.TenantSpec{Name: "Fresh"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{old.ID, fresh.ID} {
		sp, app, err := e.dir.FindServicePrincipal(e.ctx, id, "https://graph.microsoft.com/")
		if err != nil || sp.AppID != tenant.MicrosoftGraphAppID || sp.AppOwnerOrganizationID != tenant.MicrosoftServicesTenantID {
			t.Fatalf("Graph in tenant %s: %+v, %v", id, sp, err)
		}
		if _, ok := app.ScopeByValue("User.Read"); !ok || len(app.AppRoles) == 0 {
			t.Errorf("Graph exposes %d roles and no User.Read", len(app.AppRoles))
		}
	}
	ts, err := e.dir.ListTenants(e.ctx)
	if err != nil || len(ts) != 2 {
		t.Errorf("ListTenants = %d tenants, %v; want the two customers' only", len(ts), err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"update Graph", func() error {
			_, err := e.dir.UpdateApplication(e.ctx, tenant.MicrosoftGraphAppID, tenant.ApplicationUpdate{})
			return err
		}()},
		{"remove Graph", e.dir.RemoveApplication(e.ctx, tenant.MicrosoftGraphAppID)},
		{"add a secret to Graph", func() error {
			_, _, err := e.dir.AddPassword(e.ctx, tenant.MicrosoftGraphAppID, tenant.PasswordSpec{})
			return err
		}()},
		{"disable Graph in a tenant", func() error {
			no := false
			_, err := e.dir.UpdateServicePrincipal(e.ctx, fresh.ID, tenant.MicrosoftGraphAppID, tenant.ServicePrincipalUpdate{AccountEnabled: &no})
			return err
		}()},
		{"remove Graph from a tenant", e.dir.RemoveServicePrincipal(e.ctx, fresh.ID, tenant.MicrosoftGraphAppID)},
		{"remove Microsoft's tenant", e.dir.RemoveTenant(e.ctx, tenant.MicrosoftServicesTenantID)},
		{"register an app in Microsoft's tenant", func() error {
			_, err := e.dir.CreateApplication(e.ctx, tenant.MicrosoftServicesTenantID, tenant.ApplicationSpec{DisplayName: "x"}, tenant.ApplicationUpdate{})
			return err
		}()},
	} {
		if !errors.Is(tc.err, tenant.ErrFirstParty) {
			t.Errorf("%s: %v; want ErrFirstParty", tc.name, tc.err)
		}
	}
}

// listingRemover is the directory's store with another writer at work: it
// removes tenant remove right after listing the tenants, as a CLI command
// running beside a starting server may.
type listingRemover struct {
	*storage.DB
	remove string
}

func (s listingRemover) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	ts, err := s.DB.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	return ts, s.DB.DeleteTenant(ctx, s.remove)
}

func (s listingRemover) TenantsWithoutServicePrincipal(ctx context.Context, appID string) ([]string, error) {
	ids, err := s.DB.TenantsWithoutServicePrincipal(ctx, appID)
	if err != nil {
		return nil, err
	}
	return ids, s.DB.DeleteTenant(ctx, s.remove)
}

// readEach is a store that cannot list the tenants without a service
// principal in one read, nor batch: the check reads each tenant's.
type readEach struct{ tenant.Store }

// replicaView is the store as an etcd replica has it: its batches are not
// transactions, so a crash can leave Graph half made.
type replicaView struct{ *storage.DB }

func (replicaView) BatchesAreTransactions() bool { return false }

// listingCounter counts the start's reads of every tenant.
type listingCounter struct {
	*storage.DB
	listed *int
}

func (s listingCounter) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	*s.listed++
	return s.DB.ListTenants(ctx)
}

func (s listingCounter) TenantsWithoutServicePrincipal(ctx context.Context, appID string) ([]string, error) {
	*s.listed++
	return s.DB.TenantsWithoutServicePrincipal(ctx, appID)
}

// TestMicrosoftGraphRepair: on a store whose batches are not transactions
// (an etcd replica), a start completes a Graph that a crash (or a failed
// write) left half made, whichever write was the last to land: the check
// of a start looks at every part, not only at the application.
func TestMicrosoftGraphRepair(t *testing.T) {
	customer := func(n int) tenant.Tenant {
		return tenant.Tenant{ID: fmt.Sprintf("0a1b2c3d-0000-4000-8000-%012d", n), DisplayName: fmt.Sprint("T", n),
			Domains: []string{fmt.Sprintf("t%d.onmicrosoft.com", n)}, UserConsent: tenant.UserConsentAllowed, CreatedDateTime: epoch}
	}
	microsofts := tenant.Tenant{ID: tenant.MicrosoftServicesTenantID, DisplayName: "Microsoft Services",
		Domains: []string{"microsoftservices.onmicrosoft.com"}, UserConsent: tenant.UserConsentDisabled, CreatedDateTime: epoch}
	tests := []struct {
		name string
		// halfMade writes what landed before the crash, and returns the
		// customer tenants that must have Graph after the start.
		halfMade func(e *env) []string
	}{
		{"Microsoft's tenant written, not the application", func(e *env) []string {
			for _, tn := range []tenant.Tenant{microsofts, customer(1)} {
				if err := e.db.CreateTenant(e.ctx, tn); err != nil {
					t.Fatal(err)
				}
			}
			return []string{customer(1).ID}
		}},
		{"the application written, no service principal", func(e *env) []string {
			for _, tn := range []tenant.Tenant{customer(1), customer(2)} {
				if err := e.db.CreateTenant(e.ctx, tn); err != nil {
					t.Fatal(err)
				}
			}
			// The start that crashed: its first write, the application,
			// landed; here it is written alone by a start over no tenant.
			if err := tenant.NewDirectory(emptyView{e.db}).EnsureMicrosoftGraph(e.ctx, nil); err != nil {
				t.Fatal(err)
			}
			return []string{customer(1).ID, customer(2).ID}
		}},
		{"some service principals written", func(e *env) []string {
			if err := e.db.CreateTenant(e.ctx, customer(1)); err != nil {
				t.Fatal(err)
			}
			if err := e.dir.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
				t.Fatal(err)
			}
			if err := e.db.CreateTenant(e.ctx, customer(2)); err != nil {
				t.Fatal(err)
			}
			return []string{customer(1).ID, customer(2).ID}
		}},
		{"a tenant created, not its service principal", func(e *env) []string {
			made := e.tenant("Made")
			if err := e.db.CreateTenant(e.ctx, customer(3)); err != nil {
				t.Fatal(err)
			}
			return []string{made.ID, customer(3).ID}
		}},
	}
	stores := []struct {
		name string
		dir  func(*storage.DB) *tenant.Directory
	}{
		{"one read of keys", func(db *storage.DB) *tenant.Directory { return tenant.NewDirectory(replicaView{db}) }},
		{"each tenant read", func(db *storage.DB) *tenant.Directory { return tenant.NewDirectory(readEach{db}) }},
	}
	for _, tt := range tests {
		for _, st := range stores {
			t.Run(tt.name+"/"+st.name, func(t *testing.T) {
				e := newEnv(t)
				want := tt.halfMade(e)
				e.dir = st.dir(e.db)
				missing := 0
				for _, id := range want {
					if _, err := e.db.GetServicePrincipal(e.ctx, id, tenant.MicrosoftGraphAppID); errors.Is(err, tenant.ErrNotFound) {
						missing++
					}
				}
				if missing == 0 {
					t.Fatal("the half-made directory lacks nothing")
				}
				if err := e.dir.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
					t.Fatalf("the next start: %v", err)
				}
				for _, id := range want {
					sp, app, err := e.dir.FindServicePrincipal(e.ctx, id, tenant.MicrosoftGraphURI)
					if err != nil || sp.AppID != tenant.MicrosoftGraphAppID || len(app.AppRoles) == 0 {
						t.Errorf("Graph in tenant %s after the start: %+v, %v", id, sp, err)
					}
				}
				if err := e.db.Check(e.ctx); err != nil {
					t.Errorf("the directory after the start: %v", err)
				}
			})
		}
	}
	for _, st := range []struct {
		name  string
		store func(listingRemover) tenant.Store
	}{
		{"one read of keys", func(s listingRemover) tenant.Store { return replicaOf{s} }},
		{"each tenant read", func(s listingRemover) tenant.Store { return readEach{s} }},
	} {
		t.Run("a tenant removed since the listing/"+st.name, func(t *testing.T) {
			e := newEnv(t)
			for _, tn := range []tenant.Tenant{customer(1), customer(2)} {
				if err := e.db.CreateTenant(e.ctx, tn); err != nil {
					t.Fatal(err)
				}
			}
			d := tenant.NewDirectory(st.store(listingRemover{e.db, customer(1).ID}))
			if err := d.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
				t.Fatalf("start: %v", err)
			}
			if _, err := e.db.GetServicePrincipal(e.ctx, customer(2).ID, tenant.MicrosoftGraphAppID); err != nil {
				t.Errorf("Graph in the tenant left: %v", err)
			}
		})
	}
}

// replicaOf is a listingRemover on a replica.
type replicaOf struct{ listingRemover }

func (replicaOf) BatchesAreTransactions() bool { return false }

// TestMicrosoftGraphStartOnAFile: over a local file, whose batches are
// transactions, a start finds Graph whole once its application exists and
// reads no tenant; a start that creates it gives every tenant its service
// principal.
func TestMicrosoftGraphStartOnAFile(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant("A"), e.tenant("B")
	listed := 0
	d := tenant.NewDirectory(listingCounter{e.db, &listed})
	if err := d.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if listed != 0 {
		t.Errorf("a start over a whole Graph listed the tenants %d times; want none", listed)
	}
	// A directory from before Graph was hosted: the application goes, then
	// the start writes it and every service principal.
	for _, id := range []string{a.ID, b.ID} {
		if err := e.db.DeleteServicePrincipal(e.ctx, id, tenant.MicrosoftGraphAppID); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.DeleteApplication(e.ctx, tenant.MicrosoftGraphAppID); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if _, err := e.db.GetServicePrincipal(e.ctx, id, tenant.MicrosoftGraphAppID); err != nil {
			t.Errorf("Graph in tenant %s after the start that created it: %v", id, err)
		}
	}
}

// emptyView is the store seen by a start that listed no tenant.
type emptyView struct{ *storage.DB }

func (emptyView) ListTenants(context.Context) ([]tenant.Tenant, error) { return nil, nil }

func (emptyView) TenantsWithoutServicePrincipal(context.Context, string) ([]string, error) {
	return nil, nil
}

// BenchmarkEnsureMicrosoftGraph is the check of a start over a complete
// directory of 10,000 tenants: one read of the service principal index
// keys (storage.DB), or each tenant's Graph service principal read.
func BenchmarkEnsureMicrosoftGraph(b *testing.B) {
	db, err := storage.Open(b.TempDir()+"/db", storage.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	d := tenant.NewDirectory(db)
	for n := range 10 {
		batch := make([]tenant.BulkTenant, 1000)
		for i := range batch {
			batch[i].Tenant = tenant.TenantSpec{Name: fmt.Sprint("T", n, "-", i)}
		}
		if _, _, err := d.BulkCreate(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		dir  *tenant.Directory
	}{
		{"one read of keys", d},
		{"each tenant read", tenant.NewDirectory(readEach{db})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.dir.EnsureMicrosoftGraph(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMicrosoftGraphPermissionsRefresh: a directory whose Graph
// application was written by an older binary, without the permissions
// served since (the group ones), gets them at the next start, and a
// directory that has them is left as it is.
func TestMicrosoftGraphPermissionsRefresh(t *testing.T) {
	want := tenant.MicrosoftGraph()
	for _, tc := range []struct {
		name string
		old  func(a *tenant.Application) // what the older binary wrote
	}{
		{"up to date", func(*tenant.Application) {}},
		{"without the group permissions", func(a *tenant.Application) {
			a.AppRoles = slices.DeleteFunc(a.AppRoles, func(r tenant.AppRole) bool { return strings.HasPrefix(r.Value, "Group") })
			a.API.OAuth2PermissionScopes = slices.DeleteFunc(a.API.OAuth2PermissionScopes, func(s tenant.PermissionScope) bool { return strings.HasPrefix(s.Value, "Group") })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.dir.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
				t.Fatal(err)
			}
			// Stored as written, so that a start of an up-to-date
			// directory finds nothing to refresh and writes nothing.
			if stored, err := e.db.GetApplication(e.ctx, tenant.MicrosoftGraphAppID); err != nil || !reflect.DeepEqual(stored.AppRoles, want.AppRoles) ||
				!reflect.DeepEqual(stored.API.OAuth2PermissionScopes, want.API.OAuth2PermissionScopes) {
				t.Fatalf("Graph as stored differs from tenant.MicrosoftGraph() (%v)", err)
			}
			if err := e.db.UpdateApplication(e.ctx, tenant.MicrosoftGraphAppID, func(a *tenant.Application) error { tc.old(a); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := e.dir.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
				t.Fatal(err)
			}
			got, err := e.db.GetApplication(e.ctx, tenant.MicrosoftGraphAppID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.AppRoles, want.AppRoles) || !reflect.DeepEqual(got.API.OAuth2PermissionScopes, want.API.OAuth2PermissionScopes) {
				t.Errorf("Graph after the start has %d roles and %d scopes; want %d and %d", len(got.AppRoles), len(got.API.OAuth2PermissionScopes), len(want.AppRoles), len(want.API.OAuth2PermissionScopes))
			}
			if _, ok := got.AppRoleByValue("GroupMember.Read.All"); !ok {
				t.Error("GroupMember.Read.All is not an app role of Graph after the start")
			}
		})
	}
}
