package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Owner is one owner of an application or a service principal: a user or
// a service principal of the owned object's tenant (Graph's
// directoryObject behind the owners relationship).
type Owner struct {
	User             *User
	ServicePrincipal *ServicePrincipal
}

// ApplicationOwners returns the owners of the application appID that are
// still in its home tenant, in the order they were added. An owner deleted
// since is left out, as Graph drops a deleted object from the relationships
// that held it.
func (d *Directory) ApplicationOwners(ctx context.Context, appID string) ([]Owner, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return nil, err
	}
	return d.owners(ctx, app.HomeTenantID, app.Owners)
}

// AddApplicationOwner adds the user or service principal objectID of the
// application's home tenant to its owners. An object that does not exist
// there is ErrNotFound, one that already owns the application ErrExists.
func (d *Directory) AddApplicationOwner(ctx context.Context, appID, objectID string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	id, err := d.ownerID(ctx, app.HomeTenantID, objectID, "application "+app.AppID)
	if err != nil {
		return err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		var err error
		a.Owners, err = addOwner(a.Owners, id, "application "+a.AppID)
		return err
	})
	return err
}

// RemoveApplicationOwner removes objectID from the application's owners;
// an object that is not one is ErrNotFound. The last owner may go, as in
// Entra: administrators still manage the application.
func (d *Directory) RemoveApplicationOwner(ctx context.Context, appID, objectID string) error {
	_, err := d.updateApplication(ctx, appID, func(a *Application) error {
		var err error
		a.Owners, err = removeOwner(a.Owners, objectID, "application "+a.AppID)
		return err
	})
	return err
}

// ServicePrincipalOwners returns the owners of the service principal of
// appID in tenantRef that are still in that tenant, in the order they
// were added (see ApplicationOwners).
func (d *Directory) ServicePrincipalOwners(ctx context.Context, tenantRef, appID string) ([]Owner, error) {
	sp, err := d.servicePrincipalOf(ctx, tenantRef, appID)
	if err != nil {
		return nil, err
	}
	return d.owners(ctx, sp.TenantID, sp.Owners)
}

// AddServicePrincipalOwner adds the user or service principal objectID of
// the service principal's tenant to its owners (Graph: "users, the service
// principal itself, or other service principals"). An object that does not
// exist there is ErrNotFound, one that already owns it ErrExists.
func (d *Directory) AddServicePrincipalOwner(ctx context.Context, tenantRef, appID, objectID string) error {
	sp, err := d.servicePrincipalOf(ctx, tenantRef, appID)
	if err != nil {
		return err
	}
	what := "service principal " + sp.ID
	id, err := d.ownerID(ctx, sp.TenantID, objectID, what)
	if err != nil {
		return err
	}
	return d.updateServicePrincipalOwners(ctx, sp, func(owners []string) ([]string, error) { return addOwner(owners, id, what) })
}

// RemoveServicePrincipalOwner removes objectID from the service
// principal's owners; an object that is not one is ErrNotFound.
func (d *Directory) RemoveServicePrincipalOwner(ctx context.Context, tenantRef, appID, objectID string) error {
	sp, err := d.servicePrincipalOf(ctx, tenantRef, appID)
	if err != nil {
		return err
	}
	return d.updateServicePrincipalOwners(ctx, sp, func(owners []string) ([]string, error) {
		return removeOwner(owners, objectID, "service principal "+sp.ID)
	})
}

// servicePrincipalOf is the service principal of appID in the tenant
// tenantRef names (id or domain).
func (d *Directory) servicePrincipalOf(ctx context.Context, tenantRef, appID string) (ServicePrincipal, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return ServicePrincipal{}, err
	}
	sp, _, err := d.FindServicePrincipal(ctx, t.ID, appID)
	return sp, err
}

// updateServicePrincipalOwners replaces sp's owners by what update makes
// of them, in one store call.
func (d *Directory) updateServicePrincipalOwners(ctx context.Context, sp ServicePrincipal, update func([]string) ([]string, error)) error {
	if IsFirstParty(sp.AppID) {
		return refuseFirstParty("service principal of " + sp.AppID)
	}
	err := d.store.UpdateServicePrincipal(ctx, sp.TenantID, sp.AppID, func(s *ServicePrincipal) error {
		var err error
		s.Owners, err = update(s.Owners)
		return err
	})
	if err != nil {
		return fmt.Errorf("updating the owners of service principal %s: %w", sp.ID, err)
	}
	return nil
}

// OwnerObjectID is the object id of the owner named in tenant tenantID the
// way the CLI and seed files name one: user, a UPN or object id, or, when
// user is empty, clientAppID, whose service principal there is the owner.
func (d *Directory) OwnerObjectID(ctx context.Context, tenantID, user, clientAppID string) (string, error) {
	if user != "" {
		u, err := d.FindUser(ctx, tenantID, user)
		return u.ID, err
	}
	sp, _, err := d.FindServicePrincipal(ctx, tenantID, clientAppID)
	return sp.ID, err
}

// OwnedObjects returns what objectID owns in the tenant tenantRef names:
// the applications homed there and the service principals there (Graph's
// ownedObjects of a user or a service principal), in the order the
// tenant lists them.
func (d *Directory) OwnedObjects(ctx context.Context, tenantRef, objectID string) ([]Application, []ServicePrincipal, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, nil, err
	}
	apps, err := d.ListApplications(ctx, t.ID)
	if err != nil {
		return nil, nil, err
	}
	sps, err := d.ListServicePrincipals(ctx, t.ID)
	if err != nil {
		return nil, nil, err
	}
	apps = slices.DeleteFunc(apps, func(a Application) bool { return !a.OwnedBy(objectID) })
	sps = slices.DeleteFunc(sps, func(sp ServicePrincipal) bool { return !sp.OwnedBy(objectID) })
	return apps, sps, nil
}

// owners resolves ids to the users and service principals of tenantID,
// leaving out those deleted since.
func (d *Directory) owners(ctx context.Context, tenantID string, ids []string) ([]Owner, error) {
	var sps []ServicePrincipal // read once, when an owner is no user
	out := make([]Owner, 0, len(ids))
	for _, id := range ids {
		o, found, err := d.owner(ctx, tenantID, id, &sps)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, o)
		}
	}
	return out, nil
}

// ownerID checks that objectID is a user or service principal of tenantID
// that may own what, and returns its canonical form.
func (d *Directory) ownerID(ctx context.Context, tenantID, objectID, what string) (string, error) {
	id, err := CanonicalGUID(objectID)
	if err != nil {
		return "", err
	}
	var sps []ServicePrincipal
	if _, found, err := d.owner(ctx, tenantID, id, &sps); err != nil {
		return "", err
	} else if !found {
		return "", fmt.Errorf("owner %s of %s: %w", id, what, ErrNotFound)
	}
	return id, nil
}

// ownedBy reports whether owners holds objectID.
func ownedBy(owners []string, objectID string) bool { return ownerIndex(owners, objectID) >= 0 }

// ownerIndex is the position of objectID in owners, -1 if absent; object
// ids compare without case.
func ownerIndex(owners []string, objectID string) int {
	return slices.IndexFunc(owners, func(o string) bool { return strings.EqualFold(o, objectID) })
}

// addOwner appends id to owners, unless it is one already (ErrExists).
func addOwner(owners []string, id, what string) ([]string, error) {
	if ownedBy(owners, id) {
		return owners, fmt.Errorf("owner %s of %s: %w", id, what, ErrExists)
	}
	return append(owners, id), nil
}

// removeOwner deletes objectID from owners; an object that is not one is
// ErrNotFound. The last owner may go, as in Entra: administrators still
// manage the object.
func removeOwner(owners []string, objectID, what string) ([]string, error) {
	i := ownerIndex(owners, objectID)
	if i < 0 {
		return owners, fmt.Errorf("owner %s of %s: %w", objectID, what, ErrNotFound)
	}
	return slices.Delete(owners, i, i+1), nil
}

// owner finds the user or service principal id of tenant tenantID; sps
// caches the tenant's service principals across calls.
func (d *Directory) owner(ctx context.Context, tenantID, id string, sps *[]ServicePrincipal) (Owner, bool, error) {
	u, err := d.FindUser(ctx, tenantID, id)
	if err == nil {
		return Owner{User: &u}, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Owner{}, false, err
	}
	if *sps == nil {
		if *sps, err = d.ListServicePrincipals(ctx, tenantID); err != nil {
			return Owner{}, false, err
		}
	}
	i := slices.IndexFunc(*sps, func(sp ServicePrincipal) bool { return strings.EqualFold(sp.ID, id) })
	if i < 0 {
		return Owner{}, false, nil
	}
	sp := (*sps)[i]
	return Owner{ServicePrincipal: &sp}, true, nil
}
