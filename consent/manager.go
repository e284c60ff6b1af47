package consent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// Refusals of consent operations. They are wrapped with the names involved,
// so callers test with errors.Is and print the error as it is.
var (
	// ErrAdminConsentRequired: a user tried to consent to a scope of type
	// Admin, which only an administrator may grant (Entra shows "Need admin
	// approval").
	ErrAdminConsentRequired = errors.New("admin consent required")
	// ErrUserConsentDisabled: the tenant does not let users consent to
	// applications for themselves.
	ErrUserConsentDisabled = errors.New("user consent is disabled in the tenant")
)

// Manager changes grants the way an administrator or a consenting user does
// in Entra: admin consent, user consent, direct app role assignment, and
// revocation. It writes through to its stores and caches nothing, so the next
// Resolve (and so the next Decide) sees every change.
type Manager struct {
	dir   *tenant.Directory
	store Store
	now   func() time.Time
	newID func() string
}

// ManagerOption configures a Manager.
type ManagerOption func(*Manager)

// WithClock sets the time source for createdDateTime (default: the
// Directory's clock).
func WithClock(now func() time.Time) ManagerOption { return func(m *Manager) { m.now = now } }

// WithIDs sets the GUID source for new grants and assignments (default
// tenant.NewGUID).
func WithIDs(newID func() string) ManagerOption { return func(m *Manager) { m.newID = newID } }

// NewManager returns a Manager over the directory and the grant store.
func NewManager(dir *tenant.Directory, s Store, opts ...ManagerOption) *Manager {
	m := &Manager{dir: dir, store: s, now: dir.Now, newID: tenant.NewGUID}
	for _, o := range opts {
		o(m)
	}
	return m
}

// AdminConsentResult lists what an admin consent changed. Applying the same
// consent again changes nothing and returns empty lists.
type AdminConsentResult struct {
	TenantID                 string `json:"tenantId"`
	ClientAppID              string `json:"clientAppId"`
	ClientServicePrincipalID string `json:"clientServicePrincipalId"`
	// ProvisionedServicePrincipals are the service principals created in
	// the tenant: the client's and those of the resources it requires.
	ProvisionedServicePrincipals []tenant.ServicePrincipal `json:"provisionedServicePrincipals"`
	// PermissionGrants are the AllPrincipals grants created or extended,
	// as stored after the change.
	PermissionGrants []GrantEntry `json:"oauth2PermissionGrants"`
	// AppRoleAssignments are the assignments created for the client.
	AppRoleAssignments []AssignmentEntry `json:"appRoleAssignments"`
	// Skipped names declared permissions that were not granted because the
	// resource no longer defines or enables them.
	Skipped []string `json:"skipped,omitempty"`
}

// Changed reports whether the consent changed anything.
func (r AdminConsentResult) Changed() bool {
	return len(r.ProvisionedServicePrincipals)+len(r.PermissionGrants)+len(r.AppRoleAssignments) > 0
}

// resourcePlan is what a consent will grant on one resource.
type resourcePlan struct {
	app    tenant.Application
	scopes []string         // scope values
	roles  []tenant.AppRole // application permissions
}

// GrantAdminConsent grants, in the tenant, everything the client declares in
// requiredResourceAccess, as an administrator's "Grant admin consent" does:
// it provisions the client's service principal if absent (only a
// multi-tenant application may be provisioned outside its home tenant:
// tenant.ErrNotMultiTenant), provisions the service principals of the
// required resources, creates or extends an AllPrincipals grant with the
// declared scopes of each resource, and assigns the declared app roles to the
// client's service principal.
//
// Entra refuses the whole consent when a required resource cannot exist in
// the tenant (a single-tenant API of another tenant); so does this, before
// changing anything.
func (m *Manager) GrantAdminConsent(ctx context.Context, tenantRef, clientAppID string) (AdminConsentResult, error) {
	t, err := m.dir.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return AdminConsentResult{}, err
	}
	client, err := m.dir.GetApplication(ctx, clientAppID)
	if err != nil {
		return AdminConsentResult{}, err
	}
	if err := instantiable(t, client, "client"); err != nil {
		return AdminConsentResult{}, err
	}
	res := AdminConsentResult{
		TenantID: t.ID, ClientAppID: client.AppID,
		ProvisionedServicePrincipals: []tenant.ServicePrincipal{},
		PermissionGrants:             []GrantEntry{},
		AppRoleAssignments:           []AssignmentEntry{},
	}
	var plans []resourcePlan
	for _, rra := range client.RequiredResourceAccess {
		app, err := m.requiredResource(ctx, t, client, rra.ResourceAppID)
		if errors.Is(err, errResourceGone) {
			res.Skipped = append(res.Skipped, err.Error())
			continue
		}
		if err != nil {
			return AdminConsentResult{}, err
		}
		p := resourcePlan{app: app}
		for _, ra := range rra.ResourceAccess {
			switch ra.Type {
			case tenant.AccessScope:
				i := slices.IndexFunc(app.API.OAuth2PermissionScopes, func(s tenant.PermissionScope) bool { return strings.EqualFold(s.ID, ra.ID) })
				if i < 0 || !app.API.OAuth2PermissionScopes[i].IsEnabled {
					res.Skipped = append(res.Skipped, fmt.Sprintf("scope %s of %s (%s): not defined or disabled", ra.ID, app.AppID, app.DisplayName))
					continue
				}
				p.scopes = append(p.scopes, app.API.OAuth2PermissionScopes[i].Value)
			case tenant.AccessRole:
				i := slices.IndexFunc(app.AppRoles, func(r tenant.AppRole) bool { return strings.EqualFold(r.ID, ra.ID) })
				if i < 0 || !app.AppRoles[i].IsEnabled || !app.AppRoles[i].Allows(tenant.MemberTypeApplication) {
					res.Skipped = append(res.Skipped, fmt.Sprintf("app role %s of %s (%s): not defined, disabled or not for applications", ra.ID, app.AppID, app.DisplayName))
					continue
				}
				p.roles = append(p.roles, app.AppRoles[i])
			}
		}
		plans = append(plans, p)
	}

	clientSP, err := m.ensureSP(ctx, t, client, &res.ProvisionedServicePrincipals)
	if err != nil {
		return AdminConsentResult{}, err
	}
	res.ClientServicePrincipalID = clientSP.ID
	for _, p := range plans {
		resSP, err := m.ensureSP(ctx, t, p.app, &res.ProvisionedServicePrincipals)
		if err != nil {
			return res, err
		}
		if len(p.scopes) > 0 {
			g, changed, err := m.putGrant(ctx, PermissionGrant{
				TenantID: t.ID, ClientID: clientSP.ID, ConsentType: AllPrincipals, ResourceID: resSP.ID,
			}, p.scopes)
			if err != nil {
				return res, err
			}
			if changed {
				res.PermissionGrants = append(res.PermissionGrants, grantEntry(g, clientSP, resSP, ""))
			}
		}
		for _, r := range p.roles {
			a, created, err := m.assign(ctx, t, resSP, r, principalOf(clientSP))
			if err != nil {
				return res, err
			}
			if created {
				res.AppRoleAssignments = append(res.AppRoleAssignments, AssignmentEntry{
					AppRoleAssignment: a, AppRoleValue: r.Value, ResourceAppID: resSP.AppID, PrincipalAppID: clientSP.AppID,
				})
			}
		}
	}
	return res, nil
}

// UserConsentResult lists what a user consent changed.
type UserConsentResult struct {
	TenantID                     string                    `json:"tenantId"`
	ClientAppID                  string                    `json:"clientAppId"`
	UserID                       string                    `json:"userId"`
	UserPrincipalName            string                    `json:"userPrincipalName"`
	ProvisionedServicePrincipals []tenant.ServicePrincipal `json:"provisionedServicePrincipals"`
	// PermissionGrants are the Principal grants created or extended.
	PermissionGrants []GrantEntry `json:"oauth2PermissionGrants"`
	// Skipped names declared scopes of type Admin left to an administrator
	// (only when the scopes were not named).
	Skipped []string `json:"skipped,omitempty"`
}

// Changed reports whether the consent changed anything.
func (r UserConsentResult) Changed() bool {
	return len(r.ProvisionedServicePrincipals)+len(r.PermissionGrants) > 0
}

// GrantUserConsent records one user's consent to delegated scopes of the
// client: a Principal grant for that user, as the Entra consent prompt
// creates. Users may consent only to scopes of type User
// (ErrAdminConsentRequired otherwise) and only where the tenant allows it
// (ErrUserConsentDisabled). The client's service principal, and the
// resources', are provisioned as for admin consent.
//
// scopes are scope values of resourceName when it is given; without a
// resource they must be scopes the client declares in requiredResourceAccess.
// With no scopes, the user consents to every enabled User scope the client
// declares (of resourceName only, when given); declared Admin scopes are
// skipped and listed in the result.
func (m *Manager) GrantUserConsent(ctx context.Context, tenantRef, clientAppID, userRef, resourceName string, scopes []string) (UserConsentResult, error) {
	t, err := m.dir.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return UserConsentResult{}, err
	}
	if !t.AllowsUserConsent() {
		return UserConsentResult{}, fmt.Errorf("tenant %s (%s): %w; an administrator must grant consent instead",
			t.DisplayName, t.ID, ErrUserConsentDisabled)
	}
	client, err := m.dir.GetApplication(ctx, clientAppID)
	if err != nil {
		return UserConsentResult{}, err
	}
	if err := instantiable(t, client, "client"); err != nil {
		return UserConsentResult{}, err
	}
	user, err := m.dir.FindUser(ctx, t.ID, userRef)
	if err != nil {
		return UserConsentResult{}, fmt.Errorf("user %s in tenant %s: %w", userRef, t.DisplayName, err)
	}
	res := UserConsentResult{
		TenantID: t.ID, ClientAppID: client.AppID, UserID: user.ID, UserPrincipalName: user.UserPrincipalName,
		ProvisionedServicePrincipals: []tenant.ServicePrincipal{},
		PermissionGrants:             []GrantEntry{},
	}
	plans, skipped, err := m.userConsentPlan(ctx, t, client, resourceName, scopes)
	if err != nil {
		return UserConsentResult{}, err
	}
	res.Skipped = skipped

	clientSP, err := m.ensureSP(ctx, t, client, &res.ProvisionedServicePrincipals)
	if err != nil {
		return UserConsentResult{}, err
	}
	for _, p := range plans {
		resSP, err := m.ensureSP(ctx, t, p.app, &res.ProvisionedServicePrincipals)
		if err != nil {
			return res, err
		}
		g, changed, err := m.putGrant(ctx, PermissionGrant{
			TenantID: t.ID, ClientID: clientSP.ID, ConsentType: Principal, PrincipalID: user.ID, ResourceID: resSP.ID,
		}, p.scopes)
		if err != nil {
			return res, err
		}
		if changed {
			res.PermissionGrants = append(res.PermissionGrants, grantEntry(g, clientSP, resSP, user.UserPrincipalName))
		}
	}
	return res, nil
}

func grantEntry(g PermissionGrant, client, resource tenant.ServicePrincipal, principalName string) GrantEntry {
	return GrantEntry{PermissionGrant: g,
		ClientAppID: client.AppID, ClientDisplayName: client.DisplayName,
		ResourceAppID: resource.AppID, ResourceDisplayName: resource.DisplayName,
		PrincipalName: principalName,
	}
}

// userConsentPlan works out which scopes of which resources a user consent
// covers, refusing Admin scopes that were named.
func (m *Manager) userConsentPlan(ctx context.Context, t tenant.Tenant, client tenant.Application, resourceName string, scopes []string) ([]resourcePlan, []string, error) {
	type candidate struct {
		app   tenant.Application
		scope tenant.PermissionScope
	}
	// The scopes on offer: those of the named resource, or those the client declares.
	var offered []candidate
	if resourceName != "" {
		app, err := m.namedResource(ctx, t, client, resourceName)
		if err != nil {
			return nil, nil, err
		}
		if err := instantiable(t, app, "resource"); err != nil {
			return nil, nil, err
		}
		if len(scopes) > 0 {
			for _, v := range scopes {
				s, ok := app.ScopeByValue(v)
				switch {
				case !ok:
					return nil, nil, fmt.Errorf("%w: resource %s (%s) exposes no scope %q", tenant.ErrInvalid, app.AppID, app.DisplayName, v)
				case !s.IsEnabled:
					return nil, nil, fmt.Errorf("%w: scope %q of resource %s (%s) is disabled", tenant.ErrInvalid, v, app.AppID, app.DisplayName)
				}
				offered = append(offered, candidate{app, s})
			}
		} else {
			for _, s := range declaredScopes(client, app) {
				offered = append(offered, candidate{app, s})
			}
		}
	} else {
		for _, rra := range client.RequiredResourceAccess {
			app, err := m.requiredResource(ctx, t, client, rra.ResourceAppID)
			if errors.Is(err, errResourceGone) {
				continue // nothing left to consent to
			}
			if err != nil {
				return nil, nil, err
			}
			for _, s := range declaredScopes(client, app) {
				if len(scopes) == 0 || slices.ContainsFunc(scopes, func(v string) bool { return strings.EqualFold(v, s.Value) }) {
					offered = append(offered, candidate{app, s})
				}
			}
		}
		for _, v := range scopes {
			if !slices.ContainsFunc(offered, func(c candidate) bool { return strings.EqualFold(c.scope.Value, v) }) {
				return nil, nil, fmt.Errorf("%w: client %s (%s) declares no enabled scope %q of any resource; name the resource to consent to a scope it does not declare",
					tenant.ErrInvalid, client.AppID, client.DisplayName, v)
			}
		}
	}

	var plans []resourcePlan
	var skipped, admin []string
	for _, c := range offered {
		if c.scope.Type != tenant.ScopeTypeUser {
			name := fmt.Sprintf("%s of %s (%s)", c.scope.Value, c.app.AppID, c.app.DisplayName)
			if len(scopes) > 0 {
				admin = append(admin, name)
			} else {
				skipped = append(skipped, "scope "+name+": type Admin needs admin consent")
			}
			continue
		}
		i := slices.IndexFunc(plans, func(p resourcePlan) bool { return p.app.AppID == c.app.AppID })
		if i < 0 {
			plans = append(plans, resourcePlan{app: c.app})
			i = len(plans) - 1
		}
		if !slices.Contains(plans[i].scopes, c.scope.Value) {
			plans[i].scopes = append(plans[i].scopes, c.scope.Value)
		}
	}
	switch {
	case len(admin) > 0:
		return nil, nil, fmt.Errorf("scope %s: only an administrator may consent to a scope of type Admin: %w",
			strings.Join(admin, ", "), ErrAdminConsentRequired)
	case len(plans) == 0 && len(skipped) > 0:
		return nil, nil, fmt.Errorf("client %s (%s) declares only scopes of type Admin: %w",
			client.AppID, client.DisplayName, ErrAdminConsentRequired)
	case len(plans) == 0:
		return nil, nil, fmt.Errorf("%w: client %s (%s) declares no delegated permission to consent to; name the resource and its scopes",
			tenant.ErrInvalid, client.AppID, client.DisplayName)
	}
	return plans, skipped, nil
}

// declaredScopes returns the enabled scopes of res that client declares in
// requiredResourceAccess.
func declaredScopes(client, res tenant.Application) []tenant.PermissionScope {
	var out []tenant.PermissionScope
	for _, rra := range client.RequiredResourceAccess {
		if rra.ResourceAppID != res.AppID {
			continue
		}
		for _, s := range res.API.OAuth2PermissionScopes {
			if s.IsEnabled && slices.Contains(rra.ResourceAccess, tenant.ResourceAccess{ID: s.ID, Type: tenant.AccessScope}) {
				out = append(out, s)
			}
		}
	}
	return out
}

// requiredResource loads a resource the client declares and checks that it
// can have a service principal in t.
func (m *Manager) requiredResource(ctx context.Context, t tenant.Tenant, client tenant.Application, resourceAppID string) (tenant.Application, error) {
	app, err := m.dir.GetApplication(ctx, resourceAppID)
	if errors.Is(err, tenant.ErrNotFound) {
		return tenant.Application{}, fmt.Errorf("client %s (%s) requires permissions of application %s, which does not exist: %w",
			client.AppID, client.DisplayName, resourceAppID, errResourceGone)
	}
	if err != nil {
		return tenant.Application{}, err
	}
	return app, instantiable(t, app, "resource")
}

// errResourceGone marks a requiredResourceAccess entry naming an
// application that was removed. Entra leaves such entries in a client's
// manifest; consent grants what remains and names the entry as skipped.
var errResourceGone = fmt.Errorf("required resource removed: %w", tenant.ErrNotFound)

// namedResource finds a resource by appId or identifier URI: through its
// service principal in t, else as the client names its resources.
func (m *Manager) namedResource(ctx context.Context, t tenant.Tenant, client tenant.Application, name string) (tenant.Application, error) {
	_, app, err := m.dir.FindServicePrincipal(ctx, t.ID, name)
	if err == nil || !errors.Is(err, tenant.ErrNotFound) {
		return app, err
	}
	return m.dir.ResolveResourceApplication(ctx, client, name)
}

// instantiable reports whether app may have a service principal in t: its
// home tenant, or any tenant for a multi-tenant application. Entra refuses
// consent otherwise.
func instantiable(t tenant.Tenant, app tenant.Application, role string) error {
	if app.HomeTenantID == t.ID || app.IsMultiTenant() {
		return nil
	}
	return fmt.Errorf("%s application %s (%s) is single-tenant, homed in tenant %s, and cannot be provisioned in tenant %s (%s): %w",
		role, app.AppID, app.DisplayName, app.HomeTenantID, t.DisplayName, t.ID, tenant.ErrNotMultiTenant)
}

// ensureSP returns app's service principal in t, creating it if absent and
// recording the creation in created.
func (m *Manager) ensureSP(ctx context.Context, t tenant.Tenant, app tenant.Application, created *[]tenant.ServicePrincipal) (tenant.ServicePrincipal, error) {
	sp, isNew, err := m.dir.EnsureServicePrincipal(ctx, t.ID, app.AppID)
	if err != nil {
		return tenant.ServicePrincipal{}, err
	}
	if isNew {
		*created = append(*created, sp)
	}
	return sp, nil
}

// putGrant creates the grant with scopes or adds the missing scopes to the
// existing grant of the same client, resource, consent type and principal.
// changed is false when every scope was already granted.
func (m *Manager) putGrant(ctx context.Context, g PermissionGrant, scopes []string) (PermissionGrant, bool, error) {
	g.ID = m.newID()
	g.Scope = strings.Join(scopes, " ")
	changed := true
	out, err := m.store.PutPermissionGrant(ctx, g, func(ex *PermissionGrant) error {
		have := ex.Scopes()
		changed = false
		for _, s := range scopes {
			if !containsFold(have, s) {
				have = append(have, s)
				changed = true
			}
		}
		ex.Scope = strings.Join(have, " ")
		return nil
	})
	if err != nil {
		return PermissionGrant{}, false, fmt.Errorf("granting %s to client %s on %s: %w", g.Scope, g.ClientID, g.ResourceID, err)
	}
	return out, changed, nil
}

// principal is the holder of an app role assignment.
type principal struct {
	id, typ, displayName, memberType string
	// unassignable says why no new app role may be assigned to the
	// principal, or is empty.
	unassignable string
}

func principalOf(sp tenant.ServicePrincipal) principal {
	return principal{id: sp.ID, typ: PrincipalServicePrincipal, displayName: sp.DisplayName, memberType: tenant.MemberTypeApplication}
}

func userPrincipal(u tenant.User) principal {
	return principal{id: u.ID, typ: PrincipalUser, displayName: u.DisplayName, memberType: tenant.MemberTypeUser}
}

// groupPrincipal: a role of member type User may be assigned to a group as
// to a user (Entra's allowedMemberTypes "User" means "Users/Groups"), and
// reaches the group's direct members.
func groupPrincipal(g tenant.Group) principal {
	p := principal{id: g.ID, typ: PrincipalGroup, displayName: g.DisplayName, memberType: tenant.MemberTypeUser}
	if !g.SecurityEnabled {
		// Entra assigns app roles to security groups and to
		// security-enabled Microsoft 365 groups only
		// (group-post-approleassignments: "assign an app role to a
		// security group"). One assigned before the group stopped being
		// security-enabled stays, and can be removed or exported and
		// applied again (PutRoleAssignment).
		p.unassignable = "app roles are assigned to security-enabled groups only; Microsoft 365 group " + g.DisplayName + " is not security-enabled"
	}
	return p
}

// mayHold refuses an assignment of role to p when the role's member types
// leave p out.
func (p principal) mayHold(role tenant.AppRole, resSP tenant.ServicePrincipal) error {
	if !role.Allows(p.memberType) {
		return fmt.Errorf("%w: app role %q of %s allows member types %s, not %s",
			tenant.ErrInvalid, role.Value, resSP.DisplayName, strings.Join(role.AllowedMemberTypes, ","), p.memberType)
	}
	return nil
}

// assign creates an app role assignment; created is false when the principal
// already held the role, and the assignment returned is then the stored one.
func (m *Manager) assign(ctx context.Context, t tenant.Tenant, resSP tenant.ServicePrincipal, r tenant.AppRole, p principal) (AppRoleAssignment, bool, error) {
	a := AppRoleAssignment{
		ID: m.newID(), TenantID: t.ID, AppRoleID: r.ID,
		PrincipalID: p.id, PrincipalType: p.typ, PrincipalDisplayName: p.displayName,
		ResourceID: resSP.ID, ResourceDisplayName: resSP.DisplayName,
		CreatedDateTime: m.now().UTC(),
	}
	err := m.store.CreateAppRoleAssignment(ctx, a)
	switch {
	case errors.Is(err, tenant.ErrExists):
		held, lerr := m.store.AppRoleAssignmentsOf(ctx, t.ID, p.id, resSP.ID)
		if lerr != nil {
			return AppRoleAssignment{}, false, lerr
		}
		for _, h := range held {
			if h.AppRoleID == r.ID {
				return h, false, nil
			}
		}
		return AppRoleAssignment{}, false, fmt.Errorf("assigning app role %s of %s to %s: %w", r.Value, resSP.DisplayName, p.displayName, err)
	case err != nil:
		return AppRoleAssignment{}, false, fmt.Errorf("assigning app role %s of %s to %s: %w", r.Value, resSP.DisplayName, p.displayName, err)
	}
	return a, true, nil
}

// Assignee names who receives an app role: a client application (through
// its service principal in the tenant), a user or a group. Exactly one is
// set.
type Assignee struct {
	ClientAppID string
	User        string // UPN or object id
	// Group is a group's object id, or its display name when no other
	// group of the tenant has it (tenant.Directory.FindGroup).
	Group string
}

// count is how many principals who names; an assignment needs one.
func (who Assignee) count() int {
	n := 0
	for _, v := range []string{who.ClientAppID, who.User, who.Group} {
		if v != "" {
			n++
		}
	}
	return n
}

// AssignRole assigns an app role of a resource to a client or a user, as an
// administrator does under "Users and groups" or by granting an application
// permission. The role must allow the principal's member type (Application
// for clients, User for users) and be enabled. A client must already have a
// service principal in the tenant: assigning does not provision it. Assigning
// a role the principal already holds fails with tenant.ErrExists.
func (m *Manager) AssignRole(ctx context.Context, tenantRef, resourceName, roleValue string, who Assignee) (AppRoleAssignment, error) {
	t, resSP, role, p, err := m.roleTarget(ctx, tenantRef, resourceName, roleValue, who)
	if err != nil {
		return AppRoleAssignment{}, err
	}
	switch {
	case !role.IsEnabled:
		return AppRoleAssignment{}, fmt.Errorf("%w: app role %q of %s is disabled", tenant.ErrInvalid, role.Value, resSP.DisplayName)
	case p.unassignable != "":
		return AppRoleAssignment{}, fmt.Errorf("%w: %s", tenant.ErrInvalid, p.unassignable)
	}
	if err := p.mayHold(role, resSP); err != nil {
		return AppRoleAssignment{}, err
	}
	a, created, err := m.assign(ctx, t, resSP, role, p)
	if err != nil {
		return AppRoleAssignment{}, err
	}
	if !created {
		return AppRoleAssignment{}, fmt.Errorf("%s already holds app role %q of %s: %w", p.displayName, role.Value, resSP.DisplayName, tenant.ErrExists)
	}
	return a, nil
}

// UnassignRole deletes the assignment of an app role of a resource to a
// client or user, and returns it. tenant.ErrNotFound if there is none.
func (m *Manager) UnassignRole(ctx context.Context, tenantRef, resourceName, roleValue string, who Assignee) (AppRoleAssignment, error) {
	t, resSP, role, p, err := m.roleTarget(ctx, tenantRef, resourceName, roleValue, who)
	if err != nil {
		return AppRoleAssignment{}, err
	}
	as, err := m.store.AppRoleAssignmentsOf(ctx, t.ID, p.id, resSP.ID)
	if err != nil {
		return AppRoleAssignment{}, err
	}
	i := slices.IndexFunc(as, func(a AppRoleAssignment) bool { return a.AppRoleID == role.ID })
	if i < 0 {
		return AppRoleAssignment{}, fmt.Errorf("assignment of app role %q of %s to %s: %w", role.Value, resSP.DisplayName, p.displayName, tenant.ErrNotFound)
	}
	if err := m.store.DeleteAppRoleAssignment(ctx, t.ID, as[i].ID); err != nil {
		return AppRoleAssignment{}, err
	}
	return as[i], nil
}

// roleTarget resolves the tenant, the resource's service principal, the
// role by value, and the principal of a role assignment.
func (m *Manager) roleTarget(ctx context.Context, tenantRef, resourceName, roleValue string, who Assignee) (tenant.Tenant, tenant.ServicePrincipal, tenant.AppRole, principal, error) {
	var (
		t     tenant.Tenant
		resSP tenant.ServicePrincipal
		role  tenant.AppRole
		p     principal
	)
	if who.count() != 1 {
		return t, resSP, role, p, fmt.Errorf("%w: name one client application, user or group to assign", tenant.ErrInvalid)
	}
	t, err := m.dir.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return t, resSP, role, p, err
	}
	resSP, resApp, err := m.dir.FindServicePrincipal(ctx, t.ID, resourceName)
	if err != nil {
		return t, resSP, role, p, fmt.Errorf("resource %q in tenant %s (%s): %w", resourceName, t.DisplayName, t.ID, err)
	}
	role, ok := resApp.AppRoleByValue(roleValue)
	if !ok {
		var values []string
		for _, r := range resApp.AppRoles {
			values = append(values, r.Value)
		}
		return t, resSP, role, p, fmt.Errorf("app role %q of %s (defined: %s): %w",
			roleValue, resApp.DisplayName, cmp.Or(strings.Join(values, ", "), "none"), tenant.ErrNotFound)
	}
	p, err = m.principal(ctx, t, who)
	return t, resSP, role, p, err
}

// principal resolves an Assignee in t. A client without a service principal
// in t is an error that says how to create one.
func (m *Manager) principal(ctx context.Context, t tenant.Tenant, who Assignee) (principal, error) {
	if who.User != "" {
		u, err := m.dir.FindUser(ctx, t.ID, who.User)
		if err != nil {
			return principal{}, fmt.Errorf("user %s in tenant %s: %w", who.User, t.DisplayName, err)
		}
		return userPrincipal(u), nil
	}
	if who.Group != "" {
		g, err := m.dir.FindGroup(ctx, t.ID, who.Group)
		if err != nil {
			return principal{}, fmt.Errorf("group %s in tenant %s: %w", who.Group, t.DisplayName, err)
		}
		return groupPrincipal(g), nil
	}
	sp, err := m.clientSP(ctx, t, who.ClientAppID)
	if err != nil {
		return principal{}, err
	}
	return principalOf(sp), nil
}

// clientSP returns the client application's service principal in t, or an
// error wrapping tenant.ErrNotFound that says how to create one.
func (m *Manager) clientSP(ctx context.Context, t tenant.Tenant, appID string) (tenant.ServicePrincipal, error) {
	app, err := m.dir.GetApplication(ctx, appID)
	if err != nil {
		return tenant.ServicePrincipal{}, fmt.Errorf("client %s: %w", appID, err)
	}
	sp, _, err := m.dir.FindServicePrincipal(ctx, t.ID, app.AppID)
	if errors.Is(err, tenant.ErrNotFound) {
		return tenant.ServicePrincipal{}, fmt.Errorf("application %s (%s) has no service principal in tenant %s (%s); it is not provisioned implicitly: grant admin consent or add the service principal first: %w",
			app.AppID, app.DisplayName, t.DisplayName, t.ID, err)
	}
	return sp, err
}

// AssignmentEntry is an app role assignment with the names a reader needs.
type AssignmentEntry struct {
	AppRoleAssignment
	AppRoleValue   string `json:"appRoleValue"`
	ResourceAppID  string `json:"resourceAppId"`
	PrincipalAppID string `json:"principalAppId,omitempty"` // for service principals
}

// GrantEntry is a delegated permission grant with the names a reader needs.
type GrantEntry struct {
	PermissionGrant
	ClientAppID         string `json:"clientAppId"`
	ClientDisplayName   string `json:"clientDisplayName"`
	ResourceAppID       string `json:"resourceAppId"`
	ResourceDisplayName string `json:"resourceDisplayName"`
	// PrincipalName is the user principal name of a Principal grant's user.
	PrincipalName string `json:"principalName,omitempty"`
}

// Listing is the grants of a tenant.
type Listing struct {
	TenantID           string            `json:"tenantId"`
	AppRoleAssignments []AssignmentEntry `json:"appRoleAssignments"`
	PermissionGrants   []GrantEntry      `json:"oauth2PermissionGrants"`
}

// List returns the app role assignments and delegated permission grants of a
// tenant. With a client, only those naming the client's service principal:
// the roles and grants it holds, and the assignments of its own roles to
// users and other clients.
func (m *Manager) List(ctx context.Context, tenantRef, clientAppID string) (Listing, error) {
	t, err := m.dir.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return Listing{}, err
	}
	clientSPID := ""
	if clientAppID != "" {
		sp, err := m.clientSP(ctx, t, clientAppID)
		if err != nil {
			return Listing{}, err
		}
		clientSPID = sp.ID
	}
	as, err := m.store.ListAppRoleAssignments(ctx, t.ID)
	if err != nil {
		return Listing{}, err
	}
	gs, err := m.store.ListPermissionGrants(ctx, t.ID)
	if err != nil {
		return Listing{}, err
	}
	if clientSPID != "" {
		as = slices.DeleteFunc(as, func(a AppRoleAssignment) bool { return a.PrincipalID != clientSPID && a.ResourceID != clientSPID })
		gs = slices.DeleteFunc(gs, func(g PermissionGrant) bool { return g.ClientID != clientSPID })
	}
	out := Listing{TenantID: t.ID}
	if out.AppRoleAssignments, out.PermissionGrants, err = m.describe(ctx, t, as, gs); err != nil {
		return Listing{}, err
	}
	return out, nil
}

// describe adds to assignments and grants of t the names a reader needs,
// and sorts them: assignments by resource, principal and role, grants by
// client, resource, consent type and user.
func (m *Manager) describe(ctx context.Context, t tenant.Tenant, as []AppRoleAssignment, gs []PermissionGrant) ([]AssignmentEntry, []GrantEntry, error) {
	sps, err := m.dir.ListServicePrincipals(ctx, t.ID)
	if err != nil {
		return nil, nil, err
	}
	spByID := map[string]tenant.ServicePrincipal{}
	for _, sp := range sps {
		spByID[sp.ID] = sp
	}
	apps := map[string]*tenant.Application{} // by appId, read once per call
	appOf := func(spID string) *tenant.Application {
		sp, ok := spByID[spID]
		if !ok {
			return nil
		}
		if a, ok := apps[sp.AppID]; ok {
			return a
		}
		var ap *tenant.Application
		if a, err := m.dir.GetApplication(ctx, sp.AppID); err == nil {
			ap = &a
		}
		apps[sp.AppID] = ap
		return ap
	}

	assignments := []AssignmentEntry{}
	for _, a := range as {
		e := AssignmentEntry{AppRoleAssignment: a, ResourceAppID: spByID[a.ResourceID].AppID}
		if a.PrincipalType == PrincipalServicePrincipal {
			e.PrincipalAppID = spByID[a.PrincipalID].AppID
		}
		if app := appOf(a.ResourceID); app != nil {
			e.AppRoleValue = roleValue(*app, a.AppRoleID)
		}
		assignments = append(assignments, e)
	}
	grants := []GrantEntry{}
	var upns map[string]string
	for _, g := range gs {
		upn := ""
		if g.ConsentType == Principal {
			if upns == nil {
				users, err := m.dir.ListUsers(ctx, t.ID)
				if err != nil {
					return nil, nil, err
				}
				upns = map[string]string{}
				for _, u := range users {
					upns[u.ID] = u.UserPrincipalName
				}
			}
			upn = upns[g.PrincipalID]
		}
		grants = append(grants, grantEntry(g, spByID[g.ClientID], spByID[g.ResourceID], upn))
	}
	slices.SortStableFunc(assignments, func(a, b AssignmentEntry) int {
		return cmp.Or(strings.Compare(a.ResourceDisplayName, b.ResourceDisplayName),
			strings.Compare(a.PrincipalDisplayName, b.PrincipalDisplayName),
			strings.Compare(a.AppRoleValue, b.AppRoleValue))
	})
	slices.SortStableFunc(grants, func(a, b GrantEntry) int {
		return cmp.Or(strings.Compare(a.ClientDisplayName, b.ClientDisplayName),
			strings.Compare(a.ResourceDisplayName, b.ResourceDisplayName),
			strings.Compare(a.ConsentType, b.ConsentType),
			strings.Compare(a.PrincipalName, b.PrincipalName))
	})
	return assignments, grants, nil
}

// RevokeResult lists what a revocation deleted.
type RevokeResult struct {
	TenantID           string            `json:"tenantId"`
	ClientAppID        string            `json:"clientAppId"`
	UserPrincipalName  string            `json:"userPrincipalName,omitempty"`
	PermissionGrants   []GrantEntry      `json:"deletedOAuth2PermissionGrants"`
	AppRoleAssignments []AssignmentEntry `json:"deletedAppRoleAssignments"`
}

// Revoke withdraws consent given to a client in a tenant. Without a user it
// deletes the client's AllPrincipals grants and the app role assignments
// its service principal holds (what admin consent created, and direct
// assignments); with a user, that user's own (Principal) grants to the
// client. The service principals stay. Nothing to delete is not an error.
func (m *Manager) Revoke(ctx context.Context, tenantRef, clientAppID, userRef string) (RevokeResult, error) {
	t, err := m.dir.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return RevokeResult{}, err
	}
	sp, err := m.clientSP(ctx, t, clientAppID)
	if err != nil {
		return RevokeResult{}, err
	}
	res := RevokeResult{TenantID: t.ID, ClientAppID: sp.AppID}
	var user tenant.User
	if userRef != "" {
		if user, err = m.dir.FindUser(ctx, t.ID, userRef); err != nil {
			return RevokeResult{}, fmt.Errorf("user %s in tenant %s: %w", userRef, t.DisplayName, err)
		}
		res.UserPrincipalName = user.UserPrincipalName
	}
	gs, err := m.store.ListPermissionGrants(ctx, t.ID)
	if err != nil {
		return RevokeResult{}, err
	}
	gs = slices.DeleteFunc(gs, func(g PermissionGrant) bool {
		return g.ClientID != sp.ID || userRef == "" && g.ConsentType != AllPrincipals ||
			userRef != "" && (g.ConsentType != Principal || g.PrincipalID != user.ID)
	})
	var as []AppRoleAssignment
	if userRef == "" {
		if as, err = m.store.ListAppRoleAssignments(ctx, t.ID); err != nil {
			return RevokeResult{}, err
		}
		as = slices.DeleteFunc(as, func(a AppRoleAssignment) bool { return a.PrincipalID != sp.ID })
	}
	// Name what is deleted while the names can still be read.
	if res.AppRoleAssignments, res.PermissionGrants, err = m.describe(ctx, t, as, gs); err != nil {
		return RevokeResult{}, err
	}
	for _, g := range gs {
		if err := m.store.DeletePermissionGrant(ctx, t.ID, g.ID); err != nil && !errors.Is(err, tenant.ErrNotFound) {
			return res, err
		}
	}
	for _, a := range as {
		if err := m.store.DeleteAppRoleAssignment(ctx, t.ID, a.ID); err != nil && !errors.Is(err, tenant.ErrNotFound) {
			return res, err
		}
	}
	return res, nil
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}
