package seed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// epoch is the tests' fixed clock.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// exampleSeed is the seed the README documents.
var exampleSeed = filepath.Join("..", "testdata", "seed", "example.json")

// seedEnv is an empty directory with a Manager, for applying seeds.
type seedEnv struct {
	ctx context.Context
	db  *storage.DB
	dir *tenant.Directory
	mgr *consent.Manager
}

func newSeedEnv(t testing.TB) *seedEnv {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "issuer.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ids := 0
	clock := func() time.Time { return epoch }
	newID := func() string { ids++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", ids) }
	dir := tenant.NewDirectory(db, tenant.WithClock(clock), tenant.WithIDs(newID))
	return &seedEnv{ctx: context.Background(), db: db, dir: dir,
		mgr: consent.NewManager(dir, db, consent.WithClock(clock), consent.WithIDs(newID))}
}

func loadExample(t *testing.T) seed.Document {
	t.Helper()
	s, err := seed.Load(exampleSeed)
	if err != nil {
		t.Fatalf("Load(%s): %v", exampleSeed, err)
	}
	return s
}

func (e *seedEnv) apply(t *testing.T, s seed.Document) seed.Result {
	t.Helper()
	res, err := seed.Apply(e.ctx, e.dir, e.mgr, s)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// TestParseErrors: every fault names the file, the line and the path of
// the value, and wraps the sentinel that says what kind of fault it is.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantLine int
		wantPath string
		wantIs   error // nil: any error
	}{
		{"empty", ``, 0, "", nil},
		{"not an object", `[]`, 1, "", nil},
		{"syntax", "{\n\"tenants\": [\n{\"name\": \"x\",}\n]}", 3, "", nil},
		{"unknown top-level field", "{\n  \"tenant\": []\n}", 2, "", nil},
		{"unknown nested field", "{\"tenants\": [\n {\"name\": \"contoso\",\n  \"applications\": [\n   {\"displayName\": \"x\",\n    \"secret\": []}]}]}", 5, "tenants[0].applications[0]", nil},
		{"unknown field in second element", "{\"tenants\": [{\"name\": \"a\"},\n{\"name\": \"b\", \"domain\": \"b.com\"}]}", 2, "tenants[1]", nil},
		{"wrong type", "{\"tenants\": [{\"name\": \"a\",\n \"applications\": [{\"displayName\": \"x\",\n \"tokenVersion\": \"2\"}]}]}", 3, "tenants[0].applications[0].tokenVersion", nil},
		{"trailing data", "{\"tenants\": []}\n{}", 2, "", nil},
		{"bad tenant name", "{\"tenants\": [\n{\"name\": \"!!!\"}]}", 2, "tenants[0].name", tenant.ErrInvalid},
		{"password and its hash", "{\"tenants\": [{\"name\": \"a\", \"users\": [\n{\"userPrincipalName\": \"u@a.onmicrosoft.com\", \"password\": \"p\", \"passwordHash\": \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw\"}]}]}", 2, "tenants[0].users[0]", nil},
		{"password hash not argon2id", "{\"tenants\": [{\"name\": \"a\", \"users\": [\n{\"userPrincipalName\": \"u@a.onmicrosoft.com\", \"passwordHash\": \"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\"}]}]}", 2, "tenants[0].users[0].passwordHash", tenant.ErrInvalid},
		{"bad tenant id", "{\"tenants\": [\n{\"name\": \"a\", \"id\": \"nope\"}]}", 2, "tenants[0].id", tenant.ErrInvalid},
		{"duplicate tenant", "{\"tenants\": [{\"name\": \"a\"},\n{\"name\": \"A\"}]}", 2, "tenants[1]", nil},
		{"bad user consent", "{\"tenants\": [{\"name\": \"a\",\n\"userConsent\": \"maybe\"}]}", 2, "tenants[0].userConsent", tenant.ErrInvalid},
		{"app without name", "{\"tenants\": [{\"name\": \"a\", \"applications\": [\n{\"appId\": \"0000a001-0000-4000-8000-000000000001\"}]}]}", 2, "tenants[0].applications[0].displayName", nil},
		{"token version 3", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\",\n\"tokenVersion\": 3}]}]}", 2, "tenants[0].applications[0].tokenVersion", nil},
		{"certificate not PEM", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\",\n\"certificates\": [{\"pem\": \"-----BEGIN CERTIFICATE-----\"}]}]}]}", 2, "tenants[0].applications[0].certificates[0].pem", tenant.ErrInvalid},
		{"federated credentials", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\",\n\"federatedCredentials\": [{\"name\": \"gh\", \"issuer\": \"https://token.actions.githubusercontent.com\", \"subject\": \"repo:o/r:ref:refs/heads/main\"}]}]}]}", 2, "tenants[0].applications[0].federatedCredentials[0]", tenant.ErrInvalid},
		{"federated credential twice", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\",\n\"federatedCredentials\": [{\"name\": \"main\", \"issuer\": \"https://i.example\", \"subject\": \"s1\"}, {\"name\": \"MAIN\", \"issuer\": \"https://i.example\", \"subject\": \"s2\"}]}]}]}", 2, "tenants[0].applications[0].federatedCredentials[1].name", nil},
		{"secret without value", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"secrets\": [\n{\"displayName\": \"ci\"}]}]}]}", 2, "tenants[0].applications[0].secrets[0].value", nil},
		{"bad expiry", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"secrets\": [{\"value\": \"0123456789abcdef\",\n\"expires\": \"soon\"}]}]}]}", 2, "tenants[0].applications[0].secrets[0].expires", tenant.ErrInvalid},
		{"bad role value", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"appRoles\": [\n{\"value\": \"has space\"}]}]}]}", 2, "tenants[0].applications[0].appRoles[0].value", tenant.ErrInvalid},
		{"duplicate role", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"appRoles\": [{\"value\": \"R\"},\n{\"value\": \"r\"}]}]}]}", 2, "tenants[0].applications[0].appRoles[1].value", nil},
		{"bad scope type", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"scopes\": [{\"value\": \"s\",\n\"type\": \"Everyone\"}]}]}]}", 2, "tenants[0].applications[0].scopes[0].type", tenant.ErrInvalid},
		{"requirement naming nothing", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"requiredResourceAccess\": [\n{\"resource\": \"api://y\"}]}]}]}", 2, "tenants[0].applications[0].requiredResourceAccess[0]", nil},
		{"duplicate appId", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"appId\": \"0000a001-0000-4000-8000-000000000001\"},\n{\"displayName\": \"y\", \"appId\": \"0000A001-0000-4000-8000-000000000001\"}]}]}", 2, "tenants[0].applications[1].appId", nil},
		{"same name without appId", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\"},\n{\"displayName\": \"X\"}]}]}", 2, "tenants[0].applications[1]", nil},
		{"bad UPN", "{\"tenants\": [{\"name\": \"a\", \"users\": [\n{\"userPrincipalName\": \"alice\"}]}]}", 2, "tenants[0].users[0].userPrincipalName", tenant.ErrInvalid},
		{"web redirect over http", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\",\n\"webRedirectUris\": [\"http://a.example/cb\"]}]}]}", 2, "tenants[0].applications[0].webRedirectUris[0]", tenant.ErrInvalid},
		{"unknown directory role", "{\"tenants\": [{\"name\": \"a\", \"users\": [\n{\"userPrincipalName\": \"u@a.onmicrosoft.com\", \"directoryRoles\": [\"Janitor\"]}]}]}", 2, "tenants[0].users[0].directoryRoles[0]", tenant.ErrInvalid},
		{"service principal without app", "{\"tenants\": [{\"name\": \"a\", \"servicePrincipals\": [\n{\"id\": \"0000a001-0000-4000-8000-000000000001\"}]}]}", 2, "tenants[0].servicePrincipals[0].appId", nil},
		{"consent admin and user", "{\"tenants\": [{\"name\": \"a\", \"consents\": [\n{\"client\": \"x\", \"admin\": true, \"user\": \"u@a.onmicrosoft.com\"}]}]}", 2, "tenants[0].consents[0]", nil},
		{"consent neither", "{\"tenants\": [{\"name\": \"a\", \"consents\": [\n{\"client\": \"x\"}]}]}", 2, "tenants[0].consents[0]", nil},
		{"user consent without scopes", "{\"tenants\": [{\"name\": \"a\", \"consents\": [\n{\"client\": \"x\", \"user\": \"u@a.onmicrosoft.com\", \"resource\": \"api://y\"}]}]}", 2, "tenants[0].consents[0]", nil},
		{"admin scopes without resource", "{\"tenants\": [{\"name\": \"a\", \"consents\": [\n{\"client\": \"x\", \"admin\": true, \"scopes\": [\"s\"]}]}]}", 2, "tenants[0].consents[0]", nil},
		{"assignment to both", "{\"tenants\": [{\"name\": \"a\", \"roleAssignments\": [\n{\"resource\": \"api://y\", \"role\": \"R\", \"client\": \"x\", \"user\": \"u@a.onmicrosoft.com\"}]}]}", 2, "tenants[0].roleAssignments[0]", nil},
		{"owner both user and client", "{\"tenants\": [{\"name\": \"a\", \"applications\": [{\"displayName\": \"x\", \"owners\": [\n{\"user\": \"u@a.onmicrosoft.com\", \"client\": \"x\"}]}]}]}", 2, "tenants[0].applications[0].owners[0]", nil},
		{"owner neither", "{\"tenants\": [{\"name\": \"a\", \"servicePrincipals\": [{\"appId\": \"x\", \"owners\": [\n{}]}]}]}", 2, "tenants[0].servicePrincipals[0].owners[0]", nil},
		{"assignment without role", "{\"tenants\": [{\"name\": \"a\", \"roleAssignments\": [\n{\"resource\": \"api://y\", \"client\": \"x\"}]}]}", 2, "tenants[0].roleAssignments[0].role", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seed.Parse("seed.json", []byte(tc.doc))
			var se *seed.Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v; want a *Error", err)
			}
			if se.File != "seed.json" || se.Line != tc.wantLine || se.Path != tc.wantPath {
				t.Errorf("Parse error at %s:%d %q (%v); want seed.json:%d %q", se.File, se.Line, se.Path, err, tc.wantLine, tc.wantPath)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Parse = %v; want it to wrap %v", err, tc.wantIs)
			}
			if tc.wantLine > 0 && !strings.HasPrefix(err.Error(), fmt.Sprintf("seed.json:%d: ", tc.wantLine)) {
				t.Errorf("error %q does not begin with the file and line", err)
			}
		})
	}
}

// TestParseUnknownFieldNamed: the unknown field's name is in the error.
func TestParseUnknownFieldNamed(t *testing.T) {
	_, err := seed.Parse("x.json", []byte("{\"tenants\": [{\"name\": \"a\",\n\"displayNam\": \"A\"}]}"))
	if err == nil || !strings.Contains(err.Error(), `"displayNam"`) || !strings.HasPrefix(err.Error(), "x.json:2: tenants[0]: ") {
		t.Errorf("Parse = %v; want x.json:2: tenants[0]: … \"displayNam\"", err)
	}
}

// TestApplyTwice: the example seed creates each object once; applying
// it again finds everything in place and changes nothing.
func TestApplyTwice(t *testing.T) {
	e := newSeedEnv(t)
	s := loadExample(t)
	first := e.apply(t, s)
	want := seed.Result{
		Tenants:           seed.Count{Created: 2},
		Applications:      seed.Count{Created: 4},
		AppRoles:          seed.Count{Created: 3},
		Scopes:            seed.Count{Created: 2},
		Permissions:       seed.Count{Created: 3},
		Secrets:           seed.Count{Created: 3},
		Certificates:      seed.Count{Created: 1},
		Federated:         seed.Count{Created: 1},
		ServicePrincipals: seed.Count{Updated: 1}, // the API's home SP now requires assignment
		Users:             seed.Count{Created: 3},
		Groups:            seed.Count{Created: 3},
		GroupMembers:      seed.Count{Created: 5},
		Consents:          seed.Count{Created: 3},
		RoleAssignments:   seed.Count{Created: 3},
		Owners:            seed.Count{Created: 3},
	}
	if first != want {
		t.Errorf("first apply = %+v\nwant %+v", first, want)
	}
	before := e.snapshot(t)
	second := e.apply(t, s)
	if tot := second.Total(); tot.Created != 0 || tot.Updated != 0 || tot.Unchanged != first.Total().Created+first.Total().Updated {
		t.Errorf("second apply = %+v; want everything unchanged", second)
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("the second apply changed the directory:\n--- before\n%s\n--- after\n%s", before, after)
	}

	// One copy of each object.
	contoso := "c0000000-0000-4000-8000-00000000c001"
	counts := map[string]int{}
	apps, _ := e.dir.ListApplications(e.ctx, contoso)
	counts["contoso applications"] = len(apps)
	sps, _ := e.dir.ListServicePrincipals(e.ctx, contoso)
	counts["contoso service principals"] = len(sps)
	users, _ := e.dir.ListUsers(e.ctx, contoso)
	counts["contoso users"] = len(users)
	groups, _ := e.dir.ListGroups(e.ctx, contoso)
	counts["contoso groups"] = len(groups)
	as, _ := e.db.ListAppRoleAssignments(e.ctx, contoso)
	counts["contoso assignments"] = len(as)
	gs, _ := e.db.ListPermissionGrants(e.ctx, contoso)
	counts["contoso grants"] = len(gs)
	ts, _ := e.dir.ListTenants(e.ctx)
	counts["tenants"] = len(ts)
	api, err := e.dir.GetApplication(e.ctx, "0000a001-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	counts["API roles"], counts["API scopes"] = len(api.AppRoles), len(api.API.OAuth2PermissionScopes)
	for k, want := range map[string]int{
		"tenants": 2, "contoso applications": 3, "contoso service principals": 5, // and Microsoft Graph's "contoso users": 3,
		// Nightly Job: Orders.Read (consent) + Orders.Write; Partner: Orders.Read; alice and Order Approvers: Approver.
		"contoso assignments": 5, "contoso grants": 1, "API roles": 3, "API scopes": 2, "contoso groups": 3,
	} {
		if counts[k] != want {
			t.Errorf("%s = %d; want %d", k, counts[k], want)
		}
	}
}

// snapshot is the exported directory as JSON: what a reader can compare.
func (e *seedEnv) snapshot(t *testing.T) string {
	t.Helper()
	s, err := seed.Export(e.ctx, e.dir, e.mgr, "")
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExportApplyRoundTrip: an export applied to an empty database gives a
// directory whose export is the same document, ids included.
func TestExportApplyRoundTrip(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	exported := e.snapshot(t)
	if strings.Contains(exported, "secret-value") || strings.Contains(exported, "alice-password") {
		t.Errorf("the export contains a secret or a password:\n%s", exported)
	}
	s, err := seed.Parse("export.json", []byte(exported))
	if err != nil {
		t.Fatalf("the export does not parse: %v\n%s", err, exported)
	}
	if s.Comment != seed.ExportComment {
		t.Errorf("export $comment = %q; want ExportComment", s.Comment)
	}
	fresh := newSeedEnv(t)
	fresh.apply(t, s)
	if again := fresh.snapshot(t); again != exported {
		t.Errorf("export → apply → export differs:\n--- first\n%s\n--- second\n%s", exported, again)
	}

	one, err := seed.Export(e.ctx, e.dir, e.mgr, "FABRIKAM.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Tenants) != 1 || one.Tenants[0].Name != "Fabrikam" || one.Tenants[0].UserConsent != "disabled" {
		t.Errorf("Export(fabrikam) = %+v; want Fabrikam alone, user consent disabled", one.Tenants)
	}
	if _, err := seed.Export(e.ctx, e.dir, e.mgr, "nosuch.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Export(nosuch.com) = %v; want ErrNotFound", err)
	}
}

// TestApplyUpdates: a changed seed updates what it states and leaves
// alone what it omits.
func TestApplyUpdates(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	no, yes := false, true
	s := seed.Document{Tenants: []seed.Tenant{{
		Name: "Contoso", Domains: []string{"contoso.net"}, UserConsent: "disabled",
		Applications: []seed.Application{{
			AppID: "0000a001-0000-4000-8000-000000000001", DisplayName: "Orders", TokenVersion: 1,
			AppRoles: []seed.AppRole{{Value: "Orders.Write", IsEnabled: &no}, {Value: "Orders.Delete"}},
			Scopes:   []seed.Scope{{Value: "access_as_user", IsEnabled: &yes}},
		}},
		ServicePrincipals: []seed.ServicePrincipal{{AppID: "0000a001-0000-4000-8000-000000000001", AccountEnabled: &no}},
		Users:             []seed.User{{UserPrincipalName: "bob@contoso.com", AccountEnabled: &yes, Password: "bob-password-0001"}},
	}}}
	got := e.apply(t, s)
	want := seed.Result{
		Tenants:           seed.Count{Updated: 1},
		Applications:      seed.Count{Updated: 1},
		AppRoles:          seed.Count{Created: 1, Updated: 1},
		Scopes:            seed.Count{Unchanged: 1},
		ServicePrincipals: seed.Count{Updated: 1},
		Users:             seed.Count{Updated: 1},
	}
	if got != want {
		t.Errorf("apply = %+v\nwant %+v", got, want)
	}
	api, _ := e.dir.GetApplication(e.ctx, "0000a001-0000-4000-8000-000000000001")
	if r, _ := api.AppRoleByValue("Orders.Write"); r.IsEnabled || api.DisplayName != "Orders" || api.TokenVersion() != 1 || len(api.IdentifierURIs) != 1 {
		t.Errorf("API after update: %+v", api)
	}
	if again := e.apply(t, s).Total(); again.Created+again.Updated != 0 {
		t.Errorf("applying the update again = %+v; want nothing to change", again)
	}
}

// TestApplyRefusals: what the directory cannot reconcile is refused
// with the path of the object and the sentinel of the fault.
func TestApplyRefusals(t *testing.T) {
	const (
		contoso = "c0000000-0000-4000-8000-00000000c001"
		api     = "0000a001-0000-4000-8000-000000000001"
		partner = "0000a004-0000-4000-8000-000000000004"
	)
	tests := []struct {
		name     string
		seed     seed.Tenant
		wantPath string
		wantIs   error
	}{
		{"tenant domain under another id", seed.Tenant{Name: "Contoso", ID: "c0000000-0000-4000-8000-0000000000ff"},
			"tenants[0]", seed.ErrConflict},
		{"tenant id with another name", seed.Tenant{Name: "Other", ID: contoso},
			"tenants[0]", seed.ErrConflict},
		{"application homed elsewhere", seed.Tenant{Name: "Contoso", Applications: []seed.Application{{AppID: partner, DisplayName: "Partner"}}},
			"tenants[0].applications[0]", seed.ErrConflict},
		{"application object id", seed.Tenant{Name: "Contoso", Applications: []seed.Application{{AppID: api, ID: "0000a001-0000-4000-8000-0000000000ff", DisplayName: "Orders API"}}},
			"tenants[0].applications[0]", seed.ErrConflict},
		{"role member types", seed.Tenant{Name: "Contoso", Applications: []seed.Application{{AppID: api, DisplayName: "Orders API",
			AppRoles: []seed.AppRole{{Value: "Orders.Read", AllowedMemberTypes: []string{"User"}}}}}},
			"tenants[0].applications[0].appRoles[0]", seed.ErrConflict},
		{"secret keyId with another value", seed.Tenant{Name: "Fabrikam", Applications: []seed.Application{{AppID: partner, DisplayName: "Partner",
			Secrets: []seed.Secret{{KeyID: "0000d004-0000-4000-8000-000000000001", Value: "another-secret-value"}}}}},
			"tenants[0].applications[0].secrets[0]", seed.ErrConflict},
		{"secret too short", seed.Tenant{Name: "Fabrikam", Applications: []seed.Application{{AppID: partner, DisplayName: "Partner",
			Secrets: []seed.Secret{{Value: "short"}}}}},
			"tenants[0].applications[0].secrets[0]", tenant.ErrInvalid},
		{"user id", seed.Tenant{Name: "Contoso", Users: []seed.User{{UserPrincipalName: "alice@contoso.onmicrosoft.com", ID: "0000c001-0000-4000-8000-0000000000ff"}}},
			"tenants[0].users[0]", seed.ErrConflict},
		{"service principal id", seed.Tenant{Name: "Contoso", ServicePrincipals: []seed.ServicePrincipal{{AppID: api, ID: "0000a001-0000-4000-8000-0000000000ff"}}},
			"tenants[0].servicePrincipals[0]", seed.ErrConflict},
		{"service principal of a single-tenant app elsewhere", seed.Tenant{Name: "Fabrikam", ServicePrincipals: []seed.ServicePrincipal{{AppID: api}}},
			"tenants[0].servicePrincipals[0]", tenant.ErrNotMultiTenant},
		{"service principal by unknown name", seed.Tenant{Name: "Contoso", ServicePrincipals: []seed.ServicePrincipal{{AppID: "Nobody"}}},
			"tenants[0].servicePrincipals[0]", tenant.ErrInvalid},
		{"unknown resource", seed.Tenant{Name: "Contoso", Applications: []seed.Application{{AppID: api, DisplayName: "Orders API",
			RequiredResourceAccess: []seed.ResourceAccess{{Resource: "api://nowhere", Roles: []string{"X"}}}}}},
			"tenants[0].applications[0].requiredResourceAccess[0]", tenant.ErrNotFound},
		{"unknown scope in a grant", seed.Tenant{Name: "Contoso", Consents: []seed.Consent{{Client: "0000a002-0000-4000-8000-000000000002", Admin: true, Resource: "api://orders", Scopes: []string{"nope"}}}},
			"tenants[0].consents[0]", tenant.ErrInvalid},
		{"unknown user in a grant", seed.Tenant{Name: "Contoso", Consents: []seed.Consent{{Client: "0000a002-0000-4000-8000-000000000002", User: "zed@contoso.com", Resource: "api://orders", Scopes: []string{"access_as_user"}}}},
			"tenants[0].consents[0]", tenant.ErrNotFound},
		{"role for the wrong member type", seed.Tenant{Name: "Contoso", RoleAssignments: []seed.RoleAssignment{{Resource: "api://orders", Role: "Orders.Approver", Client: "0000a002-0000-4000-8000-000000000002"}}},
			"tenants[0].roleAssignments[0]", tenant.ErrInvalid},
		{"unknown role", seed.Tenant{Name: "Contoso", RoleAssignments: []seed.RoleAssignment{{Resource: "api://orders", Role: "Nope", User: "alice@contoso.onmicrosoft.com"}}},
			"tenants[0].roleAssignments[0]", tenant.ErrNotFound},
		{"unknown user as an owner", seed.Tenant{Name: "Contoso", Applications: []seed.Application{{AppID: api, DisplayName: "Orders API",
			Owners: []seed.Owner{{User: "zed@contoso.com"}}}}},
			"tenants[0].applications[0].owners[0]", tenant.ErrNotFound},
		{"a user of another tenant as an owner", seed.Tenant{Name: "Fabrikam", Applications: []seed.Application{{AppID: partner, DisplayName: "Partner",
			Owners: []seed.Owner{{User: "alice@contoso.onmicrosoft.com"}}}}},
			"tenants[0].applications[0].owners[0]", tenant.ErrNotFound},
		{"an owner client without a service principal in the tenant", seed.Tenant{Name: "Fabrikam", ServicePrincipals: []seed.ServicePrincipal{{AppID: partner,
			Owners: []seed.Owner{{Client: "0000a002-0000-4000-8000-000000000002"}}}}},
			"tenants[0].servicePrincipals[0].owners[0]", tenant.ErrNotFound},
		{"an owner by unknown name", seed.Tenant{Name: "Contoso", ServicePrincipals: []seed.ServicePrincipal{{AppID: api,
			Owners: []seed.Owner{{Client: "Nobody"}}}}},
			"tenants[0].servicePrincipals[0].owners[0]", tenant.ErrInvalid},
	}
	// Each refusal happens before its seed writes anything, so the cases
	// share one directory; the last check below makes sure of it.
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	before := e.snapshot(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seed.Apply(e.ctx, e.dir, e.mgr, seed.Document{Tenants: []seed.Tenant{tc.seed}})
			var se *seed.Error
			if !errors.As(err, &se) || se.Path != tc.wantPath || !errors.Is(err, tc.wantIs) {
				t.Fatalf("Apply = %v; want a *Error at %s wrapping %v", err, tc.wantPath, tc.wantIs)
			}
			if se.File != "" || !strings.HasPrefix(err.Error(), "seed: "+tc.wantPath+": ") {
				t.Errorf("error %q: want it to begin with seed: %s", err, tc.wantPath)
			}
		})
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("refused seeds changed the directory:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// TestApplyAllOrNothing: a seed refused while applying, after it has
// created and changed objects, leaves the directory as it was: the seed is
// one transaction of the store.
func TestApplyAllOrNothing(t *testing.T) {
	const partner = "0000a004-0000-4000-8000-000000000004"
	newco := seed.Tenant{Name: "Newco",
		Applications: []seed.Application{{DisplayName: "Newco API", IdentifierURIs: []string{"api://newco"}}},
		Users:        []seed.User{{UserPrincipalName: "ann@newco.onmicrosoft.com", DisplayName: "Ann"}}}
	tests := []struct {
		name     string
		seed     seed.Document
		wantPath string
	}{
		{"a new tenant, then an application homed elsewhere", seed.Document{Tenants: []seed.Tenant{newco,
			{Name: "Contoso", Applications: []seed.Application{{AppID: partner, DisplayName: "Partner"}}}}},
			"tenants[1].applications[0]"},
		{"a renamed application, then an unknown user in a grant", seed.Document{Tenants: []seed.Tenant{{Name: "Contoso",
			Applications: []seed.Application{{AppID: "0000a001-0000-4000-8000-000000000001", DisplayName: "Orders API v2"}},
			Consents:     []seed.Consent{{Client: "0000a002-0000-4000-8000-000000000002", User: "zed@contoso.com", Resource: "api://orders", Scopes: []string{"access_as_user"}}}}}},
			"tenants[0].consents[0]"},
	}
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	before := e.snapshot(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := seed.Apply(e.ctx, e.dir, e.mgr, tc.seed)
			var se *seed.Error
			if !errors.As(err, &se) || se.Path != tc.wantPath {
				t.Fatalf("Apply = %v; want a *Error at %s", err, tc.wantPath)
			}
			if res != (seed.Result{}) {
				t.Errorf("Result of a refused seed = %+v, want nothing applied", res)
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("a refused seed changed the directory:\n--- before\n%s\n--- after\n%s", before, after)
			}
		})
	}
}

// TestApplyPasswordHash: a user's passwordHash is stored as it is, so the
// password signs in; applying the same hash again changes nothing, and
// another hash replaces it.
func TestApplyPasswordHash(t *testing.T) {
	const contoso = "c0000000-0000-4000-8000-00000000c001"
	e := newSeedEnv(t)
	hash := func(pw string) string {
		h, err := tenant.HashPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	doc := func(h string) seed.Document {
		return seed.Document{Tenants: []seed.Tenant{{Name: "Contoso", ID: contoso,
			Users: []seed.User{{UserPrincipalName: "ann@contoso.onmicrosoft.com", PasswordHash: h}}}}}
	}
	first, second := hash("first-password"), hash("second-password")
	steps := []struct {
		name        string
		hash        string
		wantCreated int
		wantUpdated int
		password    string
	}{
		{"new user", first, 1, 0, "first-password"},
		{"same hash again", first, 0, 0, "first-password"},
		{"another hash", second, 0, 1, "second-password"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := e.apply(t, doc(st.hash))
			if res.Users.Created != st.wantCreated || res.Users.Updated != st.wantUpdated {
				t.Errorf("users: %+v, want %d created and %d updated", res.Users, st.wantCreated, st.wantUpdated)
			}
			u, err := e.dir.FindUser(e.ctx, contoso, "ann@contoso.onmicrosoft.com")
			if err != nil {
				t.Fatal(err)
			}
			if !u.CheckPassword(st.password) {
				t.Errorf("the password of the seed's hash does not sign in")
			}
		})
	}
}

// TestApplyAccessTokenLifetime: an application's accessTokenLifetime sets
// its token lifetime policy, is exported, applies again unchanged, and "0"
// removes it; a lifetime out of Entra's bounds is refused before anything
// is written.
func TestApplyAccessTokenLifetime(t *testing.T) {
	const app = "0000a0ff-0000-4000-8000-000000000001"
	e := newSeedEnv(t)
	doc := func(lifetime string) seed.Document {
		return seed.Document{Tenants: []seed.Tenant{{Name: "Contoso",
			Applications: []seed.Application{{AppID: app, DisplayName: "API", AccessTokenLifetime: lifetime}}}}}
	}
	steps := []struct {
		name        string
		lifetime    string
		wantCreated int
		wantUpdated int
		want        time.Duration
	}{
		{"new application with a policy", "4h", 1, 0, 4 * time.Hour},
		{"the same policy", "240m", 0, 0, 4 * time.Hour},
		{"left out: left as it is", "", 0, 0, 4 * time.Hour},
		{"removed", "0", 0, 1, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := e.apply(t, doc(st.lifetime))
			if res.Applications.Created != st.wantCreated || res.Applications.Updated != st.wantUpdated {
				t.Errorf("applications %+v; want %d created, %d updated", res.Applications, st.wantCreated, st.wantUpdated)
			}
			a, err := e.dir.GetApplication(e.ctx, app)
			if err != nil {
				t.Fatal(err)
			}
			var got time.Duration
			if a.TokenLifetimePolicy != nil {
				got = a.TokenLifetimePolicy.AccessTokenLifetime
			}
			if got != st.want {
				t.Errorf("policy %v; want %v", got, st.want)
			}
			if want := st.want > 0; strings.Contains(e.snapshot(t), `"accessTokenLifetime"`) != want {
				t.Errorf("export shows a policy: %v; want %v", !want, want)
			}
		})
	}
	_, err := seed.Apply(e.ctx, e.dir, e.mgr, doc("5m"))
	var se *seed.Error
	if !errors.As(err, &se) || se.Path != "tenants[0].applications[0].accessTokenLifetime" || !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("a 5m policy: %v; want a *seed.Error at tenants[0].applications[0].accessTokenLifetime", err)
	}
}

// TestApplyErrorLine: a fault found while applying a parsed seed names
// the file and the line of the object.
func TestApplyErrorLine(t *testing.T) {
	e := newSeedEnv(t)
	doc := "{\"tenants\": [\n  {\"name\": \"contoso\",\n   \"consents\": [\n     {\"client\": \"Nobody\", \"admin\": true}]}]}"
	s, err := seed.Parse("bad.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = seed.Apply(e.ctx, e.dir, e.mgr, s)
	if err == nil || !strings.HasPrefix(err.Error(), "bad.json:4: tenants[0].consents[0]: ") {
		t.Errorf("Apply = %v; want bad.json:4: tenants[0].consents[0]: …", err)
	}
}

// TestApplyFromFileWithExpiry: an RFC 3339 expiry in the past is
// refused; a lifetime sets the end date from the directory's clock.
func TestApplyExpiry(t *testing.T) {
	e := newSeedEnv(t)
	tests := []struct {
		name    string
		expires string
		wantEnd time.Time
		wantErr bool
	}{
		{"lifetime in days", "2d", epoch.Add(48 * time.Hour), false},
		{"time", "2026-02-01T00:00:00Z", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"time in the past", "2025-01-01T00:00:00Z", time.Time{}, true},
		{"never", "", time.Time{}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := fmt.Sprintf("expiry-test-secret-%04d", i)
			s := seed.Document{Tenants: []seed.Tenant{{Name: "Expiry", Applications: []seed.Application{{
				DisplayName: "App", Secrets: []seed.Secret{{Value: value, Expires: tc.expires}},
			}}}}}
			_, err := seed.Apply(e.ctx, e.dir, e.mgr, s)
			if tc.wantErr {
				if err == nil {
					t.Fatal("Apply = nil; want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			apps, _ := e.dir.ListApplications(e.ctx, "expiry.onmicrosoft.com")
			for _, c := range apps[0].PasswordCredentials {
				if c.Matches(value) && !c.EndDateTime.Equal(tc.wantEnd) {
					t.Errorf("end = %v; want %v", c.EndDateTime, tc.wantEnd)
				}
			}
		})
	}
}

// TestExampleSeedIsDocumented: the README shows the example seed's
// properties; this keeps the example valid.
func TestExampleSeedParses(t *testing.T) {
	raw, err := os.ReadFile(exampleSeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Parse(exampleSeed, raw); err != nil {
		t.Fatal(err)
	}
}

// TestApplyOptionalClaims: a seed sets an application's optionalClaims (the
// manifest's shape) and a user's attributes; export gives them back; the
// same seed again changes nothing; an unknown claim or a bad country is
// refused.
func TestApplyOptionalClaims(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	const api = "0000a001-0000-4000-8000-000000000001"
	s := seed.Document{Tenants: []seed.Tenant{{
		Name: "Contoso",
		Applications: []seed.Application{{AppID: api, DisplayName: "Orders API", OptionalClaims: &tenant.OptionalClaims{
			AccessToken: []tenant.OptionalClaim{{Name: "idtyp"}, {Name: "email", Essential: true}},
			IDToken:     []tenant.OptionalClaim{{Name: "login_hint"}},
		}}},
		Users: []seed.User{{UserPrincipalName: "alice@contoso.onmicrosoft.com", Mail: "alice@example.com", GivenName: "Alice", Surname: "Smith", Country: "FR"}},
	}}}
	if got := e.apply(t, s); got.Applications.Updated != 1 || got.Users.Updated != 1 {
		t.Errorf("apply = %+v; want the application and the user updated", got)
	}
	if again := e.apply(t, s).Total(); again.Created+again.Updated != 0 {
		t.Errorf("applying it again = %+v; want nothing to change", again)
	}
	app, _ := e.dir.GetApplication(e.ctx, api)
	if !app.OptionalClaim(tenant.TokenTypeAccess, "idtyp") || !app.OptionalClaim(tenant.TokenTypeID, "login_hint") || app.OptionalClaim(tenant.TokenTypeID, "idtyp") {
		t.Errorf("optional claims after apply: %+v", app.OptionalClaims)
	}
	exported := e.snapshot(t)
	for _, want := range []string{`"optionalClaims"`, `"name": "idtyp"`, `"essential": true`, `"mail": "alice@example.com"`, `"country": "FR"`, `"surname": "Smith"`} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %s", want)
		}
	}
	for _, bad := range []seed.Tenant{
		{Name: "Contoso", Applications: []seed.Application{{AppID: api, DisplayName: "Orders API",
			OptionalClaims: &tenant.OptionalClaims{AccessToken: []tenant.OptionalClaim{{Name: "xms_pdl"}}}}}},
		{Name: "Contoso", Users: []seed.User{{UserPrincipalName: "alice@contoso.onmicrosoft.com", Country: "France"}}},
	} {
		if _, err := seed.Apply(e.ctx, e.dir, e.mgr, seed.Document{Tenants: []seed.Tenant{bad}}); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("Apply(%+v) = %v; want ErrInvalid", bad, err)
		}
	}
}
