package consent

// Seed files: a declarative description of directory state (tenants,
// applications and what they expose and require, secrets with known values,
// service principals, users, consents and role assignments) that
// `issuer apply`, `issuer serve --seed` and issuertest.Seed apply, and
// `issuer export` writes.
//
// They live in package consent, not tenant, because a seed describes grants
// as well as directory objects, and applying one needs both the Directory
// and the Manager; the seed code calls only their operations (the library
// every other way in uses), never the stores' records. Package consent is
// the lowest package that sees both, and top-level directories are fixed.
//
// The format is JSON, read with encoding/json and DisallowUnknownFields: no
// YAML, so no dependency. Property names follow Microsoft Graph where Graph
// has the concept (appId, identifierUris, appRoles, allowedMemberTypes,
// userPrincipalName, accountEnabled, appRoleAssignmentRequired, keyId). Any
// object may carry a "$comment" string, which is ignored.

// Seed is a seed document.
type Seed struct {
	Comment string       `json:"$comment,omitempty"`
	Tenants []SeedTenant `json:"tenants"`

	// source and data are the file name and text the document was parsed
	// from (ParseSeed), so that errors found later name the file and line.
	source string
	data   []byte
}

// SeedTenant is a tenant and everything in it. It is matched by id when one
// is given, else by its initial domain (Name + ".onmicrosoft.com").
type SeedTenant struct {
	Comment string `json:"$comment,omitempty"`
	ID      string `json:"id,omitempty"`
	// Name is the display name; its letters and digits form the initial
	// domain, as in `issuer tenant add --name`.
	Name    string   `json:"name"`
	Domains []string `json:"domains,omitempty"` // extra domains
	// UserConsent is "allowed" or "disabled"; empty leaves the setting alone
	// (allowed for a new tenant).
	UserConsent       string                 `json:"userConsent,omitempty"`
	Applications      []SeedApplication      `json:"applications,omitempty"`
	ServicePrincipals []SeedServicePrincipal `json:"servicePrincipals,omitempty"`
	Users             []SeedUser             `json:"users,omitempty"`
	Consents          []SeedConsent          `json:"consents,omitempty"`
	RoleAssignments   []SeedRoleAssignment   `json:"roleAssignments,omitempty"`
}

// SeedApplication is an app registration homed in the enclosing tenant. It
// is matched by appId when one is given, else by display name in the tenant.
// Optional fields left out leave an existing application as it is.
type SeedApplication struct {
	Comment        string   `json:"$comment,omitempty"`
	AppID          string   `json:"appId,omitempty"`
	ID             string   `json:"id,omitempty"` // object id
	DisplayName    string   `json:"displayName"`
	IdentifierURIs []string `json:"identifierUris,omitempty"`
	// TokenVersion is the access token version issued for the application
	// as a resource (requestedAccessTokenVersion): 1 or 2; 0 leaves it.
	TokenVersion int           `json:"tokenVersion,omitempty"`
	MultiTenant  *bool         `json:"multiTenant,omitempty"`  // signInAudience AzureADMultipleOrgs
	PublicClient *bool         `json:"publicClient,omitempty"` // isFallbackPublicClient
	AppRoles     []SeedAppRole `json:"appRoles,omitempty"`
	Scopes       []SeedScope   `json:"scopes,omitempty"` // api.oauth2PermissionScopes
	// RequiredResourceAccess declares what the application requires of
	// other applications, by value; admin consent grants exactly that.
	RequiredResourceAccess []SeedResourceAccess `json:"requiredResourceAccess,omitempty"`
	Secrets                []SeedSecret         `json:"secrets,omitempty"`
	// Certificates are public certificates (known by SHA-1 thumbprint);
	// FederatedCredentials are known by name, which Entra makes immutable.
	Certificates         []SeedCertificate         `json:"certificates,omitempty"`
	FederatedCredentials []SeedFederatedCredential `json:"federatedCredentials,omitempty"`
}

// SeedAppRole is an app role, matched by value.
type SeedAppRole struct {
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

// SeedScope is a delegated permission the application exposes, matched by
// value.
type SeedScope struct {
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

// SeedResourceAccess names permissions required of one resource.
type SeedResourceAccess struct {
	Comment string `json:"$comment,omitempty"`
	// Resource is the resource's appId, an identifier URI, or the display
	// name of an application in the seed.
	Resource string   `json:"resource"`
	Scopes   []string `json:"scopes,omitempty"` // delegated scope values
	Roles    []string `json:"roles,omitempty"`  // app role values (application permissions)
}

// SeedSecret is a client secret with a known value, which tests need. It is
// matched by keyId when one is given, else by value. Export leaves secrets
// out: only their hashes are stored.
type SeedSecret struct {
	Comment     string `json:"$comment,omitempty"`
	KeyID       string `json:"keyId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Value       string `json:"value"` // at least 16 characters
	// Expires is a lifetime from the time of applying ("90d", "1h30m") or
	// an RFC 3339 time in the future; empty: never.
	Expires string `json:"expires,omitempty"`
}

// SeedCertificate is a certificate credential (Graph keyCredential).
type SeedCertificate struct {
	Comment     string `json:"$comment,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	PEM         string `json:"pem"`
}

// SeedFederatedCredential is a federated identity credential (Graph
// federatedIdentityCredential).
type SeedFederatedCredential struct {
	Comment     string   `json:"$comment,omitempty"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences,omitempty"` // default api://AzureADTokenExchange
	Description string   `json:"description,omitempty"`
}

// SeedServicePrincipal is an application's service principal in the
// enclosing tenant, matched by application. It creates one for a
// multi-tenant application of another tenant, and sets the flags of any.
type SeedServicePrincipal struct {
	Comment string `json:"$comment,omitempty"`
	// AppID is the application's appId or the display name of an
	// application in the seed.
	AppID string `json:"appId"`
	// ID fixes the service principal's object id (the oid of the
	// application's app-only tokens in this tenant).
	ID                        string `json:"id,omitempty"`
	AccountEnabled            *bool  `json:"accountEnabled,omitempty"`
	AppRoleAssignmentRequired *bool  `json:"appRoleAssignmentRequired,omitempty"`
}

// SeedUser is a member of the enclosing tenant, matched by UPN.
type SeedUser struct {
	Comment           string `json:"$comment,omitempty"`
	ID                string `json:"id,omitempty"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	// Password is stored as an argon2id hash; export leaves it out.
	Password       string `json:"password,omitempty"`
	AccountEnabled *bool  `json:"accountEnabled,omitempty"` // default true
}

// SeedConsent is consent given to a client in the enclosing tenant:
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
type SeedConsent struct {
	Comment  string   `json:"$comment,omitempty"`
	Client   string   `json:"client"` // appId or the display name of an application in the seed
	Admin    bool     `json:"admin,omitempty"`
	User     string   `json:"user,omitempty"`
	Resource string   `json:"resource,omitempty"` // appId, identifier URI or seed display name
	Scopes   []string `json:"scopes,omitempty"`
}

// SeedRoleAssignment assigns an app role of a resource to a client (its
// service principal in the enclosing tenant) or a user.
type SeedRoleAssignment struct {
	Comment  string `json:"$comment,omitempty"`
	Resource string `json:"resource"` // appId, identifier URI or seed display name
	Role     string `json:"role"`     // app role value
	Client   string `json:"client,omitempty"`
	User     string `json:"user,omitempty"` // UPN or object id
}

// SeedCount counts the objects of one kind an apply created, changed and
// found as described.
type SeedCount struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

func (c SeedCount) add(o SeedCount) SeedCount {
	return SeedCount{c.Created + o.Created, c.Updated + o.Updated, c.Unchanged + o.Unchanged}
}

// SeedResult is what applying a seed did, by kind. Applying the same seed
// again reports everything unchanged.
type SeedResult struct {
	Tenants           SeedCount `json:"tenants"`
	Applications      SeedCount `json:"applications"`
	AppRoles          SeedCount `json:"appRoles"`
	Scopes            SeedCount `json:"scopes"`
	Permissions       SeedCount `json:"requiredResourceAccess"`
	Secrets           SeedCount `json:"secrets"`
	Certificates      SeedCount `json:"certificates"`
	Federated         SeedCount `json:"federatedCredentials"`
	ServicePrincipals SeedCount `json:"servicePrincipals"`
	Users             SeedCount `json:"users"`
	Consents          SeedCount `json:"consents"`
	RoleAssignments   SeedCount `json:"roleAssignments"`
}

// SeedKind is one line of a SeedResult.
type SeedKind struct {
	Name  string // the JSON name, e.g. "servicePrincipals"
	Count SeedCount
}

// Kinds lists the counts in a fixed order, for printing.
func (r SeedResult) Kinds() []SeedKind {
	return []SeedKind{
		{"tenants", r.Tenants}, {"applications", r.Applications}, {"appRoles", r.AppRoles},
		{"scopes", r.Scopes}, {"requiredResourceAccess", r.Permissions}, {"secrets", r.Secrets},
		{"certificates", r.Certificates}, {"federatedCredentials", r.Federated},
		{"servicePrincipals", r.ServicePrincipals}, {"users", r.Users}, {"consents", r.Consents},
		{"roleAssignments", r.RoleAssignments},
	}
}

// Total adds up every kind.
func (r SeedResult) Total() SeedCount {
	var t SeedCount
	for _, k := range r.Kinds() {
		t = t.add(k.Count)
	}
	return t
}
