// Package conformance is the test suite every issuer.Backend runs, in the
// manner of dex's storage/conformance: a store's own tests call Run with a
// constructor of fresh, empty backends, and the suite checks the contract
// issuer.Backend documents: every method, the not-found / exists / invalid
// errors, cascading deletes, the uniqueness of domains, appIds, identifier
// URIs and user principal names, object ids unique across a tenant's
// users, service principals and groups, group memberships (no cycle, no
// group in a Microsoft 365 group, even when two nestings race),
// refresh-token rotation under concurrent redemption (exactly one
// winner), atomicity of failed writes, read-after-write across
// goroutines, and the read view consent.Resolve reads a token request's
// facts from (one snapshot).
//
// It tests behaviour through the interface only. What is particular to one
// store (bbolt's file layout, migrations, damaged files) stays in that
// store's white-box tests.
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) issuer.Backend {
//			db := openFreshDB(t) // closed by t.Cleanup
//			return db
//		})
//	}
package conformance

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// Run runs the suite. newBackend returns a new, empty backend for each
// test and arranges (t.Cleanup) to close it; it may also check the store's
// own consistency then.
func Run(t *testing.T, newBackend func(t *testing.T) issuer.Backend) {
	for _, tc := range append([]conformanceTest{
		{"Ping", testPing},
		{"Tenants", testTenants},
		{"Applications", testApplications},
		{"ServicePrincipals", testServicePrincipals},
		{"FindServicePrincipal", testFindServicePrincipal},
		{"Users", testUsers},
		{"Bulk", testBulk},
		{"AppRoleAssignments", testAppRoleAssignments},
		{"PermissionGrants", testPermissionGrants},
		{"CascadeDeleteUser", testCascadeDeleteUser},
		{"CascadeDeleteServicePrincipal", testCascadeDeleteServicePrincipal},
		{"CascadeDeleteApplication", testCascadeDeleteApplication},
		{"CascadeDeleteTenant", testCascadeDeleteTenant},
		{"SigningKeys", testSigningKeys},
		{"FirstSigningKey", testFirstSigningKey},
		{"Settings", testSettings},
		{"RefreshTokens", testRefreshTokens},
		{"RefreshTokenReplay", testRefreshTokenReplay},
		{"RefreshTokenReplayLongFamily", testRefreshTokenReplayLongFamily},
		{"RefreshTokenConcurrentRotation", testRefreshTokenConcurrentRotation},
		{"UpdaterErrors", testUpdaterErrors},
		{"ValuesAreCopies", testValuesAreCopies},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ReadAfterWrite", testReadAfterWrite},
		{"View", testView},
		{"RefreshTokenRenew", testRefreshTokenRenew},
		{"RefreshTokenPruneMany", testRefreshTokenPruneMany},
		{"PasswordChangeRevokesMany", testPasswordChangeRevokesMany},
		{"DeleteTenantOfManyApplications", testDeleteTenantOfManyApplications},
		{"Groups", testGroups},
		{"GroupMembers", testGroupMembers},
		{"GroupAssignments", testGroupAssignments},
		{"CascadeDeleteMembers", testCascadeDeleteMembers},
		{"GroupsView", testGroupsView},
		{"ConcurrentNesting", testConcurrentNesting},
		{"DeleteManyMemberships", testDeleteManyMemberships},
		{"DeletePrincipalOfManyAssignments", testDeletePrincipalOfManyAssignments},
	}, append(refreshTokenRevocationTests(), deleteManyRefreshTokensTests()...)...) {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, &fixture{t: t, b: newBackend(t), ctx: t.Context()})
		})
	}
}

// conformanceTest is one test of the suite, run on a new backend.
type conformanceTest struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// t0 is the fixtures' time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Fixed ids: tenants and applications get readable GUIDs, other objects
// objectID(...), a GUID derived from their names.
const (
	tenantA = "aaaaaaaa-0000-4000-8000-000000000001"
	tenantB = "bbbbbbbb-0000-4000-8000-000000000002"
	tenantC = "cccccccc-0000-4000-8000-000000000003"

	appAPI    = "0a000000-0000-4000-8000-000000000001"
	appClient = "0b000000-0000-4000-8000-000000000002"
	appMulti  = "0c000000-0000-4000-8000-000000000003"
	appOther  = "0d000000-0000-4000-8000-000000000004"

	roleRead  = "1a000000-0000-4000-8000-000000000001"
	roleWrite = "1b000000-0000-4000-8000-000000000002"
)

// objectID returns a deterministic GUID for the named object.
func objectID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func spID(tenantID, appID string) string { return objectID("sp", tenantID, appID) }

func newTenant(id string, domains ...string) tenant.Tenant {
	return tenant.Tenant{ID: id, DisplayName: "Tenant " + id[:8], Domains: domains,
		UserConsent: tenant.UserConsentAllowed, CreatedDateTime: t0}
}

// newApp is a single-tenant application shaped as tenant.Directory
// registers one.
func newApp(appID, home string, uris ...string) tenant.Application {
	return tenant.Application{
		ID: objectID("app", appID), AppID: appID, HomeTenantID: home, DisplayName: "App " + appID[:8],
		SignInAudience: tenant.AudienceMyOrg, IdentifierURIs: uris,
		AppRoles: []tenant.AppRole{
			{ID: roleRead, Value: "Read", DisplayName: "Read", AllowedMemberTypes: []string{tenant.MemberTypeApplication}, IsEnabled: true},
			{ID: roleWrite, Value: "Write", DisplayName: "Write", AllowedMemberTypes: []string{tenant.MemberTypeApplication, tenant.MemberTypeUser}, IsEnabled: true},
		},
		CreatedDateTime: t0,
	}
}

func multiTenant(a tenant.Application) tenant.Application {
	a.SignInAudience = tenant.AudienceMultipleOrgs
	return a
}

func newSP(tenantID string, app tenant.Application) tenant.ServicePrincipal {
	return tenant.ServicePrincipal{ID: spID(tenantID, app.AppID), AppID: app.AppID, TenantID: tenantID,
		AppOwnerOrganizationID: app.HomeTenantID, DisplayName: app.DisplayName, AccountEnabled: true}
}

func newUser(tenantID, upn string) tenant.User {
	return tenant.User{ID: objectID("user", tenantID, strings.ToLower(upn)), TenantID: tenantID, UserPrincipalName: upn,
		DisplayName: upn, AccountEnabled: true, CreatedDateTime: t0,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}
}

func newAssignment(tenantID, principalID, principalType, resourceID, roleID string) consent.AppRoleAssignment {
	return consent.AppRoleAssignment{ID: objectID("assignment", tenantID, principalID, resourceID, roleID),
		TenantID: tenantID, AppRoleID: roleID, PrincipalID: principalID, PrincipalType: principalType,
		PrincipalDisplayName: "principal", ResourceID: resourceID, ResourceDisplayName: "resource", CreatedDateTime: t0}
}

func newGrant(tenantID, clientID, resourceID, consentType, principalID, scope string) consent.PermissionGrant {
	return consent.PermissionGrant{ID: objectID("grant", tenantID, clientID, resourceID, consentType, principalID),
		TenantID: tenantID, ClientID: clientID, ConsentType: consentType, PrincipalID: principalID,
		ResourceID: resourceID, Scope: scope}
}

// fixture is one test's backend with helpers that fail the test on error.
type fixture struct {
	t   *testing.T
	b   issuer.Backend
	ctx context.Context
}

func (f *fixture) must(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

func (f *fixture) tenant(id string, domains ...string) tenant.Tenant {
	f.t.Helper()
	tn := newTenant(id, domains...)
	f.must("CreateTenant "+id, f.b.CreateTenant(f.ctx, tn))
	return tn
}

// app registers app with its home service principal and returns that.
func (f *fixture) app(app tenant.Application) tenant.ServicePrincipal {
	f.t.Helper()
	sp := newSP(app.HomeTenantID, app)
	f.must("CreateApplication "+app.AppID, f.b.CreateApplication(f.ctx, app, sp))
	return sp
}

// sp instantiates a stored application in a tenant.
func (f *fixture) sp(tenantID string, app tenant.Application) tenant.ServicePrincipal {
	f.t.Helper()
	sp := newSP(tenantID, app)
	f.must("CreateServicePrincipal "+app.AppID+" in "+tenantID, f.b.CreateServicePrincipal(f.ctx, sp))
	return sp
}

func (f *fixture) user(tenantID, upn string) tenant.User {
	f.t.Helper()
	u := newUser(tenantID, upn)
	f.must("CreateUser "+upn, f.b.CreateUser(f.ctx, u))
	return u
}

func (f *fixture) assign(tenantID, principalID, principalType, resourceID, roleID string) consent.AppRoleAssignment {
	f.t.Helper()
	a := newAssignment(tenantID, principalID, principalType, resourceID, roleID)
	f.must("CreateAppRoleAssignment", f.b.CreateAppRoleAssignment(f.ctx, a))
	return a
}

func (f *fixture) grant(tenantID, clientID, resourceID, consentType, principalID, scope string) consent.PermissionGrant {
	f.t.Helper()
	g, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantID, clientID, resourceID, consentType, principalID, scope), nil)
	f.must("PutPermissionGrant", err)
	return g
}

// wantErr checks err against a sentinel; a nil want means success.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: got error %v; want success", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got error %v; want one wrapping %v", what, err, want)
	}
}

// errCase is one refused call: run returns its error, want the sentinel.
type errCase struct {
	name string
	run  func() error
	want error
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.run(), tc.want) })
	}
}

// same reports whether a value read back is the one written. Stores need
// not tell a nil slice from an empty one (JSON, Graph and every caller
// treat them alike), so both sides are normalised first.
func same(got, want any) bool {
	return reflect.DeepEqual(normalized(got), normalized(want))
}

// wantSame fails the test when got is not the value written.
func wantSame(t testing.TB, what string, got, want any) {
	t.Helper()
	if !same(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// normalized returns a deep copy of v with every nil slice made empty.
func normalized(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	normalize(out, rv)
	return out.Interface()
}

func normalize(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Slice:
		n := src.Len()
		dst.Set(reflect.MakeSlice(src.Type(), n, n))
		for i := range n {
			normalize(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		dst.Set(src) // unexported fields (time.Time's) as they are
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				normalize(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		normalize(p.Elem(), src.Elem())
		dst.Set(p)
	default:
		dst.Set(src)
	}
}

// byID sorts a listing by the id key, so that listings compare whatever
// order a store returns them in.
func byID[T any](items []T, id func(T) string) []T {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return out
}

func tenantID(t tenant.Tenant) string                   { return t.ID }
func appIDOf(a tenant.Application) string               { return a.AppID }
func spIDOf(sp tenant.ServicePrincipal) string          { return sp.ID }
func userIDOf(u tenant.User) string                     { return u.ID }
func assignmentIDOf(a consent.AppRoleAssignment) string { return a.ID }
func grantIDOf(g consent.PermissionGrant) string        { return g.ID }

func testPing(t *testing.T, f *fixture) {
	if err := f.b.Ping(f.ctx); err != nil {
		t.Errorf("Ping of a new backend: %v", err)
	}
}
