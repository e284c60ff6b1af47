package seed

import (
	"context"
	"encoding/pem"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// ExportComment is the "$comment" of an exported seed: what it leaves out.
const ExportComment = "Written by issuer export. Client secrets and user passwords are not exported: " +
	"the database keeps only salted hashes of them. Add secrets[].value and users[].password " +
	"where tokens need them, then apply with issuer apply -f FILE."

// Export describes the directory, or the one tenant tenantRef names
// when it is not empty, as a seed document: applying it to an empty
// database reproduces the tenants, applications (with their ids, roles,
// scopes and declared permissions), service principals (with their ids,
// which app-only tokens carry as oid), users, grants and role assignments,
// so that tokens carry the same claims. Client secrets and passwords are
// left out (only their hashes are stored; see ExportComment). A tenant
// exported alone may name applications homed in other tenants.
func Export(ctx context.Context, dir *tenant.Directory, m *consent.Manager, tenantRef string) (Document, error) {
	var ts []tenant.Tenant
	if tenantRef != "" {
		t, err := dir.ResolveTenant(ctx, tenantRef)
		if err != nil {
			return Document{}, err
		}
		ts = []tenant.Tenant{t}
	} else {
		var err error
		if ts, err = dir.ListTenants(ctx); err != nil {
			return Document{}, err
		}
	}
	out := Document{Comment: ExportComment, Tenants: []Tenant{}}
	for _, t := range ts {
		st, err := exportTenant(ctx, dir, m, t)
		if err != nil {
			return Document{}, err
		}
		out.Tenants = append(out.Tenants, st)
	}
	return out, nil
}

func exportTenant(ctx context.Context, dir *tenant.Directory, m *consent.Manager, t tenant.Tenant) (Tenant, error) {
	st := Tenant{ID: t.ID, Name: t.DisplayName}
	if initial, err := tenant.InitialDomain(t.DisplayName); err == nil && len(t.Domains) > 0 && t.Domains[0] == initial {
		st.Domains = slices.Clone(t.Domains[1:])
	} else {
		st.Domains = slices.Clone(t.Domains)
	}
	if len(st.Domains) == 0 {
		st.Domains = nil
	}
	if !t.AllowsUserConsent() {
		st.UserConsent = string(tenant.UserConsentDisabled)
	}
	sps, err := dir.ListServicePrincipals(ctx, t.ID)
	if err != nil {
		return st, err
	}
	// A managed identity's application and service principal are the
	// identity, exported as one managedIdentities entry.
	identities := map[string]bool{}
	for _, sp := range sps {
		if !sp.IsManagedIdentity() {
			continue
		}
		identities[sp.AppID] = true
		sm := ManagedIdentity{ClientID: sp.AppID, ID: sp.ID, SystemAssigned: sp.SystemAssigned(), ResourceID: sp.ManagedIdentityResourceID()}
		if !sp.AccountEnabled {
			sm.AccountEnabled = ptr(false)
		}
		st.ManagedIdentities = append(st.ManagedIdentities, sm)
	}
	users, err := dir.ListUsers(ctx, t.ID)
	if err != nil {
		return st, err
	}
	owners := ownerNames(users, sps)
	apps, err := dir.ListApplications(ctx, t.ID)
	if err != nil {
		return st, err
	}
	for _, app := range apps {
		if identities[app.AppID] {
			continue
		}
		sa, err := exportApplication(ctx, dir, app)
		if err != nil {
			return st, err
		}
		sa.Owners = owners(app.Owners)
		st.Applications = append(st.Applications, sa)
	}
	for _, sp := range sps {
		// Microsoft Graph's service principal comes with every tenant.
		if sp.IsManagedIdentity() || tenant.IsFirstParty(sp.AppID) {
			continue
		}
		ssp := ServicePrincipal{AppID: sp.AppID, ID: sp.ID}
		if !sp.AccountEnabled {
			ssp.AccountEnabled = ptr(false)
		}
		if sp.AppRoleAssignmentRequired {
			ssp.AppRoleAssignmentRequired = ptr(true)
		}
		ssp.Owners = owners(sp.Owners)
		st.ServicePrincipals = append(st.ServicePrincipals, ssp)
	}
	upns := map[string]string{}
	for _, u := range users {
		upns[u.ID] = u.UserPrincipalName
		su := User{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
			DirectoryRoles: slices.Clone(u.DirectoryRoles),
			Mail:           u.Mail, GivenName: u.GivenName, Surname: u.Surname, Country: u.Country}
		if !u.AccountEnabled {
			su.AccountEnabled = ptr(false)
		}
		st.Users = append(st.Users, su)
	}
	if st.Groups, err = exportGroups(ctx, dir, t, users, sps); err != nil {
		return st, err
	}
	l, err := m.List(ctx, t.ID, "")
	if err != nil {
		return st, err
	}
	for _, g := range l.PermissionGrants {
		c := Consent{Client: g.ClientAppID, Resource: g.ResourceAppID, Scopes: g.Scopes()}
		if g.ConsentType == consent.AllPrincipals {
			c.Admin = true
		} else {
			c.User = cmpOr(g.PrincipalName, g.PrincipalID)
		}
		if len(c.Scopes) > 0 {
			st.Consents = append(st.Consents, c)
		}
	}
	for _, a := range l.AppRoleAssignments {
		if a.AppRoleValue == "" {
			continue // the role is gone from the resource
		}
		r := RoleAssignment{Resource: a.ResourceAppID, Role: a.AppRoleValue}
		switch a.PrincipalType {
		case consent.PrincipalUser:
			r.User = cmpOr(upns[a.PrincipalID], a.PrincipalID)
		case consent.PrincipalGroup:
			r.Group = a.PrincipalID
		default:
			r.Client = a.PrincipalAppID
		}
		st.RoleAssignments = append(st.RoleAssignments, r)
	}
	return st, nil
}

func exportApplication(ctx context.Context, dir *tenant.Directory, app tenant.Application) (Application, error) {
	sa := Application{AppID: app.AppID, ID: app.ID, DisplayName: app.DisplayName}
	if len(app.IdentifierURIs) > 0 {
		sa.IdentifierURIs = slices.Clone(app.IdentifierURIs)
	}
	if v := app.API.RequestedAccessTokenVersion; v != nil {
		sa.TokenVersion = *v
	}
	if app.IsMultiTenant() {
		sa.MultiTenant = ptr(true)
	}
	if app.IsFallbackPublicClient {
		sa.PublicClient = ptr(true)
	}
	sa.WebRedirectURIs = nonEmptyClone(app.Web.RedirectURIs)
	sa.SPARedirectURIs = nonEmptyClone(app.SPA.RedirectURIs)
	sa.PublicClientRedirectURIs = nonEmptyClone(app.PublicClient.RedirectURIs)
	if oc := app.OptionalClaims; oc != nil && !oc.IsZero() {
		c := *oc
		sa.OptionalClaims = &c
	}
	if p := app.TokenLifetimePolicy; p != nil {
		sa.AccessTokenLifetime = p.AccessTokenLifetime.String()
	}
	sa.GroupMembershipClaims = app.GroupMembershipClaims
	for _, r := range app.AppRoles {
		sr := AppRole{ID: r.ID, Value: r.Value, DisplayName: r.DisplayName, Description: r.Description,
			AllowedMemberTypes: slices.Clone(r.AllowedMemberTypes)}
		if !r.IsEnabled {
			sr.IsEnabled = ptr(false)
		}
		sa.AppRoles = append(sa.AppRoles, sr)
	}
	for _, s := range app.API.OAuth2PermissionScopes {
		ss := Scope{ID: s.ID, Value: s.Value, Type: s.Type,
			AdminConsentDisplayName: s.AdminConsentDisplayName, AdminConsentDescription: s.AdminConsentDescription,
			UserConsentDisplayName: s.UserConsentDisplayName, UserConsentDescription: s.UserConsentDescription}
		if !s.IsEnabled {
			ss.IsEnabled = ptr(false)
		}
		sa.Scopes = append(sa.Scopes, ss)
	}
	for _, rra := range app.RequiredResourceAccess {
		res, err := dir.GetApplication(ctx, rra.ResourceAppID)
		if err != nil {
			continue // the resource is gone: nothing to declare
		}
		r := ResourceAccess{Resource: res.AppID}
		for _, ra := range rra.ResourceAccess {
			switch ra.Type {
			case tenant.AccessScope:
				if i := slices.IndexFunc(res.API.OAuth2PermissionScopes, func(s tenant.PermissionScope) bool { return strings.EqualFold(s.ID, ra.ID) }); i >= 0 {
					r.Scopes = append(r.Scopes, res.API.OAuth2PermissionScopes[i].Value)
				}
			case tenant.AccessRole:
				if i := slices.IndexFunc(res.AppRoles, func(x tenant.AppRole) bool { return strings.EqualFold(x.ID, ra.ID) }); i >= 0 {
					r.Roles = append(r.Roles, res.AppRoles[i].Value)
				}
			}
		}
		if len(r.Scopes)+len(r.Roles) > 0 {
			sa.RequiredResourceAccess = append(sa.RequiredResourceAccess, r)
		}
	}
	for _, k := range app.KeyCredentials {
		sa.Certificates = append(sa.Certificates, Certificate{
			DisplayName: k.DisplayName, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Key})),
		})
	}
	for _, f := range app.FederatedIdentityCredentials {
		sa.FederatedCredentials = append(sa.FederatedCredentials, FederatedCredential{
			Name: f.Name, Issuer: f.Issuer, Subject: f.Subject, Audiences: f.Audiences, Description: f.Description,
		})
	}
	return sa, nil
}

func ptr[T any](v T) *T { return &v }

// nonEmptyClone copies s, or returns nil for an empty list (left out of
// the export).
func nonEmptyClone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// ownerNames returns what names the owners ids among a tenant's users and
// service principals in a seed: a user's UPN, a service principal's
// application (client). An owner deleted since is left out.
func ownerNames(users []tenant.User, sps []tenant.ServicePrincipal) func(ids []string) []Owner {
	names := map[string]Owner{}
	for _, u := range users {
		names[u.ID] = Owner{User: u.UserPrincipalName}
	}
	for _, sp := range sps {
		names[sp.ID] = Owner{Client: sp.AppID}
	}
	return func(ids []string) []Owner {
		var out []Owner
		for _, id := range ids {
			if o, ok := names[strings.ToLower(id)]; ok {
				out = append(out, o)
			}
		}
		return out
	}
}

// exportGroups describes the tenant's groups with their ids and direct
// members: users by UPN, service principals by their application's appId
// (client), groups by id, so that applying reproduces the nesting
// whatever the order.
func exportGroups(ctx context.Context, dir *tenant.Directory, t tenant.Tenant, users []tenant.User, sps []tenant.ServicePrincipal) ([]Group, error) {
	groups, err := dir.ListGroups(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	names := map[string]Member{}
	for _, u := range users {
		names[u.ID] = Member{User: u.UserPrincipalName}
	}
	for _, sp := range sps {
		names[sp.ID] = Member{Client: sp.AppID}
	}
	for _, g := range groups {
		names[g.ID] = Member{Group: g.ID}
	}
	var out []Group
	for _, g := range groups {
		sg := Group{ID: g.ID, DisplayName: g.DisplayName, Description: g.Description, MailNickname: g.MailNickname}
		if g.IsUnified() {
			sg.GroupTypes = []string{tenant.GroupTypeUnified}
			if g.SecurityEnabled {
				sg.SecurityEnabled = ptr(true)
			}
		}
		members, err := dir.ListGroupMembers(ctx, t.ID, g.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if n, ok := names[m.ID]; ok {
				sg.Members = append(sg.Members, n)
			}
		}
		out = append(out, sg)
	}
	return out, nil
}
