package consent

import (
	"context"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// AppRoleAssignment gives a principal one app role of a resource
// (Graph: appRoleAssignment). Admin consent to an application permission
// creates one for the client's service principal.
type AppRoleAssignment struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	// AppRoleID is the role's id on the resource application.
	AppRoleID string `json:"appRoleId"`
	// PrincipalID is the object id of a client service principal, a user
	// or a group. A role assigned to a group reaches the group's direct
	// members only: Entra does not support nested groups in group-based
	// assignment ("nested group memberships aren't supported for
	// group-based assignment to applications").
	PrincipalID          string    `json:"principalId"`
	PrincipalType        string    `json:"principalType"` // "ServicePrincipal", "User" or "Group"
	PrincipalDisplayName string    `json:"principalDisplayName"`
	ResourceID           string    `json:"resourceId"` // the resource's service principal
	ResourceDisplayName  string    `json:"resourceDisplayName"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
}

// Principal types of an assignment.
const (
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalUser             = "User"
	PrincipalGroup            = "Group"
)

// PermissionGrant gives a client delegated scopes on a resource
// (Graph: oAuth2PermissionGrant).
type PermissionGrant struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"` // the client's service principal
	// ConsentType is AllPrincipals (admin consent for every user) or
	// Principal (one user's own consent).
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"` // the user, for Principal grants
	ResourceID  string `json:"resourceId"`  // the resource's service principal
	// Scope is the space-separated list of scope values, as in Graph.
	Scope string `json:"scope"`
}

// Consent types of a permission grant.
const (
	AllPrincipals = "AllPrincipals"
	Principal     = "Principal"
)

// Scopes splits the grant's scope string.
func (g PermissionGrant) Scopes() []string { return strings.Fields(g.Scope) }

// Store persists grants and opens read views of the directory with its
// grants (Viewer, for Resolve). Each method is one transaction. IDs are lowercase
// GUIDs. Errors wrap tenant.ErrNotFound, tenant.ErrExists and
// tenant.ErrInvalid (issuer.Backend states the rules every store keeps):
// every method fails with ErrNotFound when the tenant does not exist, and
// an empty id, or one with a zero byte, is ErrInvalid.
type Store interface {
	GrantReader
	Viewer

	// CreateAppRoleAssignment fails with ErrExists when the id is taken or
	// the principal already holds that role of that resource, and with
	// ErrNotFound when the resource service principal or the principal (a
	// service principal, user or group of the tenant, as PrincipalType says) is
	// not there.
	CreateAppRoleAssignment(ctx context.Context, a AppRoleAssignment) error
	// DeleteAppRoleAssignment fails with ErrNotFound for an unknown id.
	DeleteAppRoleAssignment(ctx context.Context, tenantID, id string) error
	ListAppRoleAssignments(ctx context.Context, tenantID string) ([]AppRoleAssignment, error)

	// PutPermissionGrant creates the grant or, when one exists for the same
	// (client, resource, consent type, principal), calls merge on it inside
	// the same transaction and stores the result (a nil merge takes g's
	// scope); it returns the grant as stored. A merge that changes anything
	// but the scope is ErrInvalid, as is a consent type other than
	// AllPrincipals or Principal, or a principal on an AllPrincipals grant.
	// A new grant fails with ErrExists when its id is taken, and with
	// ErrNotFound when the client or resource service principal, or the
	// user of a Principal grant, is not there.
	PutPermissionGrant(ctx context.Context, g PermissionGrant, merge func(existing *PermissionGrant) error) (PermissionGrant, error)
	// DeletePermissionGrant fails with ErrNotFound for an unknown id.
	DeletePermissionGrant(ctx context.Context, tenantID, id string) error
	ListPermissionGrants(ctx context.Context, tenantID string) ([]PermissionGrant, error)
}

// GrantReader is the read side of grants that a token request needs:
// indexed reads, since they are on the token path.
type GrantReader interface {
	// AppRoleAssignmentsOf lists what one principal holds on one resource.
	AppRoleAssignmentsOf(ctx context.Context, tenantID, principalID, resourceID string) ([]AppRoleAssignment, error)
	// PermissionGrantsOf lists the grants of one client on one resource, of
	// every consent type.
	PermissionGrantsOf(ctx context.Context, tenantID, clientID, resourceID string) ([]PermissionGrant, error)
}

// Reader reads the directory and its grants. Inside a View every call
// reads the same snapshot.
type Reader interface {
	tenant.Reader
	GrantReader
}

// Viewer opens read views: View calls fn with a Reader whose every read
// sees one consistent state of the store (one read transaction in bbolt;
// one revision in a replicated store), and returns fn's error. The Reader
// is valid only until fn returns. Writes committed while fn runs are not
// seen, so what Resolve gathers is the state of one instant.
type Viewer interface {
	View(ctx context.Context, fn func(Reader) error) error
}
