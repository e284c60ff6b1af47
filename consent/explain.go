package consent

import (
	"cmp"
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

	// Request and Facts are what was judged, as Decide saw them: the
	// members above describe them for a reader.
	Request Request `json:"-"`
	Facts   Facts   `json:"-"`
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

// Explain answers q as the token endpoint answers the request it
// describes, without issuing anything, by the same two steps: Resolve reads
// the facts in one view of the store, then CheckClient and Decide judge
// them. It returns the Decision or the *Denial with the facts that were
// judged, described for a reader.
//
// Failures that the token endpoint reports before policy (no such tenant, no
// such user, a malformed query) are errors, as are store failures.
func Explain(ctx context.Context, v Viewer, q Query) (Explanation, error) {
	req, err := q.request()
	if err != nil {
		return Explanation{}, err
	}
	f, err := Resolve(ctx, v, req)
	if err != nil {
		return Explanation{}, err
	}
	t := f.Tenant
	ex := Explanation{
		Request: req, Facts: f,
		Flow: req.Flow, DefaultScope: req.Default, RequestedScopes: req.Scopes,
		Tenant:             TenantFacts{ID: t.ID, DisplayName: t.DisplayName, Domains: t.Domains, UserConsent: t.UserConsent},
		AppRoleAssignments: []AssignmentFact{},
	}
	if ex.Tenant.UserConsent == "" {
		ex.Tenant.UserConsent = tenant.UserConsentAllowed
	}
	ex.Client = applicationFacts(req.ClientAppID, f.ClientApp, f.ClientSP)
	// The token endpoint stops at the client, before it reads the
	// resource or the user; so does the explanation.
	if d := CheckClient(req, f); d != nil {
		ex.Denial = d
		return ex, nil
	}
	res := applicationFacts(req.ResourceName, f.ResourceApp, f.ResourceSP)
	if f.ResourceApp != nil {
		res.TokenVersion = f.ResourceApp.TokenVersion()
	}
	ex.Resource = &res
	if req.Flow.Delegated() {
		if f.User == nil {
			return Explanation{}, fmt.Errorf("user %s in tenant %s (%s): %w", q.UserRef, t.DisplayName, t.ID, tenant.ErrNotFound)
		}
		ex.User = &UserFacts{ID: f.User.ID, UserPrincipalName: f.User.UserPrincipalName, AccountEnabled: f.User.AccountEnabled}
	}

	dec, err := Decide(req, f)
	var denial *Denial
	switch {
	case errors.As(err, &denial):
		ex.Denial = denial
	case err != nil:
		return Explanation{}, err
	default:
		ex.Decision = &dec
	}
	if f.ResourceSP != nil && f.ResourceApp != nil {
		ex.describeFacts(req, f)
	}
	return ex, nil
}

// request checks q and turns it into the Request the token endpoint would
// judge. The flow defaults to client_credentials without a user and to
// interactive with one; no scopes asks for /.default.
func (q Query) request() (Request, error) {
	flow := q.Flow
	if flow == "" {
		flow = FlowClientCredentials
		if q.UserRef != "" {
			flow = FlowInteractive
		}
	}
	switch {
	case !slices.Contains([]Flow{FlowClientCredentials, FlowOnBehalfOf, FlowPassword, FlowRefreshToken, FlowInteractive}, flow):
		return Request{}, fmt.Errorf("%w: unknown flow %q", tenant.ErrInvalid, flow)
	case flow.Delegated() && q.UserRef == "":
		return Request{}, fmt.Errorf("%w: flow %s acts for a user: name the user", tenant.ErrInvalid, flow)
	case !flow.Delegated() && q.UserRef != "":
		return Request{}, fmt.Errorf("%w: flow %s is app-only and has no user", tenant.ErrInvalid, flow)
	case !flow.Delegated() && len(q.Scopes) > 0:
		return Request{}, fmt.Errorf("%w: client credentials requests ask for <resource>/.default only, not for scopes (Entra: AADSTS1002012)", tenant.ErrInvalid)
	}
	return Request{
		Flow: flow, TenantRef: q.TenantRef, ClientAppID: q.ClientAppID, ResourceName: q.ResourceName,
		UserRef: q.UserRef, Scopes: slices.Clone(q.Scopes), Default: len(q.Scopes) == 0,
	}, nil
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

// describeFacts describes the assignments and grants that Decide judged,
// as Resolve read them: nothing is read again.
func (ex *Explanation) describeFacts(req Request, f Facts) {
	res := *f.ResourceApp
	if !req.Flow.Delegated() {
		for _, a := range f.ClientAssignments {
			ex.AppRoleAssignments = append(ex.AppRoleAssignments, assignmentFact(res, a, tenant.MemberTypeApplication))
		}
		return
	}
	if f.User == nil {
		return
	}
	for _, g := range f.Grants {
		gf := GrantFact{PermissionGrant: g}
		switch {
		case g.ConsentType == AllPrincipals:
			gf.AppliesToUser = true
		case g.PrincipalID == f.User.ID:
			gf.AppliesToUser = true
			var admin []string
			for _, v := range g.Scopes() {
				if s, ok := res.ScopeByValue(v); ok && s.Type != tenant.ScopeTypeUser {
					admin = append(admin, s.Value)
				}
			}
			if len(admin) > 0 {
				gf.Note = "scopes of type Admin in a user's own grant are ignored: " + strings.Join(admin, " ")
			}
		default:
			gf.Note = "the grant of another user"
		}
		ex.PermissionGrants = append(ex.PermissionGrants, gf)
	}
	granted := grantedScopes(res, f.Grants, f.User.ID)
	byAdmin := grantedScopes(res, slices.DeleteFunc(slices.Clone(f.Grants), func(g PermissionGrant) bool { return g.ConsentType != AllPrincipals }), "")
	fact := func(value string) ScopeFact {
		sf := ScopeFact{Value: value}
		if s, ok := res.ScopeByValue(value); ok {
			sf = ScopeFact{Value: s.Value, Exposed: true, Type: s.Type, IsEnabled: s.IsEnabled}
		}
		switch {
		case containsFold(byAdmin, sf.Value):
			sf.GrantedBy = AllPrincipals
		case containsFold(granted, sf.Value):
			sf.GrantedBy = Principal
		}
		return sf
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
	for _, a := range f.UserAssignments {
		fact := assignmentFact(res, a, tenant.MemberTypeUser)
		if a.PrincipalType == PrincipalGroup && fact.Note == "" {
			fact.Note = viaGroup(a)
		}
		ex.AppRoleAssignments = append(ex.AppRoleAssignments, fact)
	}
	if req.Flow.signsInToClient() && f.ClientSP.AppRoleAssignmentRequired && f.ClientSP.ID != f.ResourceSP.ID {
		for _, a := range f.UserClientAssignments {
			note := "assignment to the client, which requires assignment"
			if a.PrincipalType == PrincipalGroup {
				note += "; " + viaGroup(a)
			}
			ex.AppRoleAssignments = append(ex.AppRoleAssignments, AssignmentFact{AppRoleAssignment: a,
				AppRoleValue: roleValue(*f.ClientApp, a.AppRoleID), Note: note})
		}
	}
}

// viaGroup says why a group's assignment counts for the user.
func viaGroup(a AppRoleAssignment) string {
	return "held by group " + cmp.Or(a.PrincipalDisplayName, a.PrincipalID) + ", of which the user is a direct member"
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
