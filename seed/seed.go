package seed

import (
	"fmt"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// Document is a seed document.
type Document struct {
	Comment string   `json:"$comment,omitempty"`
	Tenants []Tenant `json:"tenants"`

	// source and data are the file name and text the document was parsed
	// from (Parse), so that errors found later name the file and line.
	source string
	data   []byte
}

// Tenant is a tenant and everything in it. It is matched by id when one
// is given, else by its initial domain (Name + ".onmicrosoft.com").
type Tenant struct {
	Comment string `json:"$comment,omitempty"`
	ID      string `json:"id,omitempty"`
	// Name is the display name; its letters and digits form the initial
	// domain, as in `issuer tenant add --name`.
	Name    string   `json:"name"`
	Domains []string `json:"domains,omitempty"` // extra domains
	// UserConsent is "allowed" or "disabled"; empty leaves the setting alone
	// (allowed for a new tenant).
	UserConsent       string             `json:"userConsent,omitempty"`
	Applications      []Application      `json:"applications,omitempty"`
	ServicePrincipals []ServicePrincipal `json:"servicePrincipals,omitempty"`
	Users             []User             `json:"users,omitempty"`
	ManagedIdentities []ManagedIdentity  `json:"managedIdentities,omitempty"`
	Groups            []Group            `json:"groups,omitempty"`
	Consents          []Consent          `json:"consents,omitempty"`
	RoleAssignments   []RoleAssignment   `json:"roleAssignments,omitempty"`
}

// Application is an app registration homed in the enclosing tenant. It
// is matched by appId when one is given, else by display name in the tenant.
// Optional fields left out leave an existing application as it is.
type Application struct {
	Comment        string   `json:"$comment,omitempty"`
	AppID          string   `json:"appId,omitempty"`
	ID             string   `json:"id,omitempty"` // object id
	DisplayName    string   `json:"displayName"`
	IdentifierURIs []string `json:"identifierUris,omitempty"`
	// TokenVersion is the access token version issued for the application
	// as a resource (requestedAccessTokenVersion): 1 or 2; 0 leaves it.
	TokenVersion int       `json:"tokenVersion,omitempty"`
	MultiTenant  *bool     `json:"multiTenant,omitempty"`  // signInAudience AzureADMultipleOrgs
	PublicClient *bool     `json:"publicClient,omitempty"` // isFallbackPublicClient
	AppRoles     []AppRole `json:"appRoles,omitempty"`
	Scopes       []Scope   `json:"scopes,omitempty"` // api.oauth2PermissionScopes
	// RequiredResourceAccess declares what the application requires of
	// other applications, by value; admin consent grants exactly that.
	RequiredResourceAccess []ResourceAccess `json:"requiredResourceAccess,omitempty"`
	Secrets                []Secret         `json:"secrets,omitempty"`
	// Certificates are public certificates (known by SHA-1 thumbprint);
	// FederatedCredentials are known by name, which Entra makes immutable.
	Certificates         []Certificate         `json:"certificates,omitempty"`
	FederatedCredentials []FederatedCredential `json:"federatedCredentials,omitempty"`
	// Redirect URIs of the web, spa and publicClient platforms; a list
	// given replaces the platform's, an absent one leaves it.
	WebRedirectURIs          []string `json:"webRedirectUris,omitempty"`
	SPARedirectURIs          []string `json:"spaRedirectUris,omitempty"`
	PublicClientRedirectURIs []string `json:"publicClientRedirectUris,omitempty"`
	// OptionalClaims is the application's optionalClaims, in the
	// manifest's shape; given, it replaces the application's.
	OptionalClaims *tenant.OptionalClaims `json:"optionalClaims,omitempty"`
	// AccessTokenLifetime is the application's token lifetime policy
	// (10m to 24h, e.g. "4h"; "0" removes it); absent leaves it.
	AccessTokenLifetime string `json:"accessTokenLifetime,omitempty"`
	// Owners are added to the application's owners (users and service
	// principals of its home tenant); owners not listed are kept.
	Owners []Owner `json:"owners,omitempty"`
	// GroupMembershipClaims is Graph's groupMembershipClaims (None,
	// SecurityGroup, All, DirectoryRole, ApplicationGroup, or a
	// comma-separated list): the groups claim of the application's
	// tokens. Absent leaves it; "None" removes it.
	GroupMembershipClaims string `json:"groupMembershipClaims,omitempty"`
}

// Owner names an owner of an application or a service principal, in the
// owned object's tenant: a user (UPN or object id) or a client (an
// application, managed identities included, by appId or by the display
// name of an application in the seed: its service principal there).
type Owner struct {
	Comment string `json:"$comment,omitempty"`
	User    string `json:"user,omitempty"`
	Client  string `json:"client,omitempty"`
}

// AppRole is an app role, matched by value.
type AppRole struct {
	Comment     string `json:"$comment,omitempty"`
	ID          string `json:"id,omitempty"`
	Value       string `json:"value"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// AllowedMemberTypes holds Application and/or User; empty means
	// Application (an application permission).
	AllowedMemberTypes []string `json:"allowedMemberTypes,omitempty"`
	IsEnabled          *bool    `json:"isEnabled,omitempty"` // default true
}

// Scope is a delegated permission the application exposes, matched by
// value.
type Scope struct {
	Comment                 string `json:"$comment,omitempty"`
	ID                      string `json:"id,omitempty"`
	Value                   string `json:"value"`
	Type                    string `json:"type,omitempty"` // User (default) or Admin
	AdminConsentDisplayName string `json:"adminConsentDisplayName,omitempty"`
	AdminConsentDescription string `json:"adminConsentDescription,omitempty"`
	UserConsentDisplayName  string `json:"userConsentDisplayName,omitempty"`
	UserConsentDescription  string `json:"userConsentDescription,omitempty"`
	IsEnabled               *bool  `json:"isEnabled,omitempty"` // default true
}

// ResourceAccess names permissions required of one resource.
type ResourceAccess struct {
	Comment string `json:"$comment,omitempty"`
	// Resource is the resource's appId, an identifier URI, or the display
	// name of an application in the seed.
	Resource string   `json:"resource"`
	Scopes   []string `json:"scopes,omitempty"` // delegated scope values
	Roles    []string `json:"roles,omitempty"`  // app role values (application permissions)
}

// Secret is a client secret with a known value, which tests need. It is
// matched by keyId when one is given, else by value. Export leaves secrets
// out: only their hashes are stored.
type Secret struct {
	Comment     string `json:"$comment,omitempty"`
	KeyID       string `json:"keyId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Value       string `json:"value"` // at least 16 characters
	// Expires is a lifetime from the time of applying ("90d", "1h30m") or
	// an RFC 3339 time in the future; empty: never.
	Expires string `json:"expires,omitempty"`
}

// Certificate is a certificate credential (Graph keyCredential).
type Certificate struct {
	Comment     string `json:"$comment,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	PEM         string `json:"pem"`
}

// FederatedCredential is a federated identity credential (Graph
// federatedIdentityCredential).
type FederatedCredential struct {
	Comment     string   `json:"$comment,omitempty"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences,omitempty"` // default api://AzureADTokenExchange
	Description string   `json:"description,omitempty"`
}

// ServicePrincipal is an application's service principal in the
// enclosing tenant, matched by application. It creates one for a
// multi-tenant application of another tenant, and sets the flags of any.
type ServicePrincipal struct {
	Comment string `json:"$comment,omitempty"`
	// AppID is the application's appId or the display name of an
	// application in the seed.
	AppID string `json:"appId"`
	// ID fixes the service principal's object id (the oid of the
	// application's app-only tokens in this tenant).
	ID                        string `json:"id,omitempty"`
	AccountEnabled            *bool  `json:"accountEnabled,omitempty"`
	AppRoleAssignmentRequired *bool  `json:"appRoleAssignmentRequired,omitempty"`
	// Owners are added to the service principal's owners (users and
	// service principals of its tenant); owners not listed are kept.
	Owners []Owner `json:"owners,omitempty"`
}

// accessTokenLifetime parses AccessTokenLifetime ("0": none).
func (a Application) accessTokenLifetime() (time.Duration, error) {
	if strings.TrimSpace(a.AccessTokenLifetime) == "0" {
		return 0, nil
	}
	d, err := tenant.ParseLifetime(a.AccessTokenLifetime)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", tenant.ErrInvalid, err)
	}
	return d, nil
}

// ManagedIdentity is a user-assigned identity (Name, or ResourceID) or the
// system-assigned identity of an Azure resource (SystemAssigned with
// Resource: a name or a resource id), as `issuer identity add` makes them.
// It is matched by its resource id.
type ManagedIdentity struct {
	Comment        string `json:"$comment,omitempty"`
	ClientID       string `json:"clientId,omitempty"`
	ID             string `json:"id,omitempty"` // the principal (object) id
	Name           string `json:"name,omitempty"`
	SystemAssigned bool   `json:"systemAssigned,omitempty"`
	Resource       string `json:"resource,omitempty"`
	ResourceID     string `json:"resourceId,omitempty"`
	Subscription   string `json:"subscription,omitempty"`
	ResourceGroup  string `json:"resourceGroup,omitempty"`
	AccountEnabled *bool  `json:"accountEnabled,omitempty"` // default true
}

// spec is the tenant.ManagedIdentitySpec of m.
func (m ManagedIdentity) spec() (tenant.ManagedIdentitySpec, error) {
	spec := tenant.ManagedIdentitySpec{Name: m.Name, SystemAssigned: m.SystemAssigned, ResourceID: m.ResourceID,
		Subscription: m.Subscription, ResourceGroup: m.ResourceGroup, ClientID: m.ClientID, ObjectID: m.ID}
	switch {
	case m.SystemAssigned && m.Name != "":
		return spec, fmt.Errorf("%w: a system-assigned identity is named by its resource, not a name", tenant.ErrInvalid)
	case m.SystemAssigned && m.Resource != "" && m.ResourceID != "":
		return spec, fmt.Errorf("%w: give resource or resourceId, not both", tenant.ErrInvalid)
	case m.SystemAssigned && strings.HasPrefix(m.Resource, "/"):
		spec.ResourceID = m.Resource
	case m.SystemAssigned && m.Resource != "":
		spec.Name = m.Resource
	case m.SystemAssigned && m.ResourceID == "":
		return spec, fmt.Errorf("%w: a system-assigned identity needs the resource it belongs to", tenant.ErrInvalid)
	case !m.SystemAssigned && m.Resource != "":
		return spec, fmt.Errorf("%w: resource names the resource of a systemAssigned identity", tenant.ErrInvalid)
	case !m.SystemAssigned && m.Name == "" && m.ResourceID == "":
		return spec, fmt.Errorf("%w: a user-assigned identity needs a name or a resourceId", tenant.ErrInvalid)
	}
	return spec, nil
}

// User is a member of the enclosing tenant, matched by UPN.
type User struct {
	Comment           string `json:"$comment,omitempty"`
	ID                string `json:"id,omitempty"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	// Password is stored as an argon2id hash; export leaves it out.
	Password string `json:"password,omitempty"`
	// PasswordHash is the password as an argon2id PHC string (`issuer
	// user hash-password`), in place of Password: applying it costs no
	// hashing, which a seed of thousands of users needs.
	PasswordHash   string `json:"passwordHash,omitempty"`
	AccountEnabled *bool  `json:"accountEnabled,omitempty"` // default true
	// DirectoryRoles names the user's directory roles (Global
	// Administrator, …); a list given replaces the user's.
	DirectoryRoles []string `json:"directoryRoles,omitempty"`
	// Mail, GivenName, Surname and Country (two letters) feed the optional
	// claims email, given_name, family_name and ctry; absent leaves them.
	Mail      string `json:"mail,omitempty"`
	GivenName string `json:"givenName,omitempty"`
	Surname   string `json:"surname,omitempty"`
	Country   string `json:"country,omitempty"`
}

// attributes returns the user properties the seed gives.
func (su User) attributes() tenant.UserAttributes {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return tenant.UserAttributes{Mail: opt(su.Mail), GivenName: opt(su.GivenName), Surname: opt(su.Surname), Country: opt(su.Country)}
}

// Consent is consent given to a client in the enclosing tenant:
//
//   - {"client": C, "admin": true}: admin consent, as the portal's button
//     gives it: everything C declares in requiredResourceAccess;
//   - {"client": C, "admin": true, "resource": R, "scopes": [...]}: an
//     AllPrincipals grant of exactly those delegated scopes of R;
//   - {"client": C, "user": U, "resource": R, "scopes": [...]}: a Principal
//     grant of those scopes of R for user U (UPN or object id).
//
// Grants are state, as Graph's oauth2PermissionGrant objects: the rules of
// interactive user consent (type User scopes only, the tenant's setting)
// bind users consenting, not a seed describing what exists.
type Consent struct {
	Comment  string   `json:"$comment,omitempty"`
	Client   string   `json:"client"` // appId or the display name of an application in the seed
	Admin    bool     `json:"admin,omitempty"`
	User     string   `json:"user,omitempty"`
	Resource string   `json:"resource,omitempty"` // appId, identifier URI or seed display name
	Scopes   []string `json:"scopes,omitempty"`
}

// RoleAssignment assigns an app role of a resource to a client (its
// service principal in the enclosing tenant), a user or a group.
type RoleAssignment struct {
	Comment  string `json:"$comment,omitempty"`
	Resource string `json:"resource"` // appId, identifier URI or seed display name
	Role     string `json:"role"`     // app role value
	Client   string `json:"client,omitempty"`
	User     string `json:"user,omitempty"` // UPN or object id
	// Group is a group's object id or display name (of a group of the
	// seed's tenant, or of the directory's when unique there). The role
	// reaches the group's direct members, as in Entra.
	Group string `json:"group,omitempty"`
}

// Group is a group of the enclosing tenant (Graph: group): a security
// group, or a Microsoft 365 group with groupTypes ["Unified"]. It is
// matched by id when one is given, else by display name in the tenant.
// Its kind is fixed once created: a seed describing the other kind is a
// conflict. Optional fields left out leave an existing group as it is.
type Group struct {
	Comment      string `json:"$comment,omitempty"`
	ID           string `json:"id,omitempty"`
	DisplayName  string `json:"displayName"`
	Description  string `json:"description,omitempty"`
	MailNickname string `json:"mailNickname,omitempty"` // default: made from the display name
	// GroupTypes is empty for a security group, ["Unified"] for a
	// Microsoft 365 group.
	GroupTypes []string `json:"groupTypes,omitempty"`
	// SecurityEnabled makes a Microsoft 365 group a security group too;
	// a security group always is one.
	SecurityEnabled *bool `json:"securityEnabled,omitempty"`
	// Members are added to the group's direct members; members not
	// listed are kept.
	Members []Member `json:"members,omitempty"`
}

// Member names a direct member of a group, in the group's tenant: a user
// (UPN or object id), a client (an application or managed identity by
// appId or by the display name of one in the seed: its service principal
// there), or, in a security group, a group (object id or display name, of
// the seed's groups of the tenant first, so it may be described later in
// the file).
type Member struct {
	Comment string `json:"$comment,omitempty"`
	User    string `json:"user,omitempty"`
	Client  string `json:"client,omitempty"`
	Group   string `json:"group,omitempty"`
}

// unified reports whether the seed's group is a Microsoft 365 group.
func (g Group) unified() bool {
	for _, t := range g.GroupTypes {
		if strings.EqualFold(strings.TrimSpace(t), tenant.GroupTypeUnified) {
			return true
		}
	}
	return false
}

// Count counts the objects of one kind an apply created, changed and
// found as described.
type Count struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

func (c Count) add(o Count) Count {
	return Count{c.Created + o.Created, c.Updated + o.Updated, c.Unchanged + o.Unchanged}
}

// Result is what applying a seed did, by kind. Applying the same seed
// again reports everything unchanged.
type Result struct {
	Tenants           Count `json:"tenants"`
	Applications      Count `json:"applications"`
	AppRoles          Count `json:"appRoles"`
	Scopes            Count `json:"scopes"`
	Permissions       Count `json:"requiredResourceAccess"`
	Secrets           Count `json:"secrets"`
	Certificates      Count `json:"certificates"`
	Federated         Count `json:"federatedCredentials"`
	ServicePrincipals Count `json:"servicePrincipals"`
	Users             Count `json:"users"`
	ManagedIdentities Count `json:"managedIdentities"`
	Groups            Count `json:"groups"`
	GroupMembers      Count `json:"groupMembers"`
	Consents          Count `json:"consents"`
	RoleAssignments   Count `json:"roleAssignments"`
	Owners            Count `json:"owners"`
}

// Kind is one line of a Result.
type Kind struct {
	Name  string // the JSON name, e.g. "servicePrincipals"
	Count Count
}

// Kinds lists the counts in a fixed order, for printing.
func (r Result) Kinds() []Kind {
	return []Kind{
		{"tenants", r.Tenants}, {"applications", r.Applications}, {"appRoles", r.AppRoles},
		{"scopes", r.Scopes}, {"requiredResourceAccess", r.Permissions}, {"secrets", r.Secrets},
		{"certificates", r.Certificates}, {"federatedCredentials", r.Federated},
		{"servicePrincipals", r.ServicePrincipals}, {"users", r.Users}, {"managedIdentities", r.ManagedIdentities},
		{"groups", r.Groups}, {"groupMembers", r.GroupMembers}, {"consents", r.Consents},
		{"roleAssignments", r.RoleAssignments}, {"owners", r.Owners},
	}
}

// Total adds up every kind.
func (r Result) Total() Count {
	var t Count
	for _, k := range r.Kinds() {
		t = t.add(k.Count)
	}
	return t
}
