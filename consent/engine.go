package consent

import (
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

// Decision is what a successful request is issued.
type Decision struct {
	TokenVersion int      `json:"tokenVersion"`
	Roles        []string `json:"roles,omitempty"`
	// Scopes are the delegated scopes (scp); nil for app-only tokens.
	Scopes []string `json:"scp,omitempty"`
}

// CheckClient applies the rules about the client alone. The token endpoint
// runs it before authenticating the client, as Entra answers AADSTS700016
// before it looks at the secret; Decide runs it first too. A client
// registered in the tenant but without its service principal there
// (ReasonClientNoServicePrincipal) is the exception the token endpoint
// defers until the credential was checked (see issuer's Server.client).
func CheckClient(req Request, f Facts) *Denial {
	switch {
	case f.ClientApp == nil:
		return deny(req, f, ReasonClientNotFound, "no application has appId %s", req.ClientAppID)
	case f.ClientSP == nil && f.ClientApp.HomeTenantID != f.Tenant.ID && !f.ClientApp.IsMultiTenant():
		return deny(req, f, ReasonClientNotFound,
			"application %s (%s) is single-tenant, homed in tenant %s; it cannot be used in tenant %s",
			f.ClientApp.AppID, f.ClientApp.DisplayName, f.ClientApp.HomeTenantID, f.Tenant.ID)
	case f.ClientSP == nil && f.ClientApp.HomeTenantID == f.Tenant.ID:
		return deny(req, f, ReasonClientNoServicePrincipal,
			"application %s (%s) is registered in tenant %s but has no service principal there: create one (issuer sp add)",
			f.ClientApp.AppID, f.ClientApp.DisplayName, f.Tenant.ID)
	case f.ClientSP == nil:
		return deny(req, f, ReasonClientNotFound,
			"application %s (%s) has no service principal in tenant %s: an administrator of the tenant must consent to it first",
			f.ClientApp.AppID, f.ClientApp.DisplayName, f.Tenant.ID)
	case !f.ClientSP.AccountEnabled:
		return deny(req, f, ReasonClientDisabled, "the service principal %s of application %s in tenant %s has accountEnabled=false",
			f.ClientSP.ID, f.ClientApp.AppID, f.Tenant.ID)
	}
	return nil
}

// Decide judges req on the facts Resolve read for it: the roles and scopes
// to issue, or a *Denial naming the rule that refuses the request. It does
// no I/O, so the token endpoint and `issuer explain`, which both call
// Resolve then Decide, give the same answer for the same state. Any other
// error is a caller's mistake (a delegated flow without a user).
func Decide(req Request, f Facts) (Decision, error) {
	if d := CheckClient(req, f); d != nil {
		return Decision{}, d
	}
	switch {
	case f.ResourceSP == nil || f.ResourceApp == nil:
		return Decision{}, deny(req, f, ReasonResourceNotFound,
			"no application named %q has a service principal in tenant %s", req.ResourceName, f.Tenant.ID)
	case !f.ResourceSP.AccountEnabled:
		return Decision{}, deny(req, f, ReasonResourceDisabled,
			"the service principal %s of resource %s in tenant %s has accountEnabled=false",
			f.ResourceSP.ID, f.ResourceApp.AppID, f.Tenant.ID)
	}
	if !req.Flow.Delegated() {
		return decideAppOnly(req, f)
	}
	return decideDelegated(req, f)
}

// decideAppOnly: roles are the resource's enabled Application roles assigned
// to the client's service principal. With none, Entra still issues a token
// without roles, unless the resource requires assignment (AADSTS501051).
// Roles assigned to a group the service principal is in count for neither
// (see Facts.readAppOnly).
func decideAppOnly(req Request, f Facts) (Decision, error) {
	if len(f.ClientAssignments) == 0 && f.ResourceSP.AppRoleAssignmentRequired {
		return Decision{}, deny(req, f, ReasonClientNotAssigned,
			"resource %s requires assignment (appRoleAssignmentRequired=true on its service principal %s) and client service principal %s holds no app role assignment on it",
			f.ResourceApp.AppID, f.ResourceSP.ID, f.ClientSP.ID)
	}
	return Decision{
		TokenVersion: f.ResourceApp.TokenVersion(),
		Roles:        roleValues(*f.ResourceApp, f.ClientAssignments, tenant.MemberTypeApplication),
	}, nil
}

// decideDelegated applies the consent rules of delegated flows: every
// requested scope must be exposed by the resource and granted to the client,
// for all users by an administrator or for this user by the user; /.default
// asks for everything granted.
func decideDelegated(req Request, f Facts) (Decision, error) {
	if f.User == nil {
		return Decision{}, fmt.Errorf("consent: delegated flow %s without a user", req.Flow)
	}
	if !f.User.AccountEnabled {
		return Decision{}, deny(req, f, ReasonUserDisabled, "user %s has accountEnabled=false", f.User.UserPrincipalName)
	}
	var unknown []string
	for _, s := range req.Scopes {
		if ps, ok := f.ResourceApp.ScopeByValue(s); !ok || !ps.IsEnabled {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		d := deny(req, f, ReasonScopeNotFound, "resource %s (%s) exposes no enabled scope %s",
			f.ResourceApp.AppID, f.ResourceApp.DisplayName, strings.Join(unknown, " "))
		d.Scopes = unknown
		return Decision{}, d
	}
	granted := grantedScopes(*f.ResourceApp, f.Grants, f.User.ID)
	var scp []string
	if req.Default {
		scp = granted
		if len(scp) == 0 {
			return Decision{}, deny(req, f, ReasonConsentRequired,
				"no permission grant gives client %s any scope of resource %s for user %s",
				f.ClientApp.AppID, f.ResourceApp.AppID, f.User.UserPrincipalName)
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
			d := deny(req, f, ReasonConsentRequired,
				"no admin (AllPrincipals) grant and no grant of user %s gives client %s the scope(s) %s of resource %s",
				f.User.UserPrincipalName, f.ClientApp.AppID, strings.Join(missing, " "), f.ResourceApp.AppID)
			d.Scopes = missing
			return Decision{}, d
		}
	}
	// Entra refuses an unassigned user with AADSTS50105 when the
	// application requires assignment. We enforce it on the resource (the
	// issue's OBO rule) and, for sign-ins to the client itself, on the client.
	// A user is assigned when it or a group it is a direct member of holds
	// an app role assignment (Resolve reads both into UserAssignments;
	// nested groups do not count, as in Entra's group-based assignment,
	// whose AADSTS50105 message says "not a direct member of a group with
	// access").
	if len(f.UserAssignments) == 0 && f.ResourceSP.AppRoleAssignmentRequired {
		d := deny(req, f, ReasonUserNotAssigned,
			"resource %s requires assignment and user %s holds no app role assignment on it",
			f.ResourceApp.AppID, f.User.UserPrincipalName)
		d.AssignmentAppID, d.AssignmentAppName = f.ResourceApp.AppID, f.ResourceApp.DisplayName
		return Decision{}, d
	}
	if req.Flow.signsInToClient() && f.ClientSP.AppRoleAssignmentRequired && len(f.UserClientAssignments) == 0 {
		d := deny(req, f, ReasonUserNotAssigned,
			"client %s requires assignment and user %s holds no app role assignment on it",
			f.ClientApp.AppID, f.User.UserPrincipalName)
		d.AssignmentAppID, d.AssignmentAppName = f.ClientApp.AppID, f.ClientApp.DisplayName
		return Decision{}, d
	}
	return Decision{
		TokenVersion: f.ResourceApp.TokenVersion(),
		Roles:        roleValues(*f.ResourceApp, f.UserAssignments, tenant.MemberTypeUser),
		Scopes:       scp,
	}, nil
}

// signsInToClient reports whether the user signs in to the client itself
// in this flow (password, interactive), where the client's own assignment
// requirement applies; in OBO and refresh the sign-in happened earlier.
func (f Flow) signsInToClient() bool { return f == FlowPassword || f == FlowInteractive }

// IDTokenRoles is the roles claim of the ID token the client receives: the
// client application's roles the user holds, directly or through a direct
// group, as Entra's ID token carries "the set of roles that were assigned
// to the user who is logging in" to the application the token is for.
func IDTokenRoles(f Facts) []string {
	if f.ClientApp == nil {
		return nil
	}
	return roleValues(*f.ClientApp, f.UserClientAssignments, tenant.MemberTypeUser)
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
