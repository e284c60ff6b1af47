package consent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// Flow is the kind of token request being decided.
type Flow string

// Flows. Client credentials is app-only; the others are delegated (a user is
// present).
const (
	FlowClientCredentials Flow = "client_credentials"
	FlowOnBehalfOf        Flow = "on_behalf_of"
	FlowPassword          Flow = "password"
	FlowRefreshToken      Flow = "refresh_token"
	// FlowInteractive is a user signing in to the client (`issuer token user`).
	FlowInteractive Flow = "interactive"
)

// Delegated reports whether the flow acts for a user.
func (f Flow) Delegated() bool { return f != FlowClientCredentials }

// Request is a token request after resolution: the directory objects it names.
// Pointers are nil where the object does not exist in the tenant.
type Request struct {
	Flow   Flow
	Tenant tenant.Tenant

	ClientAppID string              // as presented
	ClientApp   *tenant.Application // nil: no such application anywhere
	ClientSP    *tenant.ServicePrincipal

	ResourceName string // as requested (identifier URI or appId)
	ResourceApp  *tenant.Application
	ResourceSP   *tenant.ServicePrincipal

	User *tenant.User // delegated flows

	// Scopes are the requested delegated scope values, without the resource
	// prefix. Default is set for /.default (and v1 resource=), which asks
	// for everything already granted.
	Scopes  []string
	Default bool
}

// Decision is what a successful request is issued.
type Decision struct {
	TokenVersion int      `json:"tokenVersion"`
	Roles        []string `json:"roles,omitempty"`
	// Scopes are the delegated scopes (scp); nil for app-only tokens.
	Scopes []string `json:"scp,omitempty"`
}

// Engine decides token requests. It reads grants and assignments from its
// store on every call and caches nothing, so a revoke committed before a
// request starts is honoured by that request.
type Engine struct{ store Store }

// NewEngine returns an Engine reading grants from s.
func NewEngine(s Store) *Engine { return &Engine{store: s} }

// CheckClient applies the rules about the client alone. The token endpoint
// runs it before authenticating the client, as Entra answers AADSTS700016
// before it looks at the secret; a client registered in the tenant but
// without its service principal there (ReasonClientNoServicePrincipal) is
// the exception the token endpoint defers until the credential was checked
// (see issuer's Server.client).
func CheckClient(req Request) *Denial {
	switch {
	case req.ClientApp == nil:
		return req.deny(ReasonClientNotFound, "no application has appId %s", req.ClientAppID)
	case req.ClientSP == nil && req.ClientApp.HomeTenantID != req.Tenant.ID && !req.ClientApp.IsMultiTenant():
		return req.deny(ReasonClientNotFound,
			"application %s (%s) is single-tenant, homed in tenant %s; it cannot be used in tenant %s",
			req.ClientApp.AppID, req.ClientApp.DisplayName, req.ClientApp.HomeTenantID, req.Tenant.ID)
	case req.ClientSP == nil && req.ClientApp.HomeTenantID == req.Tenant.ID:
		return req.deny(ReasonClientNoServicePrincipal,
			"application %s (%s) is registered in tenant %s but has no service principal there: create one (issuer sp add)",
			req.ClientApp.AppID, req.ClientApp.DisplayName, req.Tenant.ID)
	case req.ClientSP == nil:
		return req.deny(ReasonClientNotFound,
			"application %s (%s) has no service principal in tenant %s: an administrator of the tenant must consent to it first",
			req.ClientApp.AppID, req.ClientApp.DisplayName, req.Tenant.ID)
	case !req.ClientSP.AccountEnabled:
		return req.deny(ReasonClientDisabled, "the service principal %s of application %s in tenant %s has accountEnabled=false",
			req.ClientSP.ID, req.ClientApp.AppID, req.Tenant.ID)
	}
	return nil
}

// Decide returns the roles and scopes to issue, or a *Denial naming the rule
// that refuses the request. Any other error is a store failure.
func (e *Engine) Decide(ctx context.Context, req Request) (Decision, error) {
	if d := CheckClient(req); d != nil {
		return Decision{}, d
	}
	switch {
	case req.ResourceSP == nil || req.ResourceApp == nil:
		return Decision{}, req.deny(ReasonResourceNotFound,
			"no application named %q has a service principal in tenant %s", req.ResourceName, req.Tenant.ID)
	case !req.ResourceSP.AccountEnabled:
		return Decision{}, req.deny(ReasonResourceDisabled,
			"the service principal %s of resource %s in tenant %s has accountEnabled=false",
			req.ResourceSP.ID, req.ResourceApp.AppID, req.Tenant.ID)
	}
	if !req.Flow.Delegated() {
		return e.decideAppOnly(ctx, req)
	}
	return e.decideDelegated(ctx, req)
}

// decideAppOnly: roles are the resource's enabled Application roles assigned
// to the client's service principal. With none, Entra still issues a token
// without roles, unless the resource requires assignment (AADSTS501051).
func (e *Engine) decideAppOnly(ctx context.Context, req Request) (Decision, error) {
	as, err := e.store.AppRoleAssignmentsOf(ctx, req.Tenant.ID, req.ClientSP.ID, req.ResourceSP.ID)
	if err != nil {
		return Decision{}, fmt.Errorf("reading app role assignments: %w", err)
	}
	if len(as) == 0 && req.ResourceSP.AppRoleAssignmentRequired {
		return Decision{}, req.deny(ReasonClientNotAssigned,
			"resource %s requires assignment (appRoleAssignmentRequired=true on its service principal %s) and client service principal %s holds no app role assignment on it",
			req.ResourceApp.AppID, req.ResourceSP.ID, req.ClientSP.ID)
	}
	return Decision{
		TokenVersion: req.ResourceApp.TokenVersion(),
		Roles:        roleValues(*req.ResourceApp, as, tenant.MemberTypeApplication),
	}, nil
}

// decideDelegated applies the consent rules of delegated flows: every
// requested scope must be exposed by the resource and granted to the client,
// for all users by an administrator or for this user by the user; /.default
// asks for everything granted.
func (e *Engine) decideDelegated(ctx context.Context, req Request) (Decision, error) {
	if req.User == nil {
		return Decision{}, fmt.Errorf("consent: delegated flow %s without a user", req.Flow)
	}
	if !req.User.AccountEnabled {
		return Decision{}, req.deny(ReasonUserDisabled, "user %s has accountEnabled=false", req.User.UserPrincipalName)
	}
	var unknown []string
	for _, s := range req.Scopes {
		if ps, ok := req.ResourceApp.ScopeByValue(s); !ok || !ps.IsEnabled {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		d := req.deny(ReasonScopeNotFound, "resource %s (%s) exposes no enabled scope %s",
			req.ResourceApp.AppID, req.ResourceApp.DisplayName, strings.Join(unknown, " "))
		d.Scopes = unknown
		return Decision{}, d
	}
	grants, err := e.store.PermissionGrantsOf(ctx, req.Tenant.ID, req.ClientSP.ID, req.ResourceSP.ID)
	if err != nil {
		return Decision{}, fmt.Errorf("reading permission grants: %w", err)
	}
	granted := grantedScopes(*req.ResourceApp, grants, req.User.ID)
	var scp []string
	if req.Default {
		scp = granted
		if len(scp) == 0 {
			return Decision{}, req.deny(ReasonConsentRequired,
				"no permission grant gives client %s any scope of resource %s for user %s",
				req.ClientApp.AppID, req.ResourceApp.AppID, req.User.UserPrincipalName)
		}
	} else {
		var missing []string
		for _, s := range req.Scopes {
			if i := slices.IndexFunc(granted, func(g string) bool { return strings.EqualFold(g, s) }); i >= 0 {
				scp = append(scp, granted[i])
			} else {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			d := req.deny(ReasonConsentRequired,
				"no admin (AllPrincipals) grant and no grant of user %s gives client %s the scope(s) %s of resource %s",
				req.User.UserPrincipalName, req.ClientApp.AppID, strings.Join(missing, " "), req.ResourceApp.AppID)
			d.Scopes = missing
			return Decision{}, d
		}
	}
	as, err := e.store.AppRoleAssignmentsOf(ctx, req.Tenant.ID, req.User.ID, req.ResourceSP.ID)
	if err != nil {
		return Decision{}, fmt.Errorf("reading app role assignments: %w", err)
	}
	// Entra refuses an unassigned user with AADSTS50105 when the
	// application requires assignment. We enforce it on the resource (the
	// issue's OBO rule) and, for sign-ins to the client itself, on the client.
	if len(as) == 0 && req.ResourceSP.AppRoleAssignmentRequired {
		d := req.deny(ReasonUserNotAssigned,
			"resource %s requires assignment and user %s holds no app role assignment on it",
			req.ResourceApp.AppID, req.User.UserPrincipalName)
		d.AssignmentAppID, d.AssignmentAppName = req.ResourceApp.AppID, req.ResourceApp.DisplayName
		return Decision{}, d
	}
	if (req.Flow == FlowPassword || req.Flow == FlowInteractive) && req.ClientSP.AppRoleAssignmentRequired {
		own, err := e.store.AppRoleAssignmentsOf(ctx, req.Tenant.ID, req.User.ID, req.ClientSP.ID)
		if err != nil {
			return Decision{}, fmt.Errorf("reading app role assignments: %w", err)
		}
		if len(own) == 0 {
			d := req.deny(ReasonUserNotAssigned,
				"client %s requires assignment and user %s holds no app role assignment on it",
				req.ClientApp.AppID, req.User.UserPrincipalName)
			d.AssignmentAppID, d.AssignmentAppName = req.ClientApp.AppID, req.ClientApp.DisplayName
			return Decision{}, d
		}
	}
	return Decision{
		TokenVersion: req.ResourceApp.TokenVersion(),
		Roles:        roleValues(*req.ResourceApp, as, tenant.MemberTypeUser),
		Scopes:       scp,
	}, nil
}

// roleValues returns, in the resource's order, the values of its enabled
// roles allowed for memberType that the assignments name.
func roleValues(resource tenant.Application, as []AppRoleAssignment, memberType string) []string {
	var out []string
	for _, r := range resource.AppRoles {
		if !r.IsEnabled || !r.Allows(memberType) {
			continue
		}
		if slices.ContainsFunc(as, func(a AppRoleAssignment) bool { return a.AppRoleID == r.ID }) {
			out = append(out, r.Value)
		}
	}
	return out
}

// grantedScopes returns, in the resource's order, the enabled scopes granted
// to the client for userID: those of AllPrincipals grants, and the User-type
// scopes of that user's own grants (Admin scopes need admin consent).
func grantedScopes(resource tenant.Application, grants []PermissionGrant, userID string) []string {
	var out []string
	for _, s := range resource.API.OAuth2PermissionScopes {
		if !s.IsEnabled {
			continue
		}
		for _, g := range grants {
			applies := g.ConsentType == AllPrincipals ||
				g.ConsentType == Principal && g.PrincipalID == userID && s.Type == tenant.ScopeTypeUser
			if applies && slices.ContainsFunc(g.Scopes(), func(v string) bool { return strings.EqualFold(v, s.Value) }) {
				out = append(out, s.Value)
				break
			}
		}
	}
	return out
}
