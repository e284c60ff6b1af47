package consent_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// Fixed ids of the fixture's objects, so that tables can name them.
const (
	contosoID  = "c0000000-0000-4000-8000-000000000001"
	fabrikamID = "f0000000-0000-4000-8000-000000000002"

	ordersAppID     = "a0000000-0000-4000-8000-0000000000a1" // Orders API, contoso, single-tenant, api://orders
	daemonAppID     = "a0000000-0000-4000-8000-0000000000a2" // Daemon, contoso, single-tenant
	webAppID        = "a0000000-0000-4000-8000-0000000000a3" // Web, contoso, single-tenant, delegated client
	partnerAppID    = "a0000000-0000-4000-8000-0000000000a4" // Partner daemon, fabrikam, multi-tenant
	partnerAPIAppID = "a0000000-0000-4000-8000-0000000000a5" // Partner API, fabrikam, multi-tenant, api://partner
	fabLocalAppID   = "a0000000-0000-4000-8000-0000000000a6" // FabLocal, fabrikam, single-tenant, api://fablocal
	unknownAppID    = "a0000000-0000-4000-8000-0000000000ff"

	// App role ids of the Orders API.
	roleRead     = "b0000000-0000-4000-8000-000000000001" // Orders.Read, Application
	roleWrite    = "b0000000-0000-4000-8000-000000000002" // Orders.Write, Application
	roleAdmin    = "b0000000-0000-4000-8000-000000000003" // Orders.Admin, Application, disabled
	roleApprover = "b0000000-0000-4000-8000-000000000004" // Orders.Approver, User
	roleAll      = "b0000000-0000-4000-8000-000000000005" // Orders.All, Application and User
	roleWebUser  = "b0000000-0000-4000-8000-000000000006" // Web.User on Web, User
	rolePartner  = "b0000000-0000-4000-8000-000000000007" // Partner.Read on Partner API, Application

	alice = "alice@contoso.onmicrosoft.com"
	bob   = "bob@contoso.onmicrosoft.com"
	carol = "carol@contoso.onmicrosoft.com" // disabled
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is a directory with two tenants:
//
//	contoso: Orders API (roles Orders.Read, Orders.Write, Orders.Admin
//	  (disabled), Orders.Approver (User), Orders.All (both); scopes
//	  access_as_user (User), Orders.ReadWrite.All (Admin), legacy (User,
//	  disabled)), Daemon, Web (role Web.User), users alice, bob, carol
//	  (disabled)
//	fabrikam: Partner (multi-tenant daemon), Partner API (multi-tenant,
//	  role Partner.Read, scope partner.read), FabLocal (single-tenant API,
//	  scope fab.read)
type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *storage.DB
	dir *tenant.Directory
	mgr *consent.Manager
	now time.Time
	ids int
}

// newFixture opens a fresh database in a temporary directory and fills it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := storage.Open(t.TempDir()+"/db", storage.Options{})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: context.Background(), db: db, now: epoch}
	clock := func() time.Time { return f.now }
	f.dir = tenant.NewDirectory(db, tenant.WithClock(clock), tenant.WithIDs(f.newID))
	f.mgr = consent.NewManager(f.dir, db, consent.WithClock(clock), consent.WithIDs(f.newID))

	f.must(f.dir.CreateTenant(f.ctx, tenant.TenantSpec{Name: "Contoso", ID: contosoID}))
	f.must(f.dir.CreateTenant(f.ctx, tenant.TenantSpec{Name: "Fabrikam", ID: fabrikamID}))

	f.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Orders API", AppID: ordersAppID, IdentifierURIs: []string{"api://orders"}})
	for _, r := range []tenant.AppRoleSpec{
		{Value: "Orders.Read", ID: roleRead},
		{Value: "Orders.Write", ID: roleWrite},
		{Value: "Orders.Admin", ID: roleAdmin, Disabled: true},
		{Value: "Orders.Approver", ID: roleApprover, AllowedMemberTypes: []string{"User"}},
		{Value: "Orders.All", ID: roleAll, AllowedMemberTypes: []string{"Application", "User"}},
	} {
		f.must(f.dir.AddAppRole(f.ctx, ordersAppID, r))
	}
	for _, s := range []tenant.ScopeSpec{
		{Value: "access_as_user"},
		{Value: "Orders.ReadWrite.All", Type: "Admin"},
		{Value: "legacy", Disabled: true},
	} {
		f.must(f.dir.AddScope(f.ctx, ordersAppID, s))
	}
	f.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Daemon", AppID: daemonAppID})
	f.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Web", AppID: webAppID})
	f.must(f.dir.AddAppRole(f.ctx, webAppID, tenant.AppRoleSpec{Value: "Web.User", ID: roleWebUser, AllowedMemberTypes: []string{"User"}}))

	f.app(fabrikamID, tenant.ApplicationSpec{DisplayName: "Partner", AppID: partnerAppID, MultiTenant: true})
	f.app(fabrikamID, tenant.ApplicationSpec{DisplayName: "Partner API", AppID: partnerAPIAppID, MultiTenant: true, IdentifierURIs: []string{"api://partner"}})
	f.must(f.dir.AddAppRole(f.ctx, partnerAPIAppID, tenant.AppRoleSpec{Value: "Partner.Read", ID: rolePartner}))
	f.must(f.dir.AddScope(f.ctx, partnerAPIAppID, tenant.ScopeSpec{Value: "partner.read"}))
	f.app(fabrikamID, tenant.ApplicationSpec{DisplayName: "FabLocal", AppID: fabLocalAppID, IdentifierURIs: []string{"api://fablocal"}})
	f.must(f.dir.AddScope(f.ctx, fabLocalAppID, tenant.ScopeSpec{Value: "fab.read"}))

	for _, u := range []tenant.UserSpec{
		{UserPrincipalName: alice, DisplayName: "Alice"},
		{UserPrincipalName: bob, DisplayName: "Bob"},
		{UserPrincipalName: carol, DisplayName: "Carol", Disabled: true},
	} {
		f.must(f.dir.AddUser(f.ctx, contosoID, u))
	}
	return f
}

// newID returns sequential GUIDs, so failures are reproducible.
func (f *fixture) newID() string {
	f.ids++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.ids)
}

// must stops the test when a fixture step fails; it takes the step's
// result and error.
func (f *fixture) must(_ any, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("fixture: %v", err)
	}
}

func (f *fixture) app(tenantRef string, spec tenant.ApplicationSpec) {
	f.t.Helper()
	f.must(f.dir.RegisterApplication(f.ctx, tenantRef, spec))
}

// sp returns the application's service principal in a tenant.
func (f *fixture) sp(t *testing.T, tenantID, appID string) tenant.ServicePrincipal {
	t.Helper()
	sp, err := f.db.GetServicePrincipal(f.ctx, tenantID, appID)
	if err != nil {
		t.Fatalf("GetServicePrincipal(%s, %s): %v", tenantID, appID, err)
	}
	return sp
}

func (f *fixture) user(t *testing.T, upn string) tenant.User {
	t.Helper()
	u, err := f.dir.FindUser(f.ctx, contosoID, upn)
	if err != nil {
		t.Fatalf("FindUser(%s): %v", upn, err)
	}
	return u
}

// assign stores an app role assignment directly, bypassing the Manager's
// checks, so that tables can build states the Manager would refuse.
func (f *fixture) assign(t *testing.T, resourceAppID, roleID, principalID string) {
	t.Helper()
	f.assignAs(t, resourceAppID, roleID, principalID, consent.PrincipalServicePrincipal)
}

func (f *fixture) assignUser(t *testing.T, resourceAppID, roleID, upn string) {
	t.Helper()
	f.assignAs(t, resourceAppID, roleID, f.user(t, upn).ID, consent.PrincipalUser)
}

func (f *fixture) assignAs(t *testing.T, resourceAppID, roleID, principalID, principalType string) {
	t.Helper()
	res := f.sp(t, contosoID, resourceAppID)
	err := f.db.CreateAppRoleAssignment(f.ctx, consent.AppRoleAssignment{
		ID: f.newID(), TenantID: contosoID, AppRoleID: roleID, PrincipalID: principalID,
		PrincipalType: principalType, ResourceID: res.ID, CreatedDateTime: epoch,
	})
	if err != nil {
		t.Fatalf("CreateAppRoleAssignment: %v", err)
	}
}

// grant stores a permission grant of the client on the Orders API directly.
func (f *fixture) grant(t *testing.T, clientAppID, consentType, principalID, scope string) {
	t.Helper()
	g := consent.PermissionGrant{
		ID: f.newID(), TenantID: contosoID, ClientID: f.sp(t, contosoID, clientAppID).ID,
		ConsentType: consentType, PrincipalID: principalID,
		ResourceID: f.sp(t, contosoID, ordersAppID).ID, Scope: scope,
	}
	if _, err := f.db.PutPermissionGrant(f.ctx, g, func(*consent.PermissionGrant) error {
		return errors.New("grant exists")
	}); err != nil {
		t.Fatalf("PutPermissionGrant: %v", err)
	}
}

func (f *fixture) updateSP(t *testing.T, tenantID, appID string, u tenant.ServicePrincipalUpdate) {
	t.Helper()
	if _, err := f.dir.UpdateServicePrincipal(f.ctx, tenantID, appID, u); err != nil {
		t.Fatalf("UpdateServicePrincipal: %v", err)
	}
}

// request names a token request the way the token endpoint receives it.
type request struct {
	flow     consent.Flow
	tenant   string // default contoso
	client   string
	resource string // default api://orders
	user     string // UPN
	scopes   []string
}

// decide resolves the request as the token endpoint does and judges it:
// consent.Resolve, then consent.Decide.
func (f *fixture) decide(t *testing.T, r request) (consent.Decision, error) {
	t.Helper()
	req := r.request()
	facts, err := consent.Resolve(f.ctx, f.db, req)
	if err != nil {
		t.Fatalf("Resolve(%+v): %v", req, err)
	}
	return consent.Decide(req, facts)
}

// request is the consent.Request r names, with the defaults filled in.
func (r request) request() consent.Request {
	if r.tenant == "" {
		r.tenant = contosoID
	}
	if r.resource == "" {
		r.resource = "api://orders"
	}
	if r.flow == "" {
		r.flow = consent.FlowClientCredentials
	}
	return consent.Request{Flow: r.flow, TenantRef: r.tenant, ClientAppID: r.client, ResourceName: r.resource,
		UserRef: r.user, Scopes: r.scopes, Default: len(r.scopes) == 0}
}

// denial returns the reason of a *consent.Denial, "" for nil, and fails the
// test on any other error.
func denial(t *testing.T, err error) consent.Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	var d *consent.Denial
	if !errors.As(err, &d) {
		t.Fatalf("Decide error = %v; want a *consent.Denial or nil", err)
	}
	return d.Reason
}

// explain asks consent.Explain the question decide answers.
func (f *fixture) explain(t *testing.T, r request) consent.Explanation {
	t.Helper()
	q := consent.Query{Flow: r.flow, TenantRef: r.tenant, ClientAppID: r.client, ResourceName: r.resource, UserRef: r.user, Scopes: r.scopes}
	if q.TenantRef == "" {
		q.TenantRef = contosoID
	}
	if q.ResourceName == "" {
		q.ResourceName = "api://orders"
	}
	ex, err := consent.Explain(f.ctx, f.db, q)
	if err != nil {
		t.Fatalf("Explain(%+v): %v", q, err)
	}
	return ex
}
