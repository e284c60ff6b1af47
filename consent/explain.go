package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// Query is a token request to explain: who asks which resource for what.
type Query struct {
	// Flow defaults to client_credentials without a user and to
	// interactive (a user signing in to the client) with one.
	Flow         Flow
	TenantRef    string // tenant id or domain
	ClientAppID  string
	ResourceName string // identifier URI or appId
	UserRef      string // UPN or object id; delegated flows only
	// Scopes are delegated scope values without the resource prefix; nil
	// or empty asks for /.default (everything granted).
	Scopes []string
}

// Explanation is the answer to a Query: the decision the token endpoint
// would take, or its denial, with the directory facts behind it. Field names
// follow Graph so that `issuer explain -o json` reads like Graph objects.
type Explanation struct {
	Flow            Flow     `json:"flow"`
	DefaultScope    bool     `json:"defaultScope"` // /.default was asked for
	RequestedScopes []string `json:"requestedScopes,omitempty"`

	Tenant   TenantFacts       `json:"tenant"`
	Client   ApplicationFacts  `json:"client"`
	Resource *ApplicationFacts `json:"resource,omitempty"` // nil when the decision stopped at the client
	User     *UserFacts        `json:"user,omitempty"`

	// Scopes describes each requested scope (for /.default, each scope the
	// resource exposes): whether it is exposed and enabled, its type, and
	// which grant, if any, gives it.
	Scopes []ScopeFact `json:"scopes,omitempty"`
	// AppRoleAssignments are the assignments the decision read: the
	// client's on the resource (app-only), or the user's on the resource and,
	// when the client requires assignment, on the client (delegated).
	AppRoleAssignments []AssignmentFact `json:"appRoleAssignments"`
	// PermissionGrants are the client's delegated grants on the resource
	// (delegated flows).
	PermissionGrants []GrantFact `json:"oauth2PermissionGrants,omitempty"`

	// Exactly one of Decision and Denial is set.
	Decision *Decision `json:"decision,omitempty"`
	Denial   *Denial   `json:"denial,omitempty"`
}

// TenantFacts is the tenant of the request.
type TenantFacts struct {
	ID          string             `json:"id"`
	DisplayName string             `json:"displayName"`
	Domains     []string           `json:"domains"`
	UserConsent tenant.UserConsent `json:"userConsent"`
}

// ApplicationFacts describes the client or the resource as found in the tenant.
type ApplicationFacts struct {
	Requested      string `json:"requested"` // the name in the query
	AppID          string `json:"appId,omitempty"`
	DisplayName    string `json:"displayName,omitempty"`
	HomeTenantID   string `json:"homeTenantId,omitempty"`
	SignInAudience string `json:"signInAudience,omitempty"`
	TokenVersion   int    `json:"tokenVersion,omitempty"` // resources: the access token version it accepts
	// ServicePrincipal is the application's service principal in the
	// tenant, with accountEnabled and appRoleAssignmentRequired; null when
	// it has none.
	ServicePrincipal *tenant.ServicePrincipal `json:"servicePrincipal"`
}

// UserFacts is the user of a delegated request.
type UserFacts struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	AccountEnabled    bool   `json:"accountEnabled"`
}

// AssignmentFact is an app role assignment the decision read.
type AssignmentFact struct {
	AppRoleAssignment
	AppRoleValue string `json:"appRoleValue,omitempty"`
	// Issued reports whether the role goes into the roles claim.
	Issued bool   `json:"issued"`
	Note   string `json:"note,omitempty"`
}

// GrantFact is a delegated permission grant of the client on the resource.
type GrantFact struct {
	PermissionGrant
	// AppliesToUser reports whether the grant counts for the request's user.
	AppliesToUser bool   `json:"appliesToUser"`
	Note          string `json:"note,omitempty"`
}

// ScopeFact describes one delegated scope of the request.
type ScopeFact struct {
	Value     string `json:"value"`
	Exposed   bool   `json:"exposed"`
	Type      string `json:"type,omitempty"`
	IsEnabled bool   `json:"isEnabled"`
	// GrantedBy is AllPrincipals or Principal when a grant gives the scope
	// to the client for this user; empty when none does.
	GrantedBy string `json:"grantedBy,omitempty"`
}

// Explain runs the token endpoint's resolution and policy sequence for q
// without issuing anything: it resolves the tenant, resolves the client and
// applies CheckClient, resolves the resource through its service principal in
// the tenant, looks the user up for delegated flows, and calls Decide. It
// returns the Decision or the *Denial, with the facts the engine judged.
//
// Failures that the token endpoint reports before policy (no such tenant, no
// such user, a malformed query) are errors, as are store failures.
func Explain(ctx context.Context, store tenant.Store, engine *Engine, q Query) (Explanation, error) {
	flow := q.Flow
	if flow == "" {
		flow = FlowClientCredentials
		if q.UserRef != "" {
			flow = FlowInteractive
		}
	}
	switch {
	case !slices.Contains([]Flow{FlowClientCredentials, FlowOnBehalfOf, FlowPassword, FlowRefreshToken, FlowInteractive}, flow):
		return Explanation{}, fmt.Errorf("%w: unknown flow %q", tenant.ErrInvalid, flow)
	case flow.Delegated() && q.UserRef == "":
		return Explanation{}, fmt.Errorf("%w: flow %s acts for a user: name the user", tenant.ErrInvalid, flow)
	case !flow.Delegated() && q.UserRef != "":
		return Explanation{}, fmt.Errorf("%w: flow %s is app-only and has no user", tenant.ErrInvalid, flow)
	case !flow.Delegated() && len(q.Scopes) > 0:
		return Explanation{}, fmt.Errorf("%w: client credentials requests ask for <resource>/.default only, not for scopes (Entra: AADSTS1002012)", tenant.ErrInvalid)
	}
	dir := tenant.NewDirectory(store)
	t, err := dir.ResolveTenant(ctx, q.TenantRef)
	if err != nil {
		return Explanation{}, fmt.Errorf("tenant %s: %w", q.TenantRef, err)
	}
	req := Request{
		Flow: flow, Tenant: t,
		ClientAppID: q.ClientAppID, ResourceName: q.ResourceName,
		Scopes: slices.Clone(q.Scopes), Default: len(q.Scopes) == 0,
	}
	ex := Explanation{
		Flow: flow, DefaultScope: req.Default, RequestedScopes: req.Scopes,
		Tenant:             TenantFacts{ID: t.ID, DisplayName: t.DisplayName, Domains: t.Domains, UserConsent: t.UserConsent},
		AppRoleAssignments: []AssignmentFact{},
	}
	if ex.Tenant.UserConsent == "" {
		ex.Tenant.UserConsent = tenant.UserConsentAllowed
	}

	if req.ClientApp, req.ClientSP, err = ResolveClient(ctx, store, t, q.ClientAppID); err != nil {
		return Explanation{}, err
	}
	ex.Client = applicationFacts(q.ClientAppID, req.ClientApp, req.ClientSP)
	if d := CheckClient(req); d != nil {
		ex.Denial = d
		return ex, nil
	}
	if req.ResourceApp, req.ResourceSP, err = ResolveResource(ctx, store, t, q.ResourceName); err != nil {
		return Explanation{}, err
	}
	res := applicationFacts(q.ResourceName, req.ResourceApp, req.ResourceSP)
	if req.ResourceApp != nil {
		res.TokenVersion = req.ResourceApp.TokenVersion()
	}
	ex.Resource = &res
	if flow.Delegated() {
		u, err := dir.FindUser(ctx, t.ID, q.UserRef)
		if err != nil {
			return Explanation{}, fmt.Errorf("user %s in tenant %s (%s): %w", q.UserRef, t.DisplayName, t.ID, err)
		}
		req.User = &u
		ex.User = &UserFacts{ID: u.ID, UserPrincipalName: u.UserPrincipalName, AccountEnabled: u.AccountEnabled}
	}

	dec, err := engine.Decide(ctx, req)
	var denial *Denial
	switch {
	case errors.As(err, &denial):
		ex.Denial = denial
	case err != nil:
		return Explanation{}, err
	default:
		ex.Decision = &dec
	}
	if req.ResourceSP == nil || req.ResourceApp == nil {
		return ex, nil
	}
	if err := engine.gatherFacts(ctx, req, &ex); err != nil {
		return Explanation{}, err
	}
	return ex, nil
}

func applicationFacts(requested string, app *tenant.Application, sp *tenant.ServicePrincipal) ApplicationFacts {
	f := ApplicationFacts{Requested: requested}
	if app != nil {
		f.AppID, f.DisplayName, f.HomeTenantID, f.SignInAudience = app.AppID, app.DisplayName, app.HomeTenantID, app.SignInAudience
	}
	if sp != nil {
		s := *sp
		f.ServicePrincipal = &s
	}
	return f
}

// gatherFacts reads the assignments and grants that Decide judged.
func (e *Engine) gatherFacts(ctx context.Context, req Request, ex *Explanation) error {
	res := *req.ResourceApp
	if !req.Flow.Delegated() {
		as, err := e.store.AppRoleAssignmentsOf(ctx, req.Tenant.ID, req.ClientSP.ID, req.ResourceSP.ID)
		if err != nil {
			return err
		}
		for _, a := range as {
			ex.AppRoleAssignments = append(ex.AppRoleAssignments, assignmentFact(res, a, tenant.MemberTypeApplication))
		}
		return nil
	}
	if req.User == nil {
		return nil
	}

	grants, err := e.store.PermissionGrantsOf(ctx, req.Tenant.ID, req.ClientSP.ID, req.ResourceSP.ID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		f := GrantFact{PermissionGrant: g}
		switch {
		case g.ConsentType == AllPrincipals:
			f.AppliesToUser = true
		case g.PrincipalID == req.User.ID:
			f.AppliesToUser = true
			var admin []string
			for _, v := range g.Scopes() {
				if s, ok := res.ScopeByValue(v); ok && s.Type != tenant.ScopeTypeUser {
					admin = append(admin, s.Value)
				}
			}
			if len(admin) > 0 {
				f.Note = "scopes of type Admin in a user's own grant are ignored: " + strings.Join(admin, " ")
			}
		default:
			f.Note = "the grant of another user"
		}
		ex.PermissionGrants = append(ex.PermissionGrants, f)
	}
	granted := grantedScopes(res, grants, req.User.ID)
	byAdmin := grantedScopes(res, slices.DeleteFunc(slices.Clone(grants), func(g PermissionGrant) bool { return g.ConsentType != AllPrincipals }), "")
	fact := func(value string) ScopeFact {
		f := ScopeFact{Value: value}
		if s, ok := res.ScopeByValue(value); ok {
			f = ScopeFact{Value: s.Value, Exposed: true, Type: s.Type, IsEnabled: s.IsEnabled}
		}
		switch {
		case containsFold(byAdmin, f.Value):
			f.GrantedBy = AllPrincipals
		case containsFold(granted, f.Value):
			f.GrantedBy = Principal
		}
		return f
	}
	if req.Default {
		for _, s := range res.API.OAuth2PermissionScopes {
			ex.Scopes = append(ex.Scopes, fact(s.Value))
		}
	} else {
		for _, v := range req.Scopes {
			ex.Scopes = append(ex.Scopes, fact(v))
		}
	}

	as, err := e.store.AppRoleAssignmentsOf(ctx, req.Tenant.ID, req.User.ID, req.ResourceSP.ID)
	if err != nil {
		return err
	}
	for _, a := range as {
		ex.AppRoleAssignments = append(ex.AppRoleAssignments, assignmentFact(res, a, tenant.MemberTypeUser))
	}
	if (req.Flow == FlowPassword || req.Flow == FlowInteractive) && req.ClientSP.AppRoleAssignmentRequired &&
		req.ClientSP.ID != req.ResourceSP.ID {
		own, err := e.store.AppRoleAssignmentsOf(ctx, req.Tenant.ID, req.User.ID, req.ClientSP.ID)
		if err != nil {
			return err
		}
		for _, a := range own {
			f := AssignmentFact{AppRoleAssignment: a, AppRoleValue: roleValue(*req.ClientApp, a.AppRoleID),
				Note: "assignment to the client, which requires assignment"}
			ex.AppRoleAssignments = append(ex.AppRoleAssignments, f)
		}
	}
	return nil
}

// assignmentFact says whether an assignment's role is issued to a principal
// of memberType, and why not.
func assignmentFact(res tenant.Application, a AppRoleAssignment, memberType string) AssignmentFact {
	f := AssignmentFact{AppRoleAssignment: a}
	i := slices.IndexFunc(res.AppRoles, func(r tenant.AppRole) bool { return r.ID == a.AppRoleID })
	switch {
	case i < 0:
		f.Note = "the resource no longer defines this app role"
	case !res.AppRoles[i].IsEnabled:
		f.AppRoleValue, f.Note = res.AppRoles[i].Value, "the app role is disabled"
	case !res.AppRoles[i].Allows(memberType):
		f.AppRoleValue = res.AppRoles[i].Value
		f.Note = fmt.Sprintf("the app role allows member types %s, not %s", strings.Join(res.AppRoles[i].AllowedMemberTypes, ","), memberType)
	default:
		f.AppRoleValue, f.Issued = res.AppRoles[i].Value, true
	}
	return f
}

func roleValue(app tenant.Application, roleID string) string {
	for _, r := range app.AppRoles {
		if r.ID == roleID {
			return r.Value
		}
	}
	return ""
}
