package tenant_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

const (
	fixedRoleID  = "b0000000-0000-4000-8000-000000000001"
	fixedScopeID = "b0000000-0000-4000-8000-000000000002"
)

func TestAddAppRole(t *testing.T) {
	tests := []struct {
		name    string
		spec    tenant.AppRoleSpec
		want    tenant.AppRole // ID checked only when the spec fixes it
		wantErr error
	}{
		{name: "defaults: an enabled application permission",
			spec: tenant.AppRoleSpec{Value: "Orders.Read"},
			want: tenant.AppRole{Value: "Orders.Read", DisplayName: "Orders.Read", Description: "Orders.Read",
				AllowedMemberTypes: []string{"Application"}, IsEnabled: true}},
		{name: "member types canonicalised, fixed id, disabled",
			spec: tenant.AppRoleSpec{Value: "Orders.All", DisplayName: "All orders", Description: "Everything",
				AllowedMemberTypes: []string{"user", "APPLICATION", "User"}, Disabled: true, ID: strings.ToUpper(fixedRoleID)},
			want: tenant.AppRole{ID: fixedRoleID, Value: "Orders.All", DisplayName: "All orders", Description: "Everything",
				AllowedMemberTypes: []string{"User", "Application"}}},
		{name: "punctuation Graph allows", spec: tenant.AppRoleSpec{Value: "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z"},
			want: tenant.AppRole{Value: "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z", DisplayName: "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z",
				Description: "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z", AllowedMemberTypes: []string{"Application"}, IsEnabled: true}},
		{name: "120 characters", spec: tenant.AppRoleSpec{Value: strings.Repeat("r", 120), DisplayName: "long"},
			want: tenant.AppRole{Value: strings.Repeat("r", 120), DisplayName: "long", Description: "long",
				AllowedMemberTypes: []string{"Application"}, IsEnabled: true}},
		{name: "empty value", spec: tenant.AppRoleSpec{Value: " "}, wantErr: tenant.ErrInvalid},
		{name: "whitespace", spec: tenant.AppRoleSpec{Value: "Orders Read"}, wantErr: tenant.ErrInvalid},
		{name: "tab", spec: tenant.AppRoleSpec{Value: "Orders\tRead"}, wantErr: tenant.ErrInvalid},
		{name: "121 characters", spec: tenant.AppRoleSpec{Value: strings.Repeat("r", 121)}, wantErr: tenant.ErrInvalid},
		{name: "leading dot", spec: tenant.AppRoleSpec{Value: ".Orders"}, wantErr: tenant.ErrInvalid},
		{name: "double quote", spec: tenant.AppRoleSpec{Value: `Orders"Read`}, wantErr: tenant.ErrInvalid},
		{name: "non-ASCII", spec: tenant.AppRoleSpec{Value: "Orders.Lesen·"}, wantErr: tenant.ErrInvalid},
		{name: "unknown member type", spec: tenant.AppRoleSpec{Value: "x", AllowedMemberTypes: []string{"Group"}}, wantErr: tenant.ErrInvalid},
		{name: "malformed id", spec: tenant.AppRoleSpec{Value: "x", ID: "1"}, wantErr: tenant.ErrInvalid},
		{name: "value taken", spec: tenant.AppRoleSpec{Value: "Existing"}, wantErr: tenant.ErrExists},
		{name: "value taken in another case", spec: tenant.AppRoleSpec{Value: "EXISTING"}, wantErr: tenant.ErrExists},
		{name: "id taken by a scope", spec: tenant.AppRoleSpec{Value: "x", ID: fixedScopeID}, wantErr: tenant.ErrExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.tenant("Contoso")
			app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Orders API"})
			if _, err := e.dir.AddAppRole(e.ctx, app.AppID, tenant.AppRoleSpec{Value: "Existing"}); err != nil {
				t.Fatalf("AddAppRole(Existing): %v", err)
			}
			if _, err := e.dir.AddScope(e.ctx, app.AppID, tenant.ScopeSpec{Value: "scope", ID: fixedScopeID}); err != nil {
				t.Fatalf("AddScope: %v", err)
			}
			got, err := e.dir.AddAppRole(e.ctx, app.AppID, tc.spec)
			if !errIs(err, tc.wantErr) {
				t.Fatalf("AddAppRole(%+v) error = %v; want %v", tc.spec, err, tc.wantErr)
			}
			stored, _ := e.dir.GetApplication(e.ctx, app.AppID)
			if err != nil {
				if len(stored.AppRoles) != 1 {
					t.Errorf("after a refused AddAppRole the application has %d roles; want 1", len(stored.AppRoles))
				}
				return
			}
			if tc.want.ID == "" {
				if !tenant.IsGUID(got.ID) {
					t.Errorf("AddAppRole id = %q; want a GUID", got.ID)
				}
				tc.want.ID = got.ID
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AddAppRole(%+v) = %+v; want %+v", tc.spec, got, tc.want)
			}
			if r, ok := stored.AppRoleByValue(tc.want.Value); !ok || !reflect.DeepEqual(r, tc.want) {
				t.Errorf("stored role = %+v, %v; want %+v", r, ok, tc.want)
			}
		})
	}
}

func TestAddScope(t *testing.T) {
	tests := []struct {
		name    string
		spec    tenant.ScopeSpec
		want    tenant.PermissionScope
		wantErr error
	}{
		{name: "defaults: type User, enabled",
			spec: tenant.ScopeSpec{Value: "access_as_user", UserConsentDisplayName: "Access as you"},
			want: tenant.PermissionScope{Value: "access_as_user", Type: "User", AdminConsentDisplayName: "access_as_user",
				AdminConsentDescription: "access_as_user", UserConsentDisplayName: "Access as you", IsEnabled: true}},
		{name: "Admin type in any case, fixed id, disabled",
			spec: tenant.ScopeSpec{Value: "Orders.ReadWrite.All", Type: "admin", AdminConsentDisplayName: "Read and write all orders",
				AdminConsentDescription: "d", UserConsentDescription: "u", Disabled: true, ID: fixedRoleID},
			want: tenant.PermissionScope{ID: fixedRoleID, Value: "Orders.ReadWrite.All", Type: "Admin",
				AdminConsentDisplayName: "Read and write all orders", AdminConsentDescription: "d", UserConsentDescription: "u"}},
		{name: "unknown type", spec: tenant.ScopeSpec{Value: "x", Type: "Everyone"}, wantErr: tenant.ErrInvalid},
		{name: "whitespace", spec: tenant.ScopeSpec{Value: "read all"}, wantErr: tenant.ErrInvalid},
		{name: "leading dot", spec: tenant.ScopeSpec{Value: ".default"}, wantErr: tenant.ErrInvalid},
		{name: "empty", spec: tenant.ScopeSpec{}, wantErr: tenant.ErrInvalid},
		{name: "121 characters", spec: tenant.ScopeSpec{Value: strings.Repeat("s", 121)}, wantErr: tenant.ErrInvalid},
		{name: "value taken in another case", spec: tenant.ScopeSpec{Value: "SCOPE"}, wantErr: tenant.ErrExists},
		{name: "a role's value is free for a scope", spec: tenant.ScopeSpec{Value: "Existing"},
			want: tenant.PermissionScope{Value: "Existing", Type: "User", AdminConsentDisplayName: "Existing",
				AdminConsentDescription: "Existing", IsEnabled: true}},
		{name: "id taken by a role", spec: tenant.ScopeSpec{Value: "x", ID: fixedScopeID}, wantErr: tenant.ErrExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.tenant("Contoso")
			app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Orders API"})
			if _, err := e.dir.AddAppRole(e.ctx, app.AppID, tenant.AppRoleSpec{Value: "Existing", ID: fixedScopeID}); err != nil {
				t.Fatalf("AddAppRole: %v", err)
			}
			if _, err := e.dir.AddScope(e.ctx, app.AppID, tenant.ScopeSpec{Value: "scope"}); err != nil {
				t.Fatalf("AddScope(scope): %v", err)
			}
			got, err := e.dir.AddScope(e.ctx, app.AppID, tc.spec)
			if !errIs(err, tc.wantErr) {
				t.Fatalf("AddScope(%+v) error = %v; want %v", tc.spec, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.want.ID == "" {
				tc.want.ID = got.ID
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AddScope(%+v) = %+v; want %+v", tc.spec, got, tc.want)
			}
			stored, _ := e.dir.GetApplication(e.ctx, app.AppID)
			if s, ok := stored.ScopeByValue(tc.want.Value); !ok || !reflect.DeepEqual(s, tc.want) {
				t.Errorf("stored scope = %+v, %v; want %+v", s, ok, tc.want)
			}
		})
	}
}

func TestEnableAndRemovePermissions(t *testing.T) {
	e := newEnv(t)
	e.tenant("Contoso")
	app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Orders API"})
	if _, err := e.dir.AddAppRole(e.ctx, app.AppID, tenant.AppRoleSpec{Value: "Orders.Read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AddScope(e.ctx, app.AppID, tenant.ScopeSpec{Value: "access_as_user"}); err != nil {
		t.Fatal(err)
	}

	// Graph refuses to delete an enabled permission.
	if err := e.dir.RemoveAppRole(e.ctx, app.AppID, "Orders.Read"); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("RemoveAppRole(enabled) error = %v; want ErrInvalid", err)
	}
	if err := e.dir.RemoveScope(e.ctx, app.AppID, "access_as_user"); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("RemoveScope(enabled) error = %v; want ErrInvalid", err)
	}
	if r, err := e.dir.SetAppRoleEnabled(e.ctx, app.AppID, "Orders.Read", false); err != nil || r.IsEnabled {
		t.Errorf("SetAppRoleEnabled(false) = %+v, %v; want a disabled role", r, err)
	}
	if s, err := e.dir.SetScopeEnabled(e.ctx, app.AppID, "ACCESS_AS_USER", false); err != nil || s.IsEnabled {
		t.Errorf("SetScopeEnabled(false) = %+v, %v; want a disabled scope", s, err)
	}
	stored, _ := e.dir.GetApplication(e.ctx, app.AppID)
	if r, _ := stored.AppRoleByValue("Orders.Read"); r.IsEnabled {
		t.Errorf("stored role enabled after SetAppRoleEnabled(false)")
	}
	if r, err := e.dir.SetAppRoleEnabled(e.ctx, app.AppID, "Orders.Read", true); err != nil || !r.IsEnabled {
		t.Errorf("SetAppRoleEnabled(true) = %+v, %v; want an enabled role", r, err)
	}
	if _, err := e.dir.SetAppRoleEnabled(e.ctx, app.AppID, "Orders.Read", false); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.RemoveAppRole(e.ctx, app.AppID, "Orders.Read"); err != nil {
		t.Errorf("RemoveAppRole(disabled) error = %v", err)
	}
	if err := e.dir.RemoveScope(e.ctx, app.AppID, "access_as_user"); err != nil {
		t.Errorf("RemoveScope(disabled) error = %v", err)
	}
	stored, _ = e.dir.GetApplication(e.ctx, app.AppID)
	if len(stored.AppRoles) != 0 || len(stored.API.OAuth2PermissionScopes) != 0 {
		t.Errorf("after removal roles = %+v, scopes = %+v; want none", stored.AppRoles, stored.API.OAuth2PermissionScopes)
	}
	for name, err := range map[string]error{
		"RemoveAppRole":     e.dir.RemoveAppRole(e.ctx, app.AppID, "Orders.Read"),
		"RemoveScope":       e.dir.RemoveScope(e.ctx, app.AppID, "access_as_user"),
		"SetAppRoleEnabled": second(e.dir.SetAppRoleEnabled(e.ctx, app.AppID, "nope", true)),
		"SetScopeEnabled":   second(e.dir.SetScopeEnabled(e.ctx, app.AppID, "nope", true)),
		"AddAppRole(unknown app)": second(e.dir.AddAppRole(e.ctx, "00000000-0000-4000-8000-0000000000ee",
			tenant.AppRoleSpec{Value: "x"})),
	} {
		if !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("%s(missing) error = %v; want ErrNotFound", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestAddRequiredResourceAccess(t *testing.T) {
	e := newEnv(t)
	contoso := e.tenant("Contoso")
	fabrikam := e.tenant("Fabrikam")
	orders := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}})
	partner := e.app(fabrikam.ID, tenant.ApplicationSpec{DisplayName: "Partner API", MultiTenant: true, IdentifierURIs: []string{"api://partner"}})
	local := e.app(fabrikam.ID, tenant.ApplicationSpec{DisplayName: "Fab Local", IdentifierURIs: []string{"api://fablocal"}})
	client := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Client"})

	ids := map[string]string{}
	addRole := func(app tenant.Application, spec tenant.AppRoleSpec) {
		r, err := e.dir.AddAppRole(e.ctx, app.AppID, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[spec.Value] = r.ID
	}
	addScope := func(app tenant.Application, spec tenant.ScopeSpec) {
		s, err := e.dir.AddScope(e.ctx, app.AppID, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[spec.Value] = s.ID
	}
	addRole(orders, tenant.AppRoleSpec{Value: "Orders.Read"})
	addRole(orders, tenant.AppRoleSpec{Value: "Orders.Approver", AllowedMemberTypes: []string{"User"}})
	addRole(orders, tenant.AppRoleSpec{Value: "Orders.Old", Disabled: true})
	addScope(orders, tenant.ScopeSpec{Value: "access_as_user"})
	addScope(orders, tenant.ScopeSpec{Value: "Orders.ReadWrite.All", Type: "Admin"})
	addScope(orders, tenant.ScopeSpec{Value: "legacy", Disabled: true})
	addRole(partner, tenant.AppRoleSpec{Value: "Partner.Read"})
	addScope(local, tenant.ScopeSpec{Value: "fab.read"})

	scope := func(v string) tenant.ResourceAccess { return tenant.ResourceAccess{ID: ids[v], Type: "Scope"} }
	role := func(v string) tenant.ResourceAccess { return tenant.ResourceAccess{ID: ids[v], Type: "Role"} }

	tests := []struct {
		name     string
		resource string
		scopes   []string
		roles    []string
		want     []tenant.ResourceAccess // the resource's entry after the call
		wantErr  error
	}{
		{name: "by identifier URI", resource: "api://orders", roles: []string{"Orders.Read"},
			want: []tenant.ResourceAccess{role("Orders.Read")}},
		{name: "merged without duplicates, by appId, scope in another case", resource: orders.AppID,
			scopes: []string{"ACCESS_AS_USER", "Orders.ReadWrite.All"}, roles: []string{"Orders.Read"},
			want: []tenant.ResourceAccess{role("Orders.Read"), scope("access_as_user"), scope("Orders.ReadWrite.All")}},
		{name: "applied twice changes nothing", resource: "API://ORDERS", scopes: []string{"access_as_user"},
			want: []tenant.ResourceAccess{role("Orders.Read"), scope("access_as_user"), scope("Orders.ReadWrite.All")}},
		{name: "multi-tenant resource of another tenant by appId", resource: partner.AppID, roles: []string{"Partner.Read"},
			want: []tenant.ResourceAccess{role("Partner.Read")}},
		{name: "resource of another tenant by URI is not found", resource: "api://partner", roles: []string{"Partner.Read"}, wantErr: tenant.ErrNotFound},
		{name: "single-tenant resource of another tenant by appId", resource: local.AppID, scopes: []string{"fab.read"},
			want: []tenant.ResourceAccess{scope("fab.read")}},
		{name: "unknown resource", resource: "api://nothing", scopes: []string{"x"}, wantErr: tenant.ErrNotFound},
		{name: "unknown scope", resource: "api://orders", scopes: []string{"nope"}, wantErr: tenant.ErrInvalid},
		{name: "disabled scope", resource: "api://orders", scopes: []string{"legacy"}, wantErr: tenant.ErrInvalid},
		{name: "unknown role", resource: "api://orders", roles: []string{"Orders.Nope"}, wantErr: tenant.ErrInvalid},
		{name: "role value is case-sensitive", resource: "api://orders", roles: []string{"orders.read"}, wantErr: tenant.ErrInvalid},
		{name: "User-only role is not an application permission", resource: "api://orders", roles: []string{"Orders.Approver"}, wantErr: tenant.ErrInvalid},
		{name: "disabled role", resource: "api://orders", roles: []string{"Orders.Old"}, wantErr: tenant.ErrInvalid},
		{name: "nothing named", resource: "api://orders", wantErr: tenant.ErrInvalid},
	}
	// The cases run in order on one client: each builds on the previous ones.
	for _, tc := range tests {
		got, err := e.dir.AddRequiredResourceAccess(e.ctx, client.AppID, tc.resource, tc.scopes, tc.roles)
		if !errIs(err, tc.wantErr) {
			t.Errorf("%s: AddRequiredResourceAccess(%s, %q, %q) error = %v; want %v", tc.name, tc.resource, tc.scopes, tc.roles, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if !slices.Equal(got.ResourceAccess, tc.want) {
			t.Errorf("%s: AddRequiredResourceAccess = %+v; want %+v", tc.name, got.ResourceAccess, tc.want)
		}
	}
	stored, _ := e.dir.GetApplication(e.ctx, client.AppID)
	var resources []string
	for _, rra := range stored.RequiredResourceAccess {
		resources = append(resources, rra.ResourceAppID)
	}
	if want := []string{orders.AppID, partner.AppID, local.AppID}; !slices.Equal(resources, want) {
		t.Errorf("requiredResourceAccess resources = %q; want %q", resources, want)
	}

	// Withdrawing declared permissions.
	if err := e.dir.RemoveRequiredResourceAccess(e.ctx, client.AppID, "api://orders", []string{"Orders.ReadWrite.All"}, nil); err != nil {
		t.Errorf("RemoveRequiredResourceAccess(one scope): %v", err)
	}
	if err := e.dir.RemoveRequiredResourceAccess(e.ctx, client.AppID, partner.AppID, nil, nil); err != nil {
		t.Errorf("RemoveRequiredResourceAccess(whole resource): %v", err)
	}
	if err := e.dir.RemoveRequiredResourceAccess(e.ctx, client.AppID, partner.AppID, nil, nil); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RemoveRequiredResourceAccess(again) error = %v; want ErrNotFound", err)
	}
	stored, _ = e.dir.GetApplication(e.ctx, client.AppID)
	want := []tenant.RequiredResourceAccess{
		{ResourceAppID: orders.AppID, ResourceAccess: []tenant.ResourceAccess{role("Orders.Read"), scope("access_as_user")}},
		{ResourceAppID: local.AppID, ResourceAccess: []tenant.ResourceAccess{scope("fab.read")}},
	}
	if !reflect.DeepEqual(stored.RequiredResourceAccess, want) {
		t.Errorf("requiredResourceAccess = %+v; want %+v", stored.RequiredResourceAccess, want)
	}
}
