package consent

import (
	"context"
	"fmt"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// Graph addresses grants and assignments by id. These calls are the
// id-based forms of Revoke, UnassignRole and PutGrant, with the same
// checks; tenantID is a tenant's GUID.

// DeleteAppRoleAssignment deletes one assignment by id (Graph: DELETE
// …/appRoleAssignedTo/{id}). tenant.ErrNotFound if there is none.
func (m *Manager) DeleteAppRoleAssignment(ctx context.Context, tenantID, id string) error {
	if err := m.store.DeleteAppRoleAssignment(ctx, tenantID, strings.ToLower(id)); err != nil {
		return fmt.Errorf("app role assignment %s: %w", id, err)
	}
	return nil
}

// DeletePermissionGrant deletes one delegated permission grant by id
// (Graph: DELETE /oauth2PermissionGrants/{id}).
func (m *Manager) DeletePermissionGrant(ctx context.Context, tenantID, id string) error {
	if err := m.store.DeletePermissionGrant(ctx, tenantID, id); err != nil {
		return fmt.Errorf("permission grant %s: %w", id, err)
	}
	return nil
}

// SetGrantScopes replaces the scopes of an existing grant (Graph: PATCH
// /oauth2PermissionGrants/{id} with scope). Each value must be a scope
// the resource exposes, as PutGrant requires; the grant is kept even when
// no scope is left, as Graph keeps it.
func (m *Manager) SetGrantScopes(ctx context.Context, g PermissionGrant, resource tenant.Application, scopes []string) (PermissionGrant, error) {
	values := []string{}
	for _, v := range scopes {
		s, ok := resource.ScopeByValue(strings.TrimSpace(v))
		if !ok {
			return PermissionGrant{}, fmt.Errorf("%w: resource %s (%s) exposes no scope %q", tenant.ErrInvalid, resource.AppID, resource.DisplayName, v)
		}
		if !containsFold(values, s.Value) {
			values = append(values, s.Value)
		}
	}
	want := g
	want.Scope = strings.Join(values, " ")
	return m.store.PutPermissionGrant(ctx, want, func(existing *PermissionGrant) error {
		if existing.ID != g.ID {
			return fmt.Errorf("permission grant %s: %w", g.ID, tenant.ErrNotFound)
		}
		existing.Scope = want.Scope
		return nil
	})
}
