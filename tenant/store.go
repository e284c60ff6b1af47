package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Store implementations and Directory wrap them with %w so
// callers can test with errors.Is and still read which object was missing.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrInvalid marks input that breaks a directory rule (a malformed GUID,
	// an empty name, …). The wrapped message says which rule.
	ErrInvalid = errors.New("invalid")

	// ErrSecretMismatch: no password credential of the application matches.
	ErrSecretMismatch = errors.New("client secret does not match")
	// ErrCredentialExpired: the presented secret matches only expired credentials.
	ErrCredentialExpired = errors.New("credential expired")
	// ErrNotMultiTenant: a single-tenant application cannot get a service
	// principal outside its home tenant.
	ErrNotMultiTenant = errors.New("application is not multi-tenant")
)

// Store persists the directory. Each method is exactly one transaction, so a
// caller sees either all or none of its effect. Read-modify-write goes through
// an update callback that runs inside the transaction; returning an error from
// it aborts the write, and an updater that changes a key field (an id, appId
// or tenant id) gets ErrInvalid. issuer.Backend states the rules every method
// keeps; package conformance checks them.
//
// Lookups by name are case-insensitive: implementations normalise domains
// and user principal names with NormalizeName, identifier URIs with
// IdentifierKey.
//
// Errors, besides those listed per method: every method that names a
// tenant fails with ErrNotFound when the tenant does not exist; every
// Get, Update and Delete fails with ErrNotFound when its object does not;
// an empty id or name, or one with a zero byte, is ErrInvalid.
type Store interface {
	Reader

	// CreateTenant fails with ErrExists if the ID or any domain is taken.
	CreateTenant(ctx context.Context, t Tenant) error
	ListTenants(ctx context.Context) ([]Tenant, error)
	// UpdateTenant keeps the domain index in step with the new Domains and
	// fails with ErrExists if an added domain belongs to another tenant.
	UpdateTenant(ctx context.Context, id string, update func(*Tenant) error) error
	// DeleteTenant removes the tenant with everything inside it (service
	// principals, users, grants, assignments), the applications homed
	// there and their service principals in other tenants, with the
	// grants and assignments naming those.
	DeleteTenant(ctx context.Context, id string) error

	// CreateApplication stores a new application together with its service
	// principal in the home tenant. It fails with ErrExists if the appId is
	// taken, an identifier URI conflicts (see IdentifierURIConflict), or
	// another application with a service principal in the home tenant holds
	// one of its identifier URIs; with ErrInvalid if home is not for
	// app.AppID in app.HomeTenantID.
	CreateApplication(ctx context.Context, app Application, home ServicePrincipal) error
	// ListApplications lists the applications homed in a tenant.
	ListApplications(ctx context.Context, tenantID string) ([]Application, error)
	// UpdateApplication re-checks identifier URI conflicts (ErrExists) and
	// keeps the URI indexes of every tenant where the application has a
	// service principal in step.
	UpdateApplication(ctx context.Context, appID string, update func(*Application) error) error
	// DeleteApplication removes the application, its service principals in
	// every tenant and every grant or assignment that names one of them.
	DeleteApplication(ctx context.Context, appID string) error

	// CreateServicePrincipal fails with ErrNotFound if the application does
	// not exist, and with ErrExists if it already has a service principal in
	// sp.TenantID, if sp.ID names another object of the tenant, or if
	// another application with a service principal there holds one of its
	// identifier URIs.
	CreateServicePrincipal(ctx context.Context, sp ServicePrincipal) error
	// GetServicePrincipal returns the application's service principal in a tenant.
	GetServicePrincipal(ctx context.Context, tenantID, appID string) (ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, tenantID string) ([]ServicePrincipal, error)
	UpdateServicePrincipal(ctx context.Context, tenantID, appID string, update func(*ServicePrincipal) error) error
	// DeleteServicePrincipal also removes grants and assignments naming it.
	DeleteServicePrincipal(ctx context.Context, tenantID, appID string) error

	// CreateUser fails with ErrExists if the UPN is taken in the tenant or
	// u.ID names another object of the tenant.
	CreateUser(ctx context.Context, u User) error
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// UpdateUser keeps the UPN index in step and fails with ErrExists if
	// the new UPN belongs to another user of the tenant.
	UpdateUser(ctx context.Context, tenantID, id string, update func(*User) error) error
	// DeleteUser also removes the user's grants, assignments and group
	// memberships.
	DeleteUser(ctx context.Context, tenantID, id string) error

	// CreateGroup fails with ErrExists if g.ID names another object of
	// the tenant (a user, a service principal or a group).
	CreateGroup(ctx context.Context, g Group) error
	// ListGroups lists a tenant's groups, ordered by object id.
	ListGroups(ctx context.Context, tenantID string) ([]Group, error)
	UpdateGroup(ctx context.Context, tenantID, id string, update func(*Group) error) error
	// DeleteGroup also removes the group's memberships, both its members'
	// and its own in other groups, and the app role assignments it holds.
	DeleteGroup(ctx context.Context, tenantID, id string) error
	// AddGroupMember makes an object of the tenant (a user, a service
	// principal or a group) a direct member of a group. It fails with
	// ErrNotFound if the group or the object is not there, with ErrExists
	// if the object is a member already, and with ErrInvalid if the
	// object is a group and the container is a Microsoft 365 group (which
	// cannot have groups as members), or if the membership would close a
	// cycle (the group itself, or a group the container is in).
	AddGroupMember(ctx context.Context, tenantID, groupID, memberID string) error
	// RemoveGroupMember fails with ErrNotFound if the group is not there
	// or the object is not its direct member.
	RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error
	// ListGroupMembers lists a group's direct members, ordered by id.
	ListGroupMembers(ctx context.Context, tenantID, groupID string) ([]GroupMember, error)
	// GetObject says which object of the tenant has the id: a user, a
	// service principal or a group (Graph's directoryObject), as a
	// GroupMember. ErrNotFound if none has.
	GetObject(ctx context.Context, tenantID, id string) (GroupMember, error)
}

// Reader is the read side of the directory that a token request needs: the
// lookups by id and by name. Store includes it, each call its own
// transaction; a store's read view (consent.Viewer) hands out one whose
// calls all read the same snapshot. Errors wrap ErrNotFound as Store's do.
type Reader interface {
	GetTenant(ctx context.Context, id string) (Tenant, error)
	GetTenantByDomain(ctx context.Context, domain string) (Tenant, error)
	GetApplication(ctx context.Context, appID string) (Application, error)
	// FindServicePrincipal resolves name (an appId GUID or an identifier URI,
	// any case) to the application that has a service principal in tenantID,
	// and returns both. ErrNotFound if no application of that name is
	// present in the tenant.
	FindServicePrincipal(ctx context.Context, tenantID, name string) (ServicePrincipal, Application, error)
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	GetUserByUPN(ctx context.Context, tenantID, upn string) (User, error)
	GetGroup(ctx context.Context, tenantID, id string) (Group, error)
	// MemberOf lists the ids of the groups an object is a direct member
	// of, sorted. An object in no group, or none of that id, has none:
	// it is not ErrNotFound (a token request asks about a user or client
	// it has read already). TransitiveMemberOf walks it up.
	MemberOf(ctx context.Context, tenantID, objectID string) ([]string, error)
}

// ResolveTenant finds a tenant by GUID or by any of its domains, in any
// case: the one rule for tenant references, over any Reader.
func ResolveTenant(ctx context.Context, r Reader, ref string) (Tenant, error) {
	id, domain, err := ParseTenantRef(ref)
	switch {
	case err != nil:
		return Tenant{}, err
	case id != "":
		return r.GetTenant(ctx, id)
	}
	return r.GetTenantByDomain(ctx, domain)
}

// ParseTenantRef reads a tenant reference: a tenant id, returned lowercased
// as id, or a domain, returned normalized as domain; anything else is
// ErrInvalid. ResolveTenant and readers that look a tenant up by other
// means (the etcd sign-in log's) share it.
func ParseTenantRef(ref string) (id, domain string, err error) {
	ref = strings.TrimSpace(ref)
	if IsGUID(ref) {
		return strings.ToLower(ref), "", nil
	}
	if !ValidTenantSegment(ref) {
		return "", "", fmt.Errorf("%w: %q is neither a tenant id nor a domain", ErrInvalid, ref)
	}
	return "", NormalizeName(ref), nil
}

// FindUser finds a user of a tenant by object id or user principal name:
// the one rule for user references, over any Reader.
func FindUser(ctx context.Context, r Reader, tenantID, ref string) (User, error) {
	if IsGUID(ref) {
		return r.GetUser(ctx, tenantID, strings.ToLower(ref))
	}
	return r.GetUserByUPN(ctx, tenantID, NormalizeName(ref))
}
