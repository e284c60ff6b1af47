package tenant

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Sign-in audiences of an application (Graph: signInAudience).
const (
	AudienceMyOrg          = "AzureADMyOrg"
	AudienceMultipleOrgs   = "AzureADMultipleOrgs"
	defaultTokenVersion    = 1
	maxIdentifierURILength = 250
)

// Application is an app registration. It lives in its home tenant; a service
// principal instantiates it in each tenant where it is used.
type Application struct {
	ID             string    `json:"id"` // object id
	AppID          string    `json:"appId"`
	HomeTenantID   string    `json:"homeTenantId"`
	DisplayName    string    `json:"displayName"`
	SignInAudience string    `json:"signInAudience"`
	IdentifierURIs []string  `json:"identifierUris"`
	API            API       `json:"api"`
	AppRoles       []AppRole `json:"appRoles"`
	// RequiredResourceAccess declares the permissions the application needs
	// from other applications; admin consent grants exactly these.
	RequiredResourceAccess []RequiredResourceAccess `json:"requiredResourceAccess"`
	PasswordCredentials    []PasswordCredential     `json:"passwordCredentials"`
	KeyCredentials         []KeyCredential          `json:"keyCredentials"`
	// FederatedIdentityCredentials are the external identities that may
	// authenticate as the application. Graph serves them as a collection
	// of their own (/applications/{id}/federatedIdentityCredentials), not
	// as a property, so the application's JSON shows them only when there
	// are some; an application without any holds nil.
	FederatedIdentityCredentials []FederatedIdentityCredential `json:"federatedIdentityCredentials,omitempty"`
	// IsFallbackPublicClient marks a public client ("Allow public client
	// flows"): it authenticates with its client_id alone.
	IsFallbackPublicClient bool `json:"isFallbackPublicClient"`
	// Web, SPA and PublicClient hold the redirect URIs of each platform
	// (Graph: web, spa, publicClient); see MatchRedirectURI.
	Web          RedirectURIs `json:"web"`
	SPA          RedirectURIs `json:"spa"`
	PublicClient RedirectURIs `json:"publicClient"`
	// OptionalClaims adds claims to the tokens issued for the application
	// (see OptionalClaims); nil (Graph: null) when none are configured.
	OptionalClaims *OptionalClaims `json:"optionalClaims"`
	// TokenLifetimePolicy sets the lifetime of the access tokens issued
	// for the application and of the ID tokens issued to it; nil: Entra's
	// defaults.
	TokenLifetimePolicy *TokenLifetimePolicy `json:"tokenLifetimePolicy,omitempty"`
	// GroupMembershipClaims selects the groups claim of the tokens issued
	// for the application as a resource, and of the ID tokens issued to it
	// (Graph: groupMembershipClaims; see GroupClaims). Empty: none.
	GroupMembershipClaims string    `json:"groupMembershipClaims,omitempty"`
	CreatedDateTime       time.Time `json:"createdDateTime"`
	// Owners are the object ids of the users and service principals of
	// the home tenant that own the application. Graph serves them as a
	// relationship (/applications/{id}/owners), not as a property. An
	// owner may manage the application without an administrator role, and
	// a service principal holding Application.ReadWrite.OwnedBy may manage
	// the applications it owns and no others.
	Owners []string `json:"-"`
}

// OwnedBy reports whether the directory object objectID is one of a's
// owners.
func (a Application) OwnedBy(objectID string) bool { return ownedBy(a.Owners, objectID) }

// API is the exposed-API part of an application (Graph: apiApplication).
type API struct {
	// RequestedAccessTokenVersion is the access token version the
	// application accepts as a resource: nil or 1 for v1.0, 2 for v2.0
	// (legacy manifest: accessTokenAcceptedVersion).
	RequestedAccessTokenVersion *int              `json:"requestedAccessTokenVersion"`
	OAuth2PermissionScopes      []PermissionScope `json:"oauth2PermissionScopes"`
}

// AppRole is an application permission (member type Application) or a role
// users can hold (member type User).
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName"`
	Description        string   `json:"description"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          bool     `json:"isEnabled"`
}

// Member types of an app role.
const (
	MemberTypeApplication = "Application"
	MemberTypeUser        = "User"
)

// Allows reports whether the role may be assigned to the member type.
func (r AppRole) Allows(memberType string) bool {
	return slices.Contains(r.AllowedMemberTypes, memberType)
}

// OffersRoles reports whether the application has an enabled app role that
// memberType may hold: whether its tokens can carry such roles at all.
func (a Application) OffersRoles(memberType string) bool {
	return slices.ContainsFunc(a.AppRoles, func(r AppRole) bool { return r.IsEnabled && r.Allows(memberType) })
}

// PermissionScope is a delegated permission the application exposes
// (Graph: permissionScope). Type "User" may be consented by users and admins,
// "Admin" by admins only.
type PermissionScope struct {
	ID                      string `json:"id"`
	Value                   string `json:"value"`
	Type                    string `json:"type"`
	AdminConsentDisplayName string `json:"adminConsentDisplayName"`
	AdminConsentDescription string `json:"adminConsentDescription"`
	UserConsentDisplayName  string `json:"userConsentDisplayName"`
	UserConsentDescription  string `json:"userConsentDescription"`
	IsEnabled               bool   `json:"isEnabled"`
}

// Consent types of a permission scope.
const (
	ScopeTypeUser  = "User"
	ScopeTypeAdmin = "Admin"
)

// RequiredResourceAccess lists the permissions a client needs from one resource.
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []ResourceAccess `json:"resourceAccess"`
}

// ResourceAccess names one permission: Type "Scope" (delegated, ID of a
// PermissionScope) or "Role" (application, ID of an AppRole).
type ResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Resource access types.
const (
	AccessScope = "Scope"
	AccessRole  = "Role"
)

// IsMultiTenant reports whether other tenants may instantiate the application.
func (a Application) IsMultiTenant() bool { return a.SignInAudience == AudienceMultipleOrgs }

// TokenVersion is the access token version issued for this application as a
// resource: Entra issues v1.0 unless requestedAccessTokenVersion is 2,
// whichever endpoint the client called.
func (a Application) TokenVersion() int {
	if v := a.API.RequestedAccessTokenVersion; v != nil && *v == 2 {
		return 2
	}
	return defaultTokenVersion
}

// AppRoleByValue returns the app role with the given value (case-sensitive,
// as role values are in tokens).
func (a Application) AppRoleByValue(value string) (AppRole, bool) {
	for _, r := range a.AppRoles {
		if r.Value == value {
			return r, true
		}
	}
	return AppRole{}, false
}

// ScopeByValue returns the exposed delegated permission with the given value.
// Entra compares scope values case-insensitively.
func (a Application) ScopeByValue(value string) (PermissionScope, bool) {
	for _, s := range a.API.OAuth2PermissionScopes {
		if strings.EqualFold(s.Value, value) {
			return s, true
		}
	}
	return PermissionScope{}, false
}

// HasName reports whether name (an appId or identifier URI, any case, a
// trailing slash tolerated) names this application, by the same key the
// store's lookups use.
func (a Application) HasName(name string) bool {
	n := IdentifierKey(name)
	if n == a.AppID {
		return true
	}
	for _, u := range a.IdentifierURIs {
		if IdentifierKey(u) == n {
			return true
		}
	}
	return false
}

// ValidateIdentifierURI checks the form Entra requires of an App ID URI: an
// absolute URI with a scheme (api://…, https://…, urn:…), no fragment, no
// wildcard, at most 250 characters.
func ValidateIdentifierURI(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil, u.Scheme == "", len(s) > maxIdentifierURILength,
		strings.ContainsAny(s, "*# \t"), u.Opaque == "" && u.Host == "" && u.Path == "":
		return fmt.Errorf("%w: %q is not a valid identifier URI (want e.g. api://name or https://domain/path)", ErrInvalid, s)
	}
	return nil
}

// IdentifierURIConflict reports whether two different applications may not
// both hold an identifier URI. Entra requires App ID URIs to be unique
// tenant-wide for single-tenant applications and globally for multi-tenant
// ones; we apply that rule between every pair of applications.
func IdentifierURIConflict(a, b Application) bool {
	return a.AppID != b.AppID && (a.IsMultiTenant() || b.IsMultiTenant() || a.HomeTenantID == b.HomeTenantID)
}

// OptionalClaim reports whether the application asks for the optional
// claim name in tokens of kind (TokenTypeAccess, TokenTypeID).
func (a Application) OptionalClaim(kind, name string) bool {
	if a.OptionalClaims == nil {
		return false
	}
	switch kind {
	case TokenTypeAccess:
		return HasOptionalClaim(a.OptionalClaims.AccessToken, name)
	case TokenTypeID:
		return HasOptionalClaim(a.OptionalClaims.IDToken, name)
	}
	return false
}

// GroupClaims is a parsed groupMembershipClaims: which memberships the
// groups claim (and the wids claim) of an application's tokens carry.
// Graph's values are None, SecurityGroup, DirectoryRole, ApplicationGroup
// and All; the app manifest also takes a comma-separated list of them
// ("SecurityGroup, DirectoryRole"), which is what the Entra portal's
// checkboxes write.
type GroupClaims struct {
	// SecurityGroups: the security groups the user is in, transitively
	// (SecurityGroup, All).
	SecurityGroups bool
	// AllGroups: every group, Microsoft 365 groups included (All).
	AllGroups bool
	// DirectoryRoles: the wids claim, the template ids of the user's
	// directory roles. Entra's claims reference: "Setting it to All or
	// DirectoryRole is required" for wids.
	DirectoryRoles bool
	// ApplicationGroups: only the groups assigned to the application
	// (an app role assignment to the group on its service principal).
	ApplicationGroups bool
}

// SelectsGroups reports whether the claims ask for the groups claim
// (DirectoryRole alone asks for wids only).
func (c GroupClaims) SelectsGroups() bool {
	return c.SecurityGroups || c.AllGroups || c.ApplicationGroups
}

// Any reports whether the claims carry any membership at all.
func (c GroupClaims) Any() bool {
	return c.SecurityGroups || c.AllGroups || c.DirectoryRoles || c.ApplicationGroups
}

// ParseGroupClaims reads a groupMembershipClaims value, in any case and
// with any spaces around its commas. It returns the value in the spelling
// Graph reports back ("" for None).
func ParseGroupClaims(s string) (GroupClaims, string, error) {
	var c GroupClaims
	var names []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var name string
		switch strings.ToLower(part) {
		case "", "none":
			continue
		case "securitygroup":
			c.SecurityGroups, name = true, "SecurityGroup"
		case "directoryrole":
			c.DirectoryRoles, name = true, "DirectoryRole"
		case "applicationgroup":
			c.ApplicationGroups, name = true, "ApplicationGroup"
		case "all":
			c.SecurityGroups, c.AllGroups, c.DirectoryRoles, name = true, true, true, "All"
		default:
			return GroupClaims{}, "", fmt.Errorf("%w: groupMembershipClaims %q: want None, SecurityGroup, DirectoryRole, ApplicationGroup or All, or a comma-separated list of them", ErrInvalid, part)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return c, strings.Join(names, ", "), nil
}

// GroupClaims returns the application's parsed groupMembershipClaims; a
// stored value is valid, as ApplicationUpdate checked it. Most
// applications have none, which the token path asks about without parsing.
func (a Application) GroupClaims() GroupClaims {
	if a.GroupMembershipClaims == "" {
		return GroupClaims{}
	}
	c, _, _ := ParseGroupClaims(a.GroupMembershipClaims)
	return c
}
