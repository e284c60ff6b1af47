package tenant

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Graph's PATCH of an application replaces its appRoles,
// api.oauth2PermissionScopes and requiredResourceAccess whole. The rules
// below are the ones AddAppRole, AddScope and AddRequiredResourceAccess
// keep one at a time, applied to the new collection, plus Entra's rule for
// the permissions tokens already carry: an enabled app role or scope may
// be neither removed nor given another value; it must be disabled first
// (Graph: "CannotDeleteOrUpdateEnabledEntitlement").

// replaceAppRoles sets a's app roles to roles, validated; a role without
// an id gets a new one.
func (d *Directory) replaceAppRoles(a *Application, roles []AppRole) error {
	out := make([]AppRole, 0, len(roles))
	for _, r := range roles {
		r.Value = strings.TrimSpace(r.Value)
		if err := ValidatePermissionValue("app role", r.Value); err != nil {
			return err
		}
		types, err := ParseMemberTypes(r.AllowedMemberTypes)
		if err != nil {
			return err
		}
		if r.ID, err = d.idOrNew(r.ID); err != nil {
			return err
		}
		r.AllowedMemberTypes = types
		r.DisplayName = cmp.Or(strings.TrimSpace(r.DisplayName), r.Value)
		r.Description = cmp.Or(strings.TrimSpace(r.Description), r.DisplayName)
		if slices.ContainsFunc(out, func(o AppRole) bool { return strings.EqualFold(o.Value, r.Value) }) {
			return fmt.Errorf("%w: app role value %q appears twice", ErrInvalid, r.Value)
		}
		out = append(out, r)
	}
	for _, old := range a.AppRoles {
		i := slices.IndexFunc(out, func(n AppRole) bool { return n.ID == old.ID })
		if old.IsEnabled && (i < 0 || out[i].Value != old.Value) {
			return fmt.Errorf("%w: app role %q is enabled: disable it (isEnabled false) before removing it or changing its value", ErrInvalid, old.Value)
		}
	}
	a.AppRoles = out
	return uniquePermissionIDs(a)
}

// replaceScopes sets a's exposed delegated permissions to scopes,
// validated; a scope without an id gets a new one.
func (d *Directory) replaceScopes(a *Application, scopes []PermissionScope) error {
	out := make([]PermissionScope, 0, len(scopes))
	for _, s := range scopes {
		s.Value = strings.TrimSpace(s.Value)
		if err := ValidatePermissionValue("scope", s.Value); err != nil {
			return err
		}
		typ, err := ParseScopeType(s.Type)
		if err != nil {
			return err
		}
		if s.ID, err = d.idOrNew(s.ID); err != nil {
			return err
		}
		s.Type = typ
		s.AdminConsentDisplayName = cmp.Or(strings.TrimSpace(s.AdminConsentDisplayName), s.Value)
		s.AdminConsentDescription = cmp.Or(strings.TrimSpace(s.AdminConsentDescription), s.AdminConsentDisplayName)
		if slices.ContainsFunc(out, func(o PermissionScope) bool { return strings.EqualFold(o.Value, s.Value) }) {
			return fmt.Errorf("%w: scope value %q appears twice", ErrInvalid, s.Value)
		}
		out = append(out, s)
	}
	for _, old := range a.API.OAuth2PermissionScopes {
		i := slices.IndexFunc(out, func(n PermissionScope) bool { return n.ID == old.ID })
		if old.IsEnabled && (i < 0 || out[i].Value != old.Value) {
			return fmt.Errorf("%w: scope %q is enabled: disable it (isEnabled false) before removing it or changing its value", ErrInvalid, old.Value)
		}
	}
	a.API.OAuth2PermissionScopes = out
	return uniquePermissionIDs(a)
}

// uniquePermissionIDs refuses an id shared by two of a's app roles and
// scopes: requiredResourceAccess names a permission by id alone.
func uniquePermissionIDs(a *Application) error {
	seen := map[string]bool{}
	for _, id := range permissionIDs(a) {
		if seen[id] {
			return fmt.Errorf("%w: permission id %s is used twice among the app roles and scopes", ErrInvalid, id)
		}
		seen[id] = true
	}
	return nil
}

func permissionIDs(a *Application) []string {
	var ids []string
	for _, r := range a.AppRoles {
		ids = append(ids, r.ID)
	}
	for _, s := range a.API.OAuth2PermissionScopes {
		ids = append(ids, s.ID)
	}
	return ids
}

// replaceRequiredResourceAccess sets what a declares it needs. As in
// Entra, the entries are checked for form only (GUIDs, Scope or Role, each
// resource once): the resource's permissions are checked when consent is
// given, since the resource may be registered in another tenant.
func replaceRequiredResourceAccess(a *Application, rras []RequiredResourceAccess) error {
	out := make([]RequiredResourceAccess, 0, len(rras))
	for _, r := range rras {
		id, err := CanonicalGUID(r.ResourceAppID)
		if err != nil {
			return fmt.Errorf("requiredResourceAccess: resourceAppId: %w", err)
		}
		if slices.ContainsFunc(out, func(o RequiredResourceAccess) bool { return o.ResourceAppID == id }) {
			return fmt.Errorf("%w: requiredResourceAccess names resource %s twice", ErrInvalid, id)
		}
		e := RequiredResourceAccess{ResourceAppID: id, ResourceAccess: []ResourceAccess{}}
		for _, ra := range r.ResourceAccess {
			pid, err := CanonicalGUID(ra.ID)
			if err != nil {
				return fmt.Errorf("requiredResourceAccess of %s: %w", id, err)
			}
			typ := ""
			switch {
			case strings.EqualFold(ra.Type, AccessScope):
				typ = AccessScope
			case strings.EqualFold(ra.Type, AccessRole):
				typ = AccessRole
			default:
				return fmt.Errorf("%w: requiredResourceAccess of %s: type must be Scope or Role, not %q", ErrInvalid, id, ra.Type)
			}
			if n := (ResourceAccess{ID: pid, Type: typ}); !slices.Contains(e.ResourceAccess, n) {
				e.ResourceAccess = append(e.ResourceAccess, n)
			}
		}
		out = append(out, e)
	}
	a.RequiredResourceAccess = out
	return nil
}

// KeyCredentialSpec is one certificate of a whole keyCredentials list (a
// Graph PATCH): an existing credential named by KeyID alone, kept as it
// is, or a certificate (Key, DER) to register, under KeyID when given.
type KeyCredentialSpec struct {
	KeyID       string
	Key         []byte
	DisplayName string
}

// replaceKeyCredentials sets a's certificates to specs: kept, added (by the
// rules of AddKeyCredential) or, when left out, removed.
func (d *Directory) replaceKeyCredentials(a *Application, specs []KeyCredentialSpec) error {
	out := make([]KeyCredential, 0, len(specs))
	for _, s := range specs {
		if len(s.Key) == 0 {
			c, ok := a.KeyCredentialByID(s.KeyID)
			if !ok {
				return fmt.Errorf("%w: keyCredentials: %q is not a certificate of the application; a new one needs its key", ErrInvalid, s.KeyID)
			}
			out = append(out, c)
			continue
		}
		id, err := d.idOrNew(s.KeyID)
		if err != nil {
			return err
		}
		c, err := NewKeyCredential(id, s.Key, s.DisplayName)
		if err != nil {
			return err
		}
		out = append(out, c)
	}
	for i, c := range out {
		for _, o := range out[:i] {
			switch {
			case strings.EqualFold(o.KeyID, c.KeyID):
				return fmt.Errorf("%w: key credential %s appears twice", ErrInvalid, c.KeyID)
			case string(o.CustomKeyIdentifier) == string(c.CustomKeyIdentifier):
				return fmt.Errorf("%w (keyId %s, thumbprint %s)", ErrDuplicateCertificate, o.KeyID, o.Thumbprint())
			}
		}
	}
	a.KeyCredentials = out
	return nil
}
