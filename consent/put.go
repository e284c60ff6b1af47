package consent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// PutGrant and PutRoleAssignment make a described grant or assignment
// exist, as Graph's POST oauth2PermissionGrants and appRoleAssignedTo do:
// they are state, so the rules of interactive consent (type User scopes
// only, the tenant's user-consent setting) bind users consenting, not a
// seed document describing what exists. Both are idempotent and say
// whether they changed anything, which `issuer apply` reports.

// PutGrant creates or extends a delegated permission grant of scopes of
// resource to the client: AllPrincipals without a user, Principal for one.
// It provisions the service principals, as consent does.
func (m *Manager) PutGrant(ctx context.Context, t tenant.Tenant, clientAppID, resourceName, userRef string, scopes []string) (created, updated bool, err error) {
	client, err := m.dir.GetApplication(ctx, clientAppID)
	if err != nil {
		return false, false, fmt.Errorf("client %s: %w", clientAppID, err)
	}
	if err := instantiable(t, client, "client"); err != nil {
		return false, false, err
	}
	res, err := m.namedResource(ctx, t, client, resourceName)
	if err != nil {
		return false, false, err
	}
	if err := instantiable(t, res, "resource"); err != nil {
		return false, false, err
	}
	var values []string
	for _, v := range scopes {
		s, ok := res.ScopeByValue(strings.TrimSpace(v))
		if !ok {
			return false, false, fmt.Errorf("%w: resource %s (%s) exposes no scope %q", tenant.ErrInvalid, res.AppID, res.DisplayName, v)
		}
		values = append(values, s.Value)
	}
	g := PermissionGrant{TenantID: t.ID, ConsentType: AllPrincipals}
	if userRef != "" {
		u, err := m.dir.FindUser(ctx, t.ID, userRef)
		if err != nil {
			return false, false, fmt.Errorf("user %s in tenant %s: %w", userRef, t.DisplayName, err)
		}
		g.ConsentType, g.PrincipalID = Principal, u.ID
	}
	var provisioned []tenant.ServicePrincipal
	clientSP, err := m.ensureSP(ctx, t, client, &provisioned)
	if err != nil {
		return false, false, err
	}
	resSP, err := m.ensureSP(ctx, t, res, &provisioned)
	if err != nil {
		return false, false, err
	}
	g.ClientID, g.ResourceID = clientSP.ID, resSP.ID
	existing, err := m.store.PermissionGrantsOf(ctx, t.ID, clientSP.ID, resSP.ID)
	if err != nil {
		return false, false, err
	}
	had := slices.ContainsFunc(existing, func(e PermissionGrant) bool {
		return e.ConsentType == g.ConsentType && e.PrincipalID == g.PrincipalID
	})
	_, changed, err := m.putGrant(ctx, g, values)
	if err != nil {
		return false, false, err
	}
	return changed && !had, changed && had, nil
}

// PutRoleAssignment assigns an app role of a resource to a client, a user
// or a group unless the principal holds it; created says whether it did.
// The role's member types are checked; whether it is enabled, or a group
// security-enabled, is not (unlike AssignRole), so that an assignment of a
// role disabled since, or to a group no longer security-enabled, can be
// reproduced.
func (m *Manager) PutRoleAssignment(ctx context.Context, tenantRef, resourceName, roleValue string, who Assignee) (created bool, err error) {
	t, resSP, role, p, err := m.roleTarget(ctx, tenantRef, resourceName, roleValue, who)
	if err != nil {
		return false, err
	}
	if err := p.mayHold(role, resSP); err != nil {
		return false, err
	}
	_, created, err = m.assign(ctx, t, resSP, role, p)
	return created, err
}
