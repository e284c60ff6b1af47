package consent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// Request is a token request as it is asked, or an explain query: the names
// it gives, before anything is looked up. Resolve finds what they name;
// Decide judges the request on what Resolve found.
type Request struct {
	Flow      Flow
	TenantRef string // tenant id or any of its domains

	ClientAppID string // as presented
	// ResourceName is the resource as requested (identifier URI or appId);
	// empty when the request names none, and then Resolve stops at the
	// client.
	ResourceName string
	// UserRef is the user's object id or user principal name (delegated
	// flows; empty otherwise).
	UserRef string

	// Scopes are the requested delegated scope values, without the resource
	// prefix. Default is set for /.default (and v1 resource=), which asks
	// for everything already granted.
	Scopes  []string
	Default bool
}

// Facts is what the directory holds about a Request, read by Resolve in one
// view of the store: everything Decide judges and `issuer explain` shows.
// Pointers are nil where the object does not exist.
type Facts struct {
	Tenant tenant.Tenant

	ClientApp *tenant.Application // nil: no such application anywhere
	ClientSP  *tenant.ServicePrincipal

	ResourceApp *tenant.Application
	ResourceSP  *tenant.ServicePrincipal

	User *tenant.User // delegated flows

	// ClientAssignments are the client service principal's app role
	// assignments on the resource (app-only flows).
	ClientAssignments []AppRoleAssignment
	// Grants are the client's delegated permission grants on the
	// resource, of every consent type (delegated flows).
	Grants []PermissionGrant
	// UserGroups are the ids of the groups the user is a direct member
	// of, sorted (delegated flows). The app roles assigned to them count
	// as the user's: Entra gives a group's app roles to its direct
	// members only ("nested group memberships aren't supported for
	// group-based assignment to applications"), so the groups those
	// groups are in are not read for roles.
	UserGroups []string
	// UserAssignments are the app role assignments on the resource of
	// the user and of its UserGroups (PrincipalType Group) (delegated
	// flows).
	UserAssignments []AppRoleAssignment
	// UserClientAssignments are the same on the client, read when the
	// client's service principal requires assignment, or its ID tokens
	// list the groups assigned to it or the user's roles (IDTokenRoles)
	// (delegated flows).
	UserClientAssignments []AppRoleAssignment

	// AccessGroups is the groups claim of the access token: the ids of
	// the groups of its subject (the user; in app-only flows the
	// client's service principal) that the resource's
	// groupMembershipClaims selects, sorted; nil when it selects none or
	// the subject has none of them.
	AccessGroups []string
	// IDGroups is the groups claim of the ID token the client receives
	// (delegated flows): the user's groups that the client's
	// groupMembershipClaims selects, sorted; nil as for AccessGroups.
	IDGroups []string
}

// Resolve reads the facts of req in one view of the store, so that they
// are the state of one instant: the tenant (an error wrapping
// tenant.ErrNotFound or ErrInvalid when it cannot be found), the client
// application and its service principal in the tenant, the resource found
// through its service principal in the tenant (as Entra finds resources),
// the user, and the assignments and grants that apply to the flow.
// Missing objects are nil pointers for Decide to judge; only a missing
// tenant and store failures are errors.
func Resolve(ctx context.Context, v Viewer, req Request) (Facts, error) {
	var f Facts
	err := v.View(ctx, func(r Reader) error {
		f = Facts{}
		return f.read(ctx, r, req)
	})
	if err != nil {
		return Facts{}, err
	}
	return f, nil
}

// read fills f from r. It reads the grants and assignments only where both
// service principals exist, and of those only what the flow can use: the
// client's roles for app-only flows; for delegated ones the client's grants,
// the user's groups and the roles of the user and its groups on the
// resource and, when the client requires assignment or lists the groups
// assigned to it in its ID tokens, on the client. The
// groups claims are read only for an application whose
// groupMembershipClaims asks for them, so that a request to one that does
// not costs no read of groups but the user's direct ones, which roles need.
func (f *Facts) read(ctx context.Context, r Reader, req Request) error {
	t, err := tenant.ResolveTenant(ctx, r, req.TenantRef)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", req.TenantRef, err)
	}
	f.Tenant = t
	if f.ClientApp, f.ClientSP, err = resolveClient(ctx, r, t, req.ClientAppID); err != nil {
		return err
	}
	if req.ResourceName != "" {
		sp, app, err := r.FindServicePrincipal(ctx, t.ID, req.ResourceName)
		switch {
		case err == nil:
			f.ResourceApp, f.ResourceSP = &app, &sp
		case !errors.Is(err, tenant.ErrNotFound):
			return err
		}
	}
	if req.UserRef != "" {
		u, err := tenant.FindUser(ctx, r, t.ID, req.UserRef)
		switch {
		case err == nil:
			f.User = &u
		case !errors.Is(err, tenant.ErrNotFound):
			return fmt.Errorf("user %s in tenant %s: %w", req.UserRef, t.ID, err)
		}
	}
	if f.ClientSP == nil || f.ResourceSP == nil {
		return nil
	}
	if !req.Flow.Delegated() {
		return f.readAppOnly(ctx, r)
	}
	if f.Grants, err = r.PermissionGrantsOf(ctx, t.ID, f.ClientSP.ID, f.ResourceSP.ID); err != nil {
		return fmt.Errorf("reading permission grants: %w", err)
	}
	if f.User == nil {
		return nil
	}
	if f.UserGroups, err = r.MemberOf(ctx, t.ID, f.User.ID); err != nil {
		return fmt.Errorf("reading the groups of user %s: %w", f.User.ID, err)
	}
	if f.UserAssignments, err = assignmentsOf(ctx, r, t.ID, f.User.ID, f.UserGroups, f.ResourceSP.ID); err != nil {
		return err
	}
	idClaims := f.ClientApp.GroupClaims()
	if f.ClientSP.AppRoleAssignmentRequired || idClaims.ApplicationGroups || f.ClientApp.OffersRoles(tenant.MemberTypeUser) {
		if f.UserClientAssignments, err = assignmentsOf(ctx, r, t.ID, f.User.ID, f.UserGroups, f.ClientSP.ID); err != nil {
			return err
		}
	}
	g := groupReader{r: r, tenantID: t.ID, subjectID: f.User.ID}
	if f.AccessGroups, err = g.claim(ctx, f.ResourceApp.GroupClaims(), f.ResourceApp.GroupsFormat(tenant.TokenTypeAccess), f.UserAssignments); err != nil {
		return err
	}
	if f.IDGroups, err = g.claim(ctx, idClaims, f.ClientApp.GroupsFormat(tenant.TokenTypeID), f.UserClientAssignments); err != nil {
		return err
	}
	return nil
}

// readAppOnly reads the client's app role assignments on the resource and,
// when the resource's groupMembershipClaims asks for them, the client's
// groups.
//
// A service principal's groups give it no app roles, and do not satisfy
// appRoleAssignmentRequired either: Microsoft's app roles guide
// (howto-add-app-roles-in-apps) says that if you add a service principal
// to a group and assign an app role to that group, Entra does not add the
// roles claim to the tokens it issues. They do go into the groups claim:
// the claim lists "the group memberships of the subject" (access token
// claims reference), which in an app-only token is the client's service
// principal, and a client credentials token for a resource with
// groupMembershipClaims carries the groups its service principal is in
// (kvaes.wordpress.com, "Group integration for daemon / server applications
// (aka Service Principals)", 2017).
func (f *Facts) readAppOnly(ctx context.Context, r Reader) error {
	t := f.Tenant.ID
	var err error
	if f.ClientAssignments, err = r.AppRoleAssignmentsOf(ctx, t, f.ClientSP.ID, f.ResourceSP.ID); err != nil {
		return fmt.Errorf("reading app role assignments: %w", err)
	}
	claims := f.ResourceApp.GroupClaims()
	if !claims.SelectsGroups() {
		return nil
	}
	var assigned []AppRoleAssignment
	if claims.ApplicationGroups {
		direct, err := r.MemberOf(ctx, t, f.ClientSP.ID)
		if err != nil {
			return fmt.Errorf("reading the groups of service principal %s: %w", f.ClientSP.ID, err)
		}
		if assigned, err = assignmentsOf(ctx, r, t, "", direct, f.ResourceSP.ID); err != nil {
			return err
		}
	}
	g := groupReader{r: r, tenantID: t, subjectID: f.ClientSP.ID}
	f.AccessGroups, err = g.claim(ctx, claims, f.ResourceApp.GroupsFormat(tenant.TokenTypeAccess), assigned)
	return err
}

// resolveClient finds the client application and its service principal in
// t. The common case (the client has a service principal in t) costs one
// lookup; an appId that is not a GUID names nothing.
func resolveClient(ctx context.Context, r Reader, t tenant.Tenant, appID string) (*tenant.Application, *tenant.ServicePrincipal, error) {
	if !tenant.IsGUID(appID) {
		return nil, nil, nil
	}
	appID = strings.ToLower(appID)
	sp, app, err := r.FindServicePrincipal(ctx, t.ID, appID)
	switch {
	case err == nil:
		return &app, &sp, nil
	case !errors.Is(err, tenant.ErrNotFound):
		return nil, nil, err
	}
	app, err = r.GetApplication(ctx, appID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return &app, nil, nil
}
