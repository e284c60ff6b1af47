package consent

import (
	"context"
	"encoding/pem"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// ExportComment is the "$comment" of an exported seed: what it leaves out.
const ExportComment = "Written by issuer export. Client secrets and user passwords are not exported: " +
	"the database keeps only salted hashes of them. Add secrets[].value and users[].password " +
	"where tokens need them, then apply with issuer apply -f FILE."

// ExportSeed describes the directory, or the one tenant tenantRef names
// when it is not empty, as a seed document: applying it to an empty
// database reproduces the tenants, applications (with their ids, roles,
// scopes and declared permissions), service principals (with their ids,
// which app-only tokens carry as oid), users, grants and role assignments,
// so that tokens carry the same claims. Client secrets and passwords are
// left out (only their hashes are stored; see ExportComment). A tenant
// exported alone may name applications homed in other tenants.
func (m *Manager) ExportSeed(ctx context.Context, tenantRef string) (Seed, error) {
	var ts []tenant.Tenant
	if tenantRef != "" {
		t, err := m.dir.ResolveTenant(ctx, tenantRef)
		if err != nil {
			return Seed{}, err
		}
		ts = []tenant.Tenant{t}
	} else {
		var err error
		if ts, err = m.dir.ListTenants(ctx); err != nil {
			return Seed{}, err
		}
	}
	out := Seed{Comment: ExportComment, Tenants: []SeedTenant{}}
	for _, t := range ts {
		st, err := m.exportTenant(ctx, t)
		if err != nil {
			return Seed{}, err
		}
		out.Tenants = append(out.Tenants, st)
	}
	return out, nil
}

func (m *Manager) exportTenant(ctx context.Context, t tenant.Tenant) (SeedTenant, error) {
	st := SeedTenant{ID: t.ID, Name: t.DisplayName}
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
	apps, err := m.dir.ListApplications(ctx, t.ID)
	if err != nil {
		return st, err
	}
	for _, app := range apps {
		sa, err := m.exportApplication(ctx, app)
		if err != nil {
			return st, err
		}
		st.Applications = append(st.Applications, sa)
	}
	sps, err := m.dir.ListServicePrincipals(ctx, t.ID)
	if err != nil {
		return st, err
	}
	for _, sp := range sps {
		ssp := SeedServicePrincipal{AppID: sp.AppID, ID: sp.ID}
		if !sp.AccountEnabled {
			ssp.AccountEnabled = ptr(false)
		}
		if sp.AppRoleAssignmentRequired {
			ssp.AppRoleAssignmentRequired = ptr(true)
		}
		st.ServicePrincipals = append(st.ServicePrincipals, ssp)
	}
	users, err := m.dir.ListUsers(ctx, t.ID)
	if err != nil {
		return st, err
	}
	upns := map[string]string{}
	for _, u := range users {
		upns[u.ID] = u.UserPrincipalName
		su := SeedUser{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName}
		if !u.AccountEnabled {
			su.AccountEnabled = ptr(false)
		}
		st.Users = append(st.Users, su)
	}
	l, err := m.List(ctx, t.ID, "")
	if err != nil {
		return st, err
	}
	for _, g := range l.PermissionGrants {
		c := SeedConsent{Client: g.ClientAppID, Resource: g.ResourceAppID, Scopes: g.Scopes()}
		if g.ConsentType == AllPrincipals {
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
		r := SeedRoleAssignment{Resource: a.ResourceAppID, Role: a.AppRoleValue}
		if a.PrincipalType == PrincipalUser {
			r.User = cmpOr(upns[a.PrincipalID], a.PrincipalID)
		} else {
			r.Client = a.PrincipalAppID
		}
		st.RoleAssignments = append(st.RoleAssignments, r)
	}
	return st, nil
}

func (m *Manager) exportApplication(ctx context.Context, app tenant.Application) (SeedApplication, error) {
	sa := SeedApplication{AppID: app.AppID, ID: app.ID, DisplayName: app.DisplayName}
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
	for _, r := range app.AppRoles {
		sr := SeedAppRole{ID: r.ID, Value: r.Value, DisplayName: r.DisplayName, Description: r.Description,
			AllowedMemberTypes: slices.Clone(r.AllowedMemberTypes)}
		if !r.IsEnabled {
			sr.IsEnabled = ptr(false)
		}
		sa.AppRoles = append(sa.AppRoles, sr)
	}
	for _, s := range app.API.OAuth2PermissionScopes {
		ss := SeedScope{ID: s.ID, Value: s.Value, Type: s.Type,
			AdminConsentDisplayName: s.AdminConsentDisplayName, AdminConsentDescription: s.AdminConsentDescription,
			UserConsentDisplayName: s.UserConsentDisplayName, UserConsentDescription: s.UserConsentDescription}
		if !s.IsEnabled {
			ss.IsEnabled = ptr(false)
		}
		sa.Scopes = append(sa.Scopes, ss)
	}
	for _, rra := range app.RequiredResourceAccess {
		res, err := m.dir.GetApplication(ctx, rra.ResourceAppID)
		if err != nil {
			continue // the resource is gone: nothing to declare
		}
		r := SeedResourceAccess{Resource: res.AppID}
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
		sa.Certificates = append(sa.Certificates, SeedCertificate{
			DisplayName: k.DisplayName, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Key})),
		})
	}
	for _, f := range app.FederatedIdentityCredentials {
		sa.FederatedCredentials = append(sa.FederatedCredentials, SeedFederatedCredential{
			Name: f.Name, Issuer: f.Issuer, Subject: f.Subject, Audiences: f.Audiences, Description: f.Description,
		})
	}
	return sa, nil
}

func ptr[T any](v T) *T { return &v }
