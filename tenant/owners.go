package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Owner is one owner of an application: a user or a service principal of
// its home tenant (Graph's directoryObject behind the owners relationship).
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
	var sps []ServicePrincipal // read once, when an owner is no user
	out := make([]Owner, 0, len(app.Owners))
	for _, id := range app.Owners {
		o, found, err := d.owner(ctx, app.HomeTenantID, id, &sps)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, o)
		}
	}
	return out, nil
}

// AddApplicationOwner adds the user or service principal objectID of the
// application's home tenant to its owners. An object that does not exist
// there is ErrNotFound, one that already owns the application ErrExists.
func (d *Directory) AddApplicationOwner(ctx context.Context, appID, objectID string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	id, err := CanonicalGUID(objectID)
	if err != nil {
		return err
	}
	var sps []ServicePrincipal
	if _, found, err := d.owner(ctx, app.HomeTenantID, id, &sps); err != nil {
		return err
	} else if !found {
		return fmt.Errorf("owner %s of application %s: %w", id, app.AppID, ErrNotFound)
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		if a.OwnedBy(id) {
			return fmt.Errorf("owner %s of application %s: %w", id, a.AppID, ErrExists)
		}
		a.Owners = append(a.Owners, id)
		return nil
	})
	return err
}

// RemoveApplicationOwner removes objectID from the application's owners;
// an object that is not one is ErrNotFound. The last owner may go, as in
// Entra: administrators still manage the application.
func (d *Directory) RemoveApplicationOwner(ctx context.Context, appID, objectID string) error {
	_, err := d.updateApplication(ctx, appID, func(a *Application) error {
		i := slices.IndexFunc(a.Owners, func(o string) bool { return strings.EqualFold(o, objectID) })
		if i < 0 {
			return fmt.Errorf("owner %s of application %s: %w", objectID, a.AppID, ErrNotFound)
		}
		a.Owners = slices.Delete(a.Owners, i, i+1)
		return nil
	})
	return err
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
