package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// TestViewReads: every read of a View's Reader answers as the DB's own
// method of the same name, found or not.
func TestViewReads(t *testing.T) {
	e := newGrantsEnv(t)
	ctx := t.Context()
	e.assign(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, objectID("role", "read"))
	e.grant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "access_as_user")
	type read func(r consent.Reader) (any, error)
	for _, tc := range []struct {
		name string
		read read
		want error
	}{
		{"tenant", func(r consent.Reader) (any, error) { return r.GetTenant(ctx, tenantA) }, nil},
		{"tenant missing", func(r consent.Reader) (any, error) { return r.GetTenant(ctx, tenantC) }, tenant.ErrNotFound},
		{"tenant by domain, any case", func(r consent.Reader) (any, error) { return r.GetTenantByDomain(ctx, "Contoso.onmicrosoft.com") }, nil},
		{"tenant by unknown domain", func(r consent.Reader) (any, error) { return r.GetTenantByDomain(ctx, "nobody.example") }, tenant.ErrNotFound},
		{"application", func(r consent.Reader) (any, error) { return r.GetApplication(ctx, appOrders) }, nil},
		{"application missing", func(r consent.Reader) (any, error) { return r.GetApplication(ctx, appOther) }, tenant.ErrNotFound},
		{"service principal by URI", func(r consent.Reader) (any, error) {
			sp, app, err := r.FindServicePrincipal(ctx, tenantA, "API://orders/")
			return []any{sp, app}, err
		}, nil},
		{"service principal not in the tenant", func(r consent.Reader) (any, error) {
			sp, app, err := r.FindServicePrincipal(ctx, tenantB, appOrders)
			return []any{sp, app}, err
		}, tenant.ErrNotFound},
		{"user", func(r consent.Reader) (any, error) { return r.GetUser(ctx, tenantA, e.alice.ID) }, nil},
		{"user missing", func(r consent.Reader) (any, error) { return r.GetUser(ctx, tenantA, objectID("nobody")) }, tenant.ErrNotFound},
		{"user by UPN, any case", func(r consent.Reader) (any, error) {
			return r.GetUserByUPN(ctx, tenantA, "ALICE@contoso.onmicrosoft.com")
		}, nil},
		{"user of a missing tenant", func(r consent.Reader) (any, error) {
			return r.GetUserByUPN(ctx, tenantC, "alice@contoso.onmicrosoft.com")
		}, tenant.ErrNotFound},
		{"assignments", func(r consent.Reader) (any, error) {
			return r.AppRoleAssignmentsOf(ctx, tenantA, e.client.ID, e.orders.ID)
		}, nil},
		{"no assignments", func(r consent.Reader) (any, error) {
			return r.AppRoleAssignmentsOf(ctx, tenantA, e.client.ID, e.billing.ID)
		}, nil},
		{"grants", func(r consent.Reader) (any, error) {
			return r.PermissionGrantsOf(ctx, tenantA, e.client.ID, e.orders.ID)
		}, nil},
		{"grants of a missing tenant", func(r consent.Reader) (any, error) {
			return r.PermissionGrantsOf(ctx, tenantC, e.client.ID, e.orders.ID)
		}, tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inView any
			var viewErr error
			if err := e.db.View(ctx, func(r consent.Reader) error {
				inView, viewErr = tc.read(r)
				return nil
			}); err != nil {
				t.Fatalf("View: %v", err)
			}
			direct, err := tc.read(e.db)
			wantErr(t, "in a view", viewErr, tc.want)
			wantErr(t, "directly", err, tc.want)
			if !reflect.DeepEqual(inView, direct) {
				t.Errorf("in a view %+v; directly %+v", inView, direct)
			}
		})
	}
}

// TestViewIsOneSnapshot: a write committed while a view is open is not seen
// by the view's later reads, so that everything Resolve gathers belongs to
// one instant; the next view sees it.
func TestViewIsOneSnapshot(t *testing.T) {
	e := newGrantsEnv(t)
	ctx := t.Context()
	// Free pages, so that the write below needs no larger file: bbolt
	// remaps a growing file only when no read transaction is open.
	for i := range 200 {
		e.user(tenantB, "filler"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@fabrikam.onmicrosoft.com")
	}
	if err := e.db.DeleteTenant(ctx, tenantB); err != nil {
		t.Fatal(err)
	}
	e.tenant(tenantC, "spare.example")

	disable := func() error {
		return e.db.UpdateServicePrincipal(ctx, tenantA, appOrders, func(sp *tenant.ServicePrincipal) error {
			sp.AccountEnabled = false
			return nil
		})
	}
	err := e.db.View(ctx, func(r consent.Reader) error {
		before, _, err := r.FindServicePrincipal(ctx, tenantA, "api://orders")
		if err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- disable() }()
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-time.After(10 * time.Second):
			return errors.New("the write did not commit while the view was open")
		}
		after, _, err := r.FindServicePrincipal(ctx, tenantA, "api://orders")
		if err != nil {
			return err
		}
		if !before.AccountEnabled || !after.AccountEnabled {
			t.Errorf("in the view: enabled %v, then %v; want the snapshot's true both times", before.AccountEnabled, after.AccountEnabled)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	sp, _, err := e.db.FindServicePrincipal(ctx, tenantA, "api://orders")
	if err != nil || sp.AccountEnabled {
		t.Errorf("after the view: %+v, %v; want the write seen", sp, err)
	}
}

// TestViewErrors: fn's error comes back as it is; a cancelled context opens
// no view.
func TestViewErrors(t *testing.T) {
	e := newEnv(t)
	mine := errors.New("mine")
	if err := e.db.View(t.Context(), func(consent.Reader) error { return mine }); err != mine {
		t.Errorf("View = %v; want fn's error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := e.db.View(ctx, func(consent.Reader) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("View(cancelled) = %v, fn called %v; want context.Canceled without a call", err, called)
	}
}
