package issuer

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// consentPlan is what the consent page asks for: the resource and the
// permissions, each with its texts and whether only an administrator may
// grant it.
type consentPlan struct {
	resource    *tenant.Application // nil when the request names no API
	scopes      []tenant.PermissionScope
	roles       []tenant.AppRole // admin consent to application permissions
	adminNeeded bool             // an Admin-type scope, or app roles
}

// planConsent works out the permissions of the request: the named scopes
// of its resource, or for /.default (and v1) the scopes the client
// declares of it in requiredResourceAccess (its static permissions).
// The admin consent endpoint plans every declared permission, app roles
// included.
func (s *Server) planConsent(ctx context.Context, f flow, t tenant.Tenant) (consentPlan, error) {
	var p consentPlan
	if f.kind == flowAdminConsent {
		for _, rra := range f.client.RequiredResourceAccess {
			res, err := s.backend.GetApplication(ctx, rra.ResourceAppID)
			if err != nil {
				continue // a removed API: admin consent skips it too
			}
			for _, ra := range rra.ResourceAccess {
				if i := slices.IndexFunc(res.API.OAuth2PermissionScopes, func(ps tenant.PermissionScope) bool { return ps.ID == ra.ID }); ra.Type == tenant.AccessScope && i >= 0 && res.API.OAuth2PermissionScopes[i].IsEnabled {
					p.scopes = append(p.scopes, res.API.OAuth2PermissionScopes[i])
				}
				if i := slices.IndexFunc(res.AppRoles, func(r tenant.AppRole) bool { return r.ID == ra.ID }); ra.Type == tenant.AccessRole && i >= 0 && res.AppRoles[i].IsEnabled {
					p.roles = append(p.roles, res.AppRoles[i])
				}
			}
		}
		p.adminNeeded = true
		return p, nil
	}
	if f.scope.Resource == "" {
		return p, nil
	}
	res, err := s.consentResource(ctx, f, t)
	if err != nil {
		return p, err
	}
	p.resource = &res
	if f.scope.Default {
		for _, rra := range f.client.RequiredResourceAccess {
			if rra.ResourceAppID != res.AppID {
				continue
			}
			for _, ps := range res.API.OAuth2PermissionScopes {
				if ps.IsEnabled && slices.Contains(rra.ResourceAccess, tenant.ResourceAccess{ID: ps.ID, Type: tenant.AccessScope}) {
					p.scopes = append(p.scopes, ps)
				}
			}
		}
		// A sign-in naming only OpenID Connect scopes asks Microsoft
		// Graph for them and for the Graph permissions the client
		// declares, as Entra's consent prompt lists them ("Sign you in",
		// "View your basic profile", …).
		for _, v := range f.scope.grantValues() {
			if ps, ok := res.ScopeByValue(v); ok && ps.IsEnabled && !slices.ContainsFunc(p.scopes, func(q tenant.PermissionScope) bool { return q.ID == ps.ID }) {
				p.scopes = append(p.scopes, ps)
			}
		}
	} else {
		for _, v := range f.scope.grantValues() {
			ps, ok := res.ScopeByValue(v)
			if !ok || !ps.IsEnabled {
				return p, errorf(CodeInvalidScope, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", v)
			}
			p.scopes = append(p.scopes, ps)
		}
	}
	for _, ps := range p.scopes {
		if ps.Type != tenant.ScopeTypeUser {
			p.adminNeeded = true
		}
	}
	return p, nil
}

// consentResource finds the requested API: through its service principal
// in t, else as the client's home tenant knows it (consent provisions it).
func (s *Server) consentResource(ctx context.Context, f flow, t tenant.Tenant) (tenant.Application, error) {
	_, app, err := s.backend.FindServicePrincipal(ctx, t.ID, f.scope.Resource)
	switch {
	case err == nil:
		return app, nil
	case !errors.Is(err, tenant.ErrNotFound):
		return tenant.Application{}, err
	}
	res, err := s.cfg.Directory.ResolveResourceApplication(ctx, f.client, f.scope.Resource)
	if err != nil {
		return tenant.Application{}, DenialError(&consent.Denial{Reason: consent.ReasonResourceNotFound, Detail: err.Error(),
			TenantID: t.ID, TenantName: t.DisplayName, ClientAppID: f.client.AppID, ResourceName: f.scope.Resource})
	}
	return res, nil
}

// consentPrompt shows the consent page, or Entra's "Need admin approval"
// page when the user may not give the consent asked for: a
// non-administrator facing an Admin-type permission (AADSTS90094) or a
// tenant that does not let users consent (AADSTS90093).
func (s *Server) consentPrompt(w http.ResponseWriter, c *call, id string, f flow, t tenant.Tenant, u tenant.User, message string) {
	p, err := s.planConsent(c.ctx, f, t)
	if err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	admin := u.CanGrantAdminConsent()
	if !admin {
		if e := userConsentRefusal(t, p); e != nil {
			s.approvalPage(w, c, id, f, t, e)
			return
		}
	}
	d := pageData{Title: "Permissions requested", Action: s.formAction(f), Flow: id, CSRF: f.csrf,
		ClientName: f.client.DisplayName, TenantName: t.DisplayName, UserName: u.UserPrincipalName,
		Publisher: s.publisherDomain(c.ctx, f.client), OrgChoice: admin && f.kind != flowAdminConsent, OrgWide: f.kind == flowAdminConsent, Message: message}
	for _, ps := range p.scopes {
		v := permissionView{Name: ps.UserConsentDisplayName, Description: ps.UserConsentDescription, AdminOnly: ps.Type != tenant.ScopeTypeUser}
		if admin || v.Name == "" {
			v.Name, v.Description = ps.AdminConsentDisplayName, ps.AdminConsentDescription
		}
		if v.Name == "" {
			v.Name = ps.Value
		}
		d.Permissions = append(d.Permissions, v)
	}
	for _, r := range p.roles {
		d.Permissions = append(d.Permissions, permissionView{Name: cmp.Or(r.DisplayName, r.Value), Description: r.Description, AdminOnly: true})
	}
	if len(d.Permissions) == 0 {
		d.Permissions = []permissionView{{Name: "Sign you in", Description: "Lets the application know who you are."}}
	}
	s.renderPage(w, c, http.StatusOK, "consent", d)
}

// userConsentRefusal is the engine's rule for a user consenting alone
// (consent.Manager.GrantUserConsent enforces the same): only User-type
// scopes, and only where the tenant allows user consent.
func userConsentRefusal(t tenant.Tenant, p consentPlan) *Error {
	switch {
	case !t.AllowsUserConsent():
		return errorf(CodeUserConsentBlocked, "The application needs permission to access resources in your organization that only an admin can grant. "+
			"Please ask an admin to grant permission to this app before you can use it.")
	case p.adminNeeded:
		return errorf(CodeAdminApprovalRequired, "Admin consent is required for the permissions requested by this application: "+
			"at least one of them may only be granted by an administrator.")
	}
	return nil
}

// approvalPage shows "Need admin approval" with the refusal, and records
// it as a failed sign-in.
func (s *Server) approvalPage(w http.ResponseWriter, c *call, id string, f flow, t tenant.Tenant, e *Error) {
	s.log(c, e)
	s.recordSignIn(c, e)
	s.renderPage(w, c, http.StatusOK, "approval", pageData{Title: "Need admin approval", Action: s.formAction(f), Flow: id, CSRF: f.csrf,
		ClientName: f.client.DisplayName, TenantName: t.DisplayName, Code: e.Code, Message: e.Message})
}

// publisherDomain is what the consent page shows as the publisher: the
// client's home tenant's primary (first non-initial) domain, as Entra
// derives a default publisher domain from the tenant's verified domains.
func (s *Server) publisherDomain(ctx context.Context, app tenant.Application) string {
	home, err := s.backend.GetTenant(ctx, app.HomeTenantID)
	if err != nil || len(home.Domains) == 0 {
		return ""
	}
	for _, d := range home.Domains {
		if !strings.HasSuffix(d, ".onmicrosoft.com") {
			return d
		}
	}
	return home.Domains[0]
}

// postConsent answers the consent page. Accept writes the grants through
// the consent manager, the code path of `issuer consent grant`: an
// administrator who ticked "Consent on behalf of your organization" gives
// admin consent (AllPrincipals, and for /.default everything the client
// declares), anyone else user consent (a Principal grant for themselves).
// Cancel sends access_denied (AADSTS65004) to the client.
func (s *Server) postConsent(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, decision string, org bool) {
	if f.userID == "" {
		s.errorPage(w, c, errFlowLost())
		return
	}
	if decision != "accept" {
		s.declined(w, r, c, id, f)
		return
	}
	ctx := r.Context()
	t, u, err := s.signedInUser(ctx, f)
	if err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	c.tenantID, c.user = t.ID, u.UserPrincipalName
	err = s.grantConsent(ctx, f, t, u, org && u.CanGrantAdminConsent())
	switch {
	case errors.Is(err, consent.ErrUserConsentDisabled):
		s.approvalPage(w, c, id, f, t, userConsentRefusal(t, consentPlan{}).wrap(err))
		return
	case errors.Is(err, consent.ErrAdminConsentRequired) && u.CanGrantAdminConsent():
		s.consentPrompt(w, c, id, f, t, u, "Some of these permissions can only be granted for the whole organization: tick \"Consent on behalf of your organization\".")
		return
	case errors.Is(err, consent.ErrAdminConsentRequired):
		s.approvalPage(w, c, id, f, t, errorf(CodeAdminApprovalRequired, "The permissions requested require an administrator's consent.").wrap(err))
		return
	case err != nil:
		s.redirectError(w, c, &f, err)
		return
	}
	f.consented = true
	s.saveFlow(id, f)
	if f.kind == flowAdminConsent {
		s.adminConsented(w, c, id, f, t)
		return
	}
	s.proceed(w, r, c, id, f)
}

// grantConsent writes the consent the page was accepted for.
func (s *Server) grantConsent(ctx context.Context, f flow, t tenant.Tenant, u tenant.User, forOrganization bool) error {
	if f.kind == flowAdminConsent || forOrganization && (f.scope.Default || f.scope.Resource == "") {
		_, err := s.consent.GrantAdminConsent(ctx, t.ID, f.client.AppID)
		return wrapConsentError(err)
	}
	if f.scope.Resource == "" {
		// Nothing but sign-in was asked (v1 without a resource): consent
		// provisions the client's service principal, as Entra does on
		// first sign-in.
		_, _, err := s.cfg.Directory.EnsureServicePrincipal(ctx, t.ID, f.client.AppID)
		return err
	}
	values := f.scope.grantValues()
	if f.scope.bare && f.scope.Default {
		// An OpenID Connect sign-in: what the page listed of Graph.
		p, err := s.planConsent(ctx, f, t)
		if err != nil {
			return err
		}
		values = values[:0]
		for _, ps := range p.scopes {
			values = append(values, ps.Value)
		}
	}
	if forOrganization {
		_, _, err := s.consent.PutGrant(ctx, t, f.client.AppID, f.scope.Resource, "", values)
		return wrapConsentError(err)
	}
	_, err := s.consent.GrantUserConsent(ctx, t.ID, f.client.AppID, u.ID, f.scope.Resource, values)
	return wrapConsentError(err)
}

// wrapConsentError turns the manager's refusals that are the client's
// fault into the AADSTS error the redirect carries; the consent refusals
// (ErrAdminConsentRequired, ErrUserConsentDisabled) pass through for the
// page to answer.
func wrapConsentError(err error) error {
	switch {
	case err == nil, errors.Is(err, consent.ErrAdminConsentRequired), errors.Is(err, consent.ErrUserConsentDisabled):
		return err
	case errors.Is(err, tenant.ErrNotMultiTenant), errors.Is(err, tenant.ErrNotFound):
		return errorf(CodeResourceNotFound, "The consent cannot be given in this tenant: %s", err.Error()).wrap(err)
	case errors.Is(err, tenant.ErrInvalid):
		return errorf(CodeInvalidScope, "The provided value for the input parameter 'scope' is not valid.").wrap(err)
	}
	return err
}
