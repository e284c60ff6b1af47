package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxPermissionValueLength is Graph's limit on appRole.value and
// permissionScope.value.
const maxPermissionValueLength = 120

// ValidatePermissionValue checks an app role or scope value the way Graph
// does: 1 to 120 characters from the letters, digits and
// !#$%&'()*+,-./:;<=>?@[]^_`{|}~, not beginning with '.'. Whitespace is
// refused because the value travels in the space-separated scp claim and scope
// parameter.
func ValidatePermissionValue(kind, v string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s value %q %s", ErrInvalid, kind, v, why)
	}
	switch {
	case v == "":
		return fmt.Errorf("%w: %s value must not be empty", ErrInvalid, kind)
	case len(v) > maxPermissionValueLength:
		return bad(fmt.Sprintf("is longer than %d characters", maxPermissionValueLength))
	case v[0] == '.':
		return bad("must not begin with '.'")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return bad("may hold only letters, digits and !#$%&'()*+,-./:;<=>?@[]^_`{|}~ (no spaces)")
		}
	}
	return nil
}

// AppRoleSpec describes an app role to add to an application.
type AppRoleSpec struct {
	Value       string
	DisplayName string // defaults to Value
	Description string // defaults to DisplayName
	// AllowedMemberTypes holds Application and/or User (any case); empty
	// means [Application], an application permission.
	AllowedMemberTypes []string
	Disabled           bool
	ID                 string // fixed GUID, or empty for a new one
}

// ScopeSpec describes a delegated permission (scope) to expose.
type ScopeSpec struct {
	Value string
	// Type is User (admins and users may consent; the default) or Admin
	// (only admins may consent), any case.
	Type                    string
	AdminConsentDisplayName string // defaults to Value
	AdminConsentDescription string // defaults to AdminConsentDisplayName
	UserConsentDisplayName  string
	UserConsentDescription  string
	Disabled                bool
	ID                      string // fixed GUID, or empty for a new one
}

// ParseMemberTypes canonicalises app role member types: each must be
// Application or User (any case); empty means [Application].
func ParseMemberTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return []string{MemberTypeApplication}, nil
	}
	var out []string
	for _, t := range types {
		var v string
		switch {
		case strings.EqualFold(strings.TrimSpace(t), MemberTypeApplication):
			v = MemberTypeApplication
		case strings.EqualFold(strings.TrimSpace(t), MemberTypeUser):
			v = MemberTypeUser
		default:
			return nil, fmt.Errorf("%w: app role member type must be %s or %s, not %q",
				ErrInvalid, MemberTypeApplication, MemberTypeUser, t)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// ParseScopeType canonicalises a permission scope type: User (the default
// when empty) or Admin, any case.
func ParseScopeType(s string) (string, error) {
	switch {
	case s == "" || strings.EqualFold(s, ScopeTypeUser):
		return ScopeTypeUser, nil
	case strings.EqualFold(s, ScopeTypeAdmin):
		return ScopeTypeAdmin, nil
	}
	return "", fmt.Errorf("%w: scope type must be %s or %s, not %q", ErrInvalid, ScopeTypeUser, ScopeTypeAdmin, s)
}

// permissionIDTaken reports whether id is already the id of one of the
// application's app roles or scopes: a requiredResourceAccess entry names a
// permission by id alone, so ids must not repeat across the two collections.
func permissionIDTaken(a *Application, id string) bool {
	return slices.ContainsFunc(a.AppRoles, func(r AppRole) bool { return strings.EqualFold(r.ID, id) }) ||
		slices.ContainsFunc(a.API.OAuth2PermissionScopes, func(s PermissionScope) bool { return strings.EqualFold(s.ID, id) })
}

// AddAppRole adds an app role to an application. Values are unique among the
// application's app roles (compared case-insensitively, so that two roles
// never differ only in case).
func (d *Directory) AddAppRole(ctx context.Context, appID string, spec AppRoleSpec) (AppRole, error) {
	value := strings.TrimSpace(spec.Value)
	if err := ValidatePermissionValue("app role", value); err != nil {
		return AppRole{}, err
	}
	types, err := ParseMemberTypes(spec.AllowedMemberTypes)
	if err != nil {
		return AppRole{}, err
	}
	id, err := d.idOrNew(spec.ID)
	if err != nil {
		return AppRole{}, err
	}
	role := AppRole{
		ID: id, Value: value,
		DisplayName:        cmp.Or(strings.TrimSpace(spec.DisplayName), value),
		Description:        strings.TrimSpace(spec.Description),
		AllowedMemberTypes: types, IsEnabled: !spec.Disabled,
	}
	role.Description = cmp.Or(role.Description, role.DisplayName)
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return AppRole{}, err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		if slices.ContainsFunc(a.AppRoles, func(r AppRole) bool { return strings.EqualFold(r.Value, value) }) {
			return fmt.Errorf("app role %q: %w", value, ErrExists)
		}
		if permissionIDTaken(a, id) {
			return fmt.Errorf("permission id %s: %w", id, ErrExists)
		}
		a.AppRoles = append(a.AppRoles, role)
		return nil
	})
	if err != nil {
		return AppRole{}, err
	}
	return role, nil
}

// AddScope exposes a delegated permission on an application. Values are
// unique among the application's scopes, case-insensitively, as Entra
// compares scope values.
func (d *Directory) AddScope(ctx context.Context, appID string, spec ScopeSpec) (PermissionScope, error) {
	value := strings.TrimSpace(spec.Value)
	if err := ValidatePermissionValue("scope", value); err != nil {
		return PermissionScope{}, err
	}
	typ, err := ParseScopeType(strings.TrimSpace(spec.Type))
	if err != nil {
		return PermissionScope{}, err
	}
	id, err := d.idOrNew(spec.ID)
	if err != nil {
		return PermissionScope{}, err
	}
	s := PermissionScope{
		ID: id, Value: value, Type: typ,
		AdminConsentDisplayName: cmp.Or(strings.TrimSpace(spec.AdminConsentDisplayName), value),
		AdminConsentDescription: strings.TrimSpace(spec.AdminConsentDescription),
		UserConsentDisplayName:  strings.TrimSpace(spec.UserConsentDisplayName),
		UserConsentDescription:  strings.TrimSpace(spec.UserConsentDescription),
		IsEnabled:               !spec.Disabled,
	}
	s.AdminConsentDescription = cmp.Or(s.AdminConsentDescription, s.AdminConsentDisplayName)
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return PermissionScope{}, err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		if _, ok := a.ScopeByValue(value); ok {
			return fmt.Errorf("scope %q: %w", value, ErrExists)
		}
		if permissionIDTaken(a, id) {
			return fmt.Errorf("permission id %s: %w", id, ErrExists)
		}
		a.API.OAuth2PermissionScopes = append(a.API.OAuth2PermissionScopes, s)
		return nil
	})
	if err != nil {
		return PermissionScope{}, err
	}
	return s, nil
}

// SetAppRoleEnabled enables or disables an app role. A disabled role is no
// longer issued in roles and may then be removed.
func (d *Directory) SetAppRoleEnabled(ctx context.Context, appID, value string, enabled bool) (AppRole, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return AppRole{}, err
	}
	var out AppRole
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.AppRoles, func(r AppRole) bool { return r.Value == value })
		if i < 0 {
			return fmt.Errorf("app role %q: %w", value, ErrNotFound)
		}
		a.AppRoles[i].IsEnabled = enabled
		out = a.AppRoles[i]
		return nil
	})
	return out, err
}

// SetScopeEnabled enables or disables a delegated permission. A disabled
// scope is neither issued nor requestable (AADSTS70011) and may then be removed.
func (d *Directory) SetScopeEnabled(ctx context.Context, appID, value string, enabled bool) (PermissionScope, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return PermissionScope{}, err
	}
	var out PermissionScope
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.API.OAuth2PermissionScopes, func(s PermissionScope) bool { return strings.EqualFold(s.Value, value) })
		if i < 0 {
			return fmt.Errorf("scope %q: %w", value, ErrNotFound)
		}
		a.API.OAuth2PermissionScopes[i].IsEnabled = enabled
		out = a.API.OAuth2PermissionScopes[i]
		return nil
	})
	return out, err
}

// RemoveAppRole deletes a disabled app role. Graph refuses to delete an
// enabled one: it must be disabled first, so that tokens stop carrying it
// before the definition disappears.
func (d *Directory) RemoveAppRole(ctx context.Context, appID, value string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.AppRoles, func(r AppRole) bool { return r.Value == value })
		switch {
		case i < 0:
			return fmt.Errorf("app role %q: %w", value, ErrNotFound)
		case a.AppRoles[i].IsEnabled:
			return fmt.Errorf("%w: app role %q is enabled; disable it before removing it", ErrInvalid, value)
		}
		a.AppRoles = slices.Delete(a.AppRoles, i, i+1)
		return nil
	})
	return err
}

// RemoveScope deletes a disabled delegated permission; like app roles, an
// enabled scope must be disabled first.
func (d *Directory) RemoveScope(ctx context.Context, appID, value string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.API.OAuth2PermissionScopes, func(s PermissionScope) bool { return strings.EqualFold(s.Value, value) })
		switch {
		case i < 0:
			return fmt.Errorf("scope %q: %w", value, ErrNotFound)
		case a.API.OAuth2PermissionScopes[i].IsEnabled:
			return fmt.Errorf("%w: scope %q is enabled; disable it before removing it", ErrInvalid, value)
		}
		a.API.OAuth2PermissionScopes = slices.Delete(a.API.OAuth2PermissionScopes, i, i+1)
		return nil
	})
	return err
}

// ResolveResourceApplication finds the application a client names as a
// resource in its requiredResourceAccess: by appId or identifier URI through
// its service principal in the client's home tenant (where the client is
// registered), or, for an appId, the application wherever it is homed.
func (d *Directory) ResolveResourceApplication(ctx context.Context, client Application, name string) (Application, error) {
	name = strings.TrimSpace(name)
	_, app, err := d.store.FindServicePrincipal(ctx, client.HomeTenantID, name)
	if err == nil {
		return app, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Application{}, err
	}
	if IsGUID(name) {
		if app, err := d.store.GetApplication(ctx, strings.ToLower(name)); err == nil {
			return app, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Application{}, err
		}
	}
	return Application{}, fmt.Errorf("resource %q: no application of that appId, and no application with that identifier URI in tenant %s: %w",
		name, client.HomeTenantID, ErrNotFound)
}

// AddRequiredResourceAccess declares that the client requires the named
// delegated scopes and app roles (application permissions) of a resource
// (Graph: requiredResourceAccess), merging them with what it already
// declares. Each value must be defined and enabled on the resource, and a
// role must allow member type Application. Admin consent grants exactly
// what is declared here.
func (d *Directory) AddRequiredResourceAccess(ctx context.Context, clientAppID, resourceName string, scopes, roles []string) (RequiredResourceAccess, error) {
	if len(scopes) == 0 && len(roles) == 0 {
		return RequiredResourceAccess{}, fmt.Errorf("%w: name at least one scope or app role to require", ErrInvalid)
	}
	client, err := d.GetApplication(ctx, clientAppID)
	if err != nil {
		return RequiredResourceAccess{}, err
	}
	res, err := d.ResolveResourceApplication(ctx, client, resourceName)
	if err != nil {
		return RequiredResourceAccess{}, err
	}
	var add []ResourceAccess
	for _, v := range scopes {
		s, ok := res.ScopeByValue(strings.TrimSpace(v))
		switch {
		case !ok:
			return RequiredResourceAccess{}, fmt.Errorf("%w: resource %s (%s) exposes no scope %q", ErrInvalid, res.AppID, res.DisplayName, v)
		case !s.IsEnabled:
			return RequiredResourceAccess{}, fmt.Errorf("%w: scope %q of resource %s (%s) is disabled", ErrInvalid, v, res.AppID, res.DisplayName)
		}
		add = append(add, ResourceAccess{ID: s.ID, Type: AccessScope})
	}
	for _, v := range roles {
		r, ok := res.AppRoleByValue(strings.TrimSpace(v))
		switch {
		case !ok:
			return RequiredResourceAccess{}, fmt.Errorf("%w: resource %s (%s) defines no app role %q", ErrInvalid, res.AppID, res.DisplayName, v)
		case !r.IsEnabled:
			return RequiredResourceAccess{}, fmt.Errorf("%w: app role %q of resource %s (%s) is disabled", ErrInvalid, v, res.AppID, res.DisplayName)
		case !r.Allows(MemberTypeApplication):
			return RequiredResourceAccess{}, fmt.Errorf("%w: app role %q of resource %s (%s) does not allow member type %s, so it is not an application permission",
				ErrInvalid, v, res.AppID, res.DisplayName, MemberTypeApplication)
		}
		add = append(add, ResourceAccess{ID: r.ID, Type: AccessRole})
	}
	var out RequiredResourceAccess
	_, err = d.updateApplication(ctx, client.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.RequiredResourceAccess, func(r RequiredResourceAccess) bool { return r.ResourceAppID == res.AppID })
		if i < 0 {
			a.RequiredResourceAccess = append(a.RequiredResourceAccess, RequiredResourceAccess{ResourceAppID: res.AppID, ResourceAccess: []ResourceAccess{}})
			i = len(a.RequiredResourceAccess) - 1
		}
		rra := &a.RequiredResourceAccess[i]
		for _, ra := range add {
			if !slices.Contains(rra.ResourceAccess, ra) {
				rra.ResourceAccess = append(rra.ResourceAccess, ra)
			}
		}
		out = *rra
		out.ResourceAccess = slices.Clone(rra.ResourceAccess)
		return nil
	})
	return out, err
}

// RemoveRequiredResourceAccess withdraws declared permissions of a resource
// (by value, as AddRequiredResourceAccess takes them); with no values it
// withdraws every permission of that resource. Existing grants are left
// alone, as in Entra, where consent is revoked separately.
func (d *Directory) RemoveRequiredResourceAccess(ctx context.Context, clientAppID, resourceName string, scopes, roles []string) error {
	client, err := d.GetApplication(ctx, clientAppID)
	if err != nil {
		return err
	}
	res, err := d.ResolveResourceApplication(ctx, client, resourceName)
	if err != nil {
		return err
	}
	var drop []string
	for _, v := range scopes {
		s, ok := res.ScopeByValue(strings.TrimSpace(v))
		if !ok {
			return fmt.Errorf("scope %q of resource %s: %w", v, res.AppID, ErrNotFound)
		}
		drop = append(drop, s.ID)
	}
	for _, v := range roles {
		r, ok := res.AppRoleByValue(strings.TrimSpace(v))
		if !ok {
			return fmt.Errorf("app role %q of resource %s: %w", v, res.AppID, ErrNotFound)
		}
		drop = append(drop, r.ID)
	}
	_, err = d.updateApplication(ctx, client.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.RequiredResourceAccess, func(r RequiredResourceAccess) bool { return r.ResourceAppID == res.AppID })
		if i < 0 {
			return fmt.Errorf("required resource access to %s: %w", res.AppID, ErrNotFound)
		}
		rra := &a.RequiredResourceAccess[i]
		if len(drop) > 0 {
			rra.ResourceAccess = slices.DeleteFunc(rra.ResourceAccess, func(ra ResourceAccess) bool { return slices.Contains(drop, ra.ID) })
		}
		if len(drop) == 0 || len(rra.ResourceAccess) == 0 {
			a.RequiredResourceAccess = slices.Delete(a.RequiredResourceAccess, i, i+1)
		}
		return nil
	})
	return err
}
