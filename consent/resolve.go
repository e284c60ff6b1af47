package consent

import (
	"context"
	"errors"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// ResolveClient finds the client application and its service principal in t.
// Missing objects come back as nil pointers, for CheckClient to judge; only
// store failures are errors. The common case (the client has a service
// principal in t) costs one read.
func ResolveClient(ctx context.Context, s tenant.Store, t tenant.Tenant, appID string) (*tenant.Application, *tenant.ServicePrincipal, error) {
	if !tenant.IsGUID(appID) {
		return nil, nil, nil
	}
	appID = strings.ToLower(appID)
	sp, app, err := s.FindServicePrincipal(ctx, t.ID, appID)
	switch {
	case err == nil:
		return &app, &sp, nil
	case !errors.Is(err, tenant.ErrNotFound):
		return nil, nil, err
	}
	app, err = s.GetApplication(ctx, appID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return &app, nil, nil
}

// ResolveResource finds the application named by an identifier URI or appId
// through its service principal in t, as Entra does. Not found is (nil, nil, nil).
func ResolveResource(ctx context.Context, s tenant.Store, t tenant.Tenant, name string) (*tenant.Application, *tenant.ServicePrincipal, error) {
	sp, app, err := s.FindServicePrincipal(ctx, t.ID, name)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return &app, &sp, nil
}
