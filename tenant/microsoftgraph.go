package tenant

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Microsoft Graph is a first-party application: registered in Microsoft's
// own tenant, instantiated by a service principal in every tenant, and
// owned by nobody a customer can sign in as. Its appId and identifier URI
// are the real ones, so that code written against Entra (a bare scope such
// as User.Read, requiredResourceAccess naming 00000003-…, a token for
// https://graph.microsoft.com/.default) finds it here too.
const (
	MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"
	MicrosoftGraphURI   = "https://graph.microsoft.com"
	// MicrosoftServicesTenantID is the tenant Microsoft's first-party
	// applications are homed in (appOwnerOrganizationId of their service
	// principals in Entra).
	MicrosoftServicesTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	// microsoftGraphObjectID is the object id of the Graph application in
	// this directory. Entra does not publish the object id of Graph's
	// application object; any fixed id will do, since every tenant sees
	// Graph through its own service principal.
	microsoftGraphObjectID   = "9c9de9b8-2a47-4b1f-9e7a-4c0f59f1a0f3"
	microsoftServicesName    = "Microsoft Services"
	microsoftServicesDomain  = "microsoftservices.onmicrosoft.com"
	microsoftGraphAppName    = "Microsoft Graph"
	graphCreatedDateTimeYear = 2015 // Graph v1.0's general availability
)

// ErrFirstParty marks a change to Microsoft's first-party objects (the
// Graph application, its home tenant, a tenant's Graph service principal),
// which Entra does not let a customer make.
var ErrFirstParty = errors.New("object belongs to Microsoft")

// graphPermission is one permission of Microsoft Graph that this issuer
// serves: its value and the ids Graph gives its delegated (scope) and
// application (role) forms, empty when Graph has no such form. The ids are
// Graph's published ones (Microsoft Graph permissions reference), so that a
// requiredResourceAccess copied from a real app registration means the
// same here.
type graphPermission struct {
	value, scopeID, roleID string
	// adminOnly: only an administrator may consent to the delegated form.
	adminOnly   bool
	description string
}

var graphPermissions = []graphPermission{
	{"openid", "37f7f235-527c-4136-accd-4a02d197296e", "", false, "Sign users in"},
	{"profile", "14dad69e-099b-42c9-810b-d002981feec1", "", false, "View users' basic profile"},
	{"email", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "", false, "View users' email address"},
	{"offline_access", "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "", false, "Maintain access to data you have given it access to"},
	{"User.Read", "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "", false, "Sign in and read user profile"},
	{"User.Read.All", "a154be20-db9c-4678-8ab7-66f6cc099a59", "df021288-bdef-4463-88db-98f22de89214", true, "Read all users' full profiles"},
	{"User.ReadWrite.All", "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "741f803b-c850-494e-b5df-cde7c675a1ca", true, "Read and write all users' full profiles"},
	{"Application.Read.All", "c79f8feb-a9db-4090-85f9-90d820caa0eb", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", true, "Read all applications"},
	{"Application.ReadWrite.All", "bdfbf15f-ee85-4955-8675-146e8e5296b5", "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", true, "Read and write all applications"},
	{"Application.ReadWrite.OwnedBy", "", "18a4783c-866b-4cc7-a460-3d5e5662c884", true, "Manage apps that this app creates or owns"},
	{"AppRoleAssignment.ReadWrite.All", "84bccea3-f856-4a8a-967b-dbe0a3d53a64", "06b708a9-e830-4db3-a914-8e69da51d44f", true, "Manage app permission grants and app role assignments"},
	{"DelegatedPermissionGrant.ReadWrite.All", "41ce6ca6-6826-4807-84f1-1c82854f7ee5", "8e8e4742-1d95-4f68-9d56-6ee75648c72a", true, "Manage all delegated permission grants"},
	{"Directory.Read.All", "06da0dbc-49e2-44d2-8312-53f166ab848a", "7ab1d382-f21e-4acd-a863-ba3e13f7da61", true, "Read directory data"},
	{"Directory.ReadWrite.All", "c5366453-9fb0-48a5-a156-24f0c49a4b84", "19dbc75e-c2e2-444c-a770-ec69d8559fc7", true, "Read and write directory data"},
	// Groups: Group.Create is the least an app needs to create a group,
	// GroupMember.* read and change memberships only.
	{"Group.Read.All", "5f8c59db-677d-491f-a6b8-5f174b11ec1d", "5b567255-7703-4780-807c-7be8301ae99b", true, "Read all groups"},
	{"Group.ReadWrite.All", "4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "62a82d76-70ea-41e2-9197-370581804d09", true, "Read and write all groups"},
	{"Group.Create", "", "bf7b1a76-6e77-406b-b258-bf5c7720e98f", true, "Create groups"},
	{"GroupMember.Read.All", "bc024368-1153-4739-b217-4326f2e966d0", "98830695-27a2-44f7-8c18-0c3ebc9698f6", true, "Read all group memberships"},
	{"GroupMember.ReadWrite.All", "f81125ac-d3b7-4573-a3b2-7099cc39df9e", "dbaae8cf-10b5-4b86-a4a1-f871c94c6695", true, "Read and write all group memberships"},
	{"Organization.Read.All", "4908d5b9-3fb2-4b1e-9336-1888b7937185", "498476ce-e0fe-48b0-b801-37ba7e2685c6", true, "Read organization information"},
}

// MicrosoftGraph returns the Graph application as this directory holds it:
// multi-tenant, v1.0 access tokens (Graph's requestedAccessTokenVersion is
// null), and the permissions of graphPermissions.
func MicrosoftGraph() Application {
	app := Application{
		ID: microsoftGraphObjectID, AppID: MicrosoftGraphAppID, HomeTenantID: MicrosoftServicesTenantID,
		DisplayName: microsoftGraphAppName, SignInAudience: AudienceMultipleOrgs,
		IdentifierURIs: []string{MicrosoftGraphURI}, AppRoles: []AppRole{},
		API:                    API{OAuth2PermissionScopes: []PermissionScope{}},
		RequiredResourceAccess: []RequiredResourceAccess{}, PasswordCredentials: []PasswordCredential{},
		KeyCredentials: []KeyCredential{},
		Web:            RedirectURIs{RedirectURIs: []string{}}, SPA: RedirectURIs{RedirectURIs: []string{}},
		PublicClient:    RedirectURIs{RedirectURIs: []string{}},
		CreatedDateTime: time.Date(graphCreatedDateTimeYear, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, p := range graphPermissions {
		if p.scopeID != "" {
			typ := ScopeTypeUser
			if p.adminOnly {
				typ = ScopeTypeAdmin
			}
			app.API.OAuth2PermissionScopes = append(app.API.OAuth2PermissionScopes, PermissionScope{
				ID: p.scopeID, Value: p.value, Type: typ, IsEnabled: true,
				AdminConsentDisplayName: p.description, AdminConsentDescription: p.description,
				UserConsentDisplayName: p.description, UserConsentDescription: p.description,
			})
		}
		if p.roleID != "" {
			app.AppRoles = append(app.AppRoles, AppRole{
				ID: p.roleID, Value: p.value, DisplayName: p.description, Description: p.description,
				AllowedMemberTypes: []string{MemberTypeApplication}, IsEnabled: true,
			})
		}
	}
	return app
}

// IsFirstParty reports whether appID is a Microsoft application this
// directory provides (Microsoft Graph).
func IsFirstParty(appID string) bool { return EqualFoldASCII(appID, MicrosoftGraphAppID) }

// firstPartyTenant reports whether id is Microsoft's own tenant, which the
// directory keeps out of listings and exports: it exists only to home
// Graph.
func firstPartyTenant(id string) bool { return id == MicrosoftServicesTenantID }

// refuseFirstParty is the error of a change to a Microsoft object.
func refuseFirstParty(what string) error {
	return fmt.Errorf("%s: %w: it cannot be changed or removed", what, ErrFirstParty)
}

// EnsureMicrosoftGraph makes Microsoft Graph present: its home tenant and
// application, and its service principal in each tenant of tenantIDs.
//
// With tenantIDs nil it is the check of a start. A directory without the
// application (a new one, or one made before Graph was hosted) gets it and
// every tenant its service principal, in one batch. A directory with the
// application has Graph in every tenant when its store's batches are
// transactions (a local file: CreateTenant and BulkCreate write a tenant
// and its Graph service principal in one batch too), and the check stops
// there, so that a start over 10,000 tenants reads none of them. Elsewhere
// (an etcd replica, whose writes commit one by one) a crash between two
// writes can leave tenants without Graph, and the check looks at every
// tenant: in one read of index keys where the store can
// (servicePrincipalGaps), else by reading each tenant's service principal
// (BenchmarkEnsureMicrosoftGraph). Each missing object is one write. The
// check of a start also gives a stored application the permissions this
// binary serves (refreshGraphPermissions).
func (d *Directory) EnsureMicrosoftGraph(ctx context.Context, tenantIDs []string) error {
	stored, err := d.store.GetApplication(ctx, MicrosoftGraphAppID)
	if err == nil && tenantIDs == nil {
		if err := d.refreshGraphPermissions(ctx, stored); err != nil {
			return err
		}
	}
	switch {
	case errors.Is(err, ErrNotFound) && tenantIDs == nil:
		return d.Batch(ctx, func(ctx context.Context) error {
			if err := d.createMicrosoftGraph(ctx); err != nil {
				return err
			}
			return d.ensureGraphServicePrincipals(ctx, nil)
		})
	case errors.Is(err, ErrNotFound):
		if err := d.createMicrosoftGraph(ctx); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("reading Microsoft Graph: %w", err)
	case tenantIDs == nil && d.batchesAreTransactions():
		return nil
	}
	return d.ensureGraphServicePrincipals(ctx, tenantIDs)
}

// refreshGraphPermissions gives a stored Graph application the
// permissions of graphPermissions when they differ: a directory written by
// an older binary lacks those served since (the group permissions), and
// an app role or scope Graph has could not be assigned or granted there.
// It is one write, at the first start of a newer binary only.
func (d *Directory) refreshGraphPermissions(ctx context.Context, stored Application) error {
	graph := MicrosoftGraph()
	if reflect.DeepEqual(stored.AppRoles, graph.AppRoles) && reflect.DeepEqual(stored.API.OAuth2PermissionScopes, graph.API.OAuth2PermissionScopes) {
		return nil
	}
	err := d.store.UpdateApplication(ctx, MicrosoftGraphAppID, func(a *Application) error {
		a.AppRoles, a.API.OAuth2PermissionScopes = graph.AppRoles, graph.API.OAuth2PermissionScopes
		return nil
	})
	if err != nil {
		return fmt.Errorf("refreshing Microsoft Graph's permissions: %w", err)
	}
	return nil
}

// ensureGraphServicePrincipals writes the Graph service principal of each
// tenant of tenantIDs that lacks one; nil means every tenant that may.
func (d *Directory) ensureGraphServicePrincipals(ctx context.Context, tenantIDs []string) error {
	listed := tenantIDs == nil
	if listed {
		var err error
		if tenantIDs, err = d.tenantsToCheckForGraph(ctx); err != nil {
			return err
		}
	}
	graph := MicrosoftGraph()
	for _, id := range tenantIDs {
		if firstPartyTenant(id) {
			continue
		}
		_, err := d.store.GetServicePrincipal(ctx, id, MicrosoftGraphAppID)
		if !errors.Is(err, ErrNotFound) {
			if err != nil {
				return fmt.Errorf("Microsoft Graph in tenant %s: %w", id, err)
			}
			continue
		}
		err = d.store.CreateServicePrincipal(ctx, newServicePrincipal(graphServicePrincipalID(id), id, graph))
		switch {
		case errors.Is(err, ErrExists): // another writer was first
		case listed && errors.Is(err, ErrNotFound): // a tenant removed since the listing needs no Graph
		case err != nil:
			return fmt.Errorf("Microsoft Graph in tenant %s: %w", id, err)
		}
	}
	return nil
}

// batchesAreTransactions reports whether the store runs a Batch as one
// transaction (storage.DB.BatchesAreTransactions).
func (d *Directory) batchesAreTransactions() bool {
	bs, ok := d.store.(transactionalBatches)
	return ok && bs.BatchesAreTransactions()
}

// transactionalBatches is a Store that says whether its Batch is one
// transaction. *storage.DB implements it.
type transactionalBatches interface{ BatchesAreTransactions() bool }

// servicePrincipalGaps is a Store that lists, in one read, the tenants
// with no service principal of an application. *storage.DB implements it.
type servicePrincipalGaps interface {
	TenantsWithoutServicePrincipal(ctx context.Context, appID string) ([]string, error)
}

// tenantsToCheckForGraph returns the tenants a start's check of Graph
// looks at: those without its service principal where the store can tell,
// else every tenant.
func (d *Directory) tenantsToCheckForGraph(ctx context.Context) ([]string, error) {
	if gs, ok := d.store.(servicePrincipalGaps); ok {
		ids, err := gs.TenantsWithoutServicePrincipal(ctx, MicrosoftGraphAppID)
		if err != nil {
			return nil, fmt.Errorf("finding tenants without Microsoft Graph: %w", err)
		}
		return ids, nil
	}
	ts, err := d.store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids, nil
}

// graphServicePrincipalID is the object id of Graph's service principal in
// tenant tenantID: a name-based (version 5) UUID of the tenant id. Entra's
// are random; deriving it keeps the directory's own ID source untouched,
// so that creating a tenant draws the same ids as before Graph existed,
// and gives every replica and every re-creation the same id.
func graphServicePrincipalID(tenantID string) string {
	h := sha1.Sum([]byte(MicrosoftGraphAppID + "/" + tenantID))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return FormatGUID([16]byte(h[:16]))
}

// createMicrosoftGraph stores Microsoft's tenant and the Graph application,
// tolerating another writer doing the same at once.
func (d *Directory) createMicrosoftGraph(ctx context.Context) error {
	home := Tenant{ID: MicrosoftServicesTenantID, DisplayName: microsoftServicesName,
		Domains: []string{microsoftServicesDomain}, UserConsent: UserConsentDisabled,
		CreatedDateTime: time.Date(graphCreatedDateTimeYear, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := d.store.CreateTenant(ctx, home); err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("creating Microsoft's tenant: %w", err)
	}
	graph := MicrosoftGraph()
	// The home service principal's id is fixed too: it is in no tenant a
	// customer sees.
	err := d.store.CreateApplication(ctx, graph, newServicePrincipal(microsoftGraphObjectID, MicrosoftServicesTenantID, graph))
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("registering Microsoft Graph: %w", err)
	}
	return nil
}
