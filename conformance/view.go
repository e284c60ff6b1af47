package conformance

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// testView checks the read view consent.Resolve reads a token request's
// facts from (consent.Viewer): every read of its Reader answers as the
// backend's method of the same name, found or not; fn's error comes back
// as it is; a done context opens no view; and a write committed while a
// view is open is not seen by the view's later reads, so that what Resolve
// gathers is the state of one instant.
func testView(t *testing.T, f *fixture) {
	s := newScene(f)
	ctx := f.ctx
	reads := []struct {
		name string
		read func(r consent.Reader) (any, error)
		want error
	}{
		{"GetTenant", func(r consent.Reader) (any, error) { return r.GetTenant(ctx, tenantA) }, nil},
		{"GetTenant missing", func(r consent.Reader) (any, error) { return r.GetTenant(ctx, tenantC) }, tenant.ErrNotFound},
		{"GetTenantByDomain", func(r consent.Reader) (any, error) { return r.GetTenantByDomain(ctx, "A.example") }, nil},
		{"GetTenantByDomain missing", func(r consent.Reader) (any, error) { return r.GetTenantByDomain(ctx, "c.example") }, tenant.ErrNotFound},
		{"GetApplication", func(r consent.Reader) (any, error) { return r.GetApplication(ctx, appMulti) }, nil},
		{"GetApplication missing", func(r consent.Reader) (any, error) { return r.GetApplication(ctx, appOther) }, tenant.ErrNotFound},
		{"FindServicePrincipal", func(r consent.Reader) (any, error) {
			sp, app, err := r.FindServicePrincipal(ctx, tenantA, "API://multi/")
			return []any{sp, app}, err
		}, nil},
		{"FindServicePrincipal missing", func(r consent.Reader) (any, error) {
			sp, app, err := r.FindServicePrincipal(ctx, tenantB, appAPI)
			return []any{sp, app}, err
		}, tenant.ErrNotFound},
		{"GetUser", func(r consent.Reader) (any, error) { return r.GetUser(ctx, tenantA, s.alice.ID) }, nil},
		{"GetUser missing", func(r consent.Reader) (any, error) { return r.GetUser(ctx, tenantB, s.alice.ID) }, tenant.ErrNotFound},
		{"GetUserByUPN", func(r consent.Reader) (any, error) { return r.GetUserByUPN(ctx, tenantA, "BOB@a.example") }, nil},
		{"AppRoleAssignmentsOf", func(r consent.Reader) (any, error) {
			return r.AppRoleAssignmentsOf(ctx, tenantA, s.client.ID, s.api.ID)
		}, nil},
		{"PermissionGrantsOf", func(r consent.Reader) (any, error) {
			return r.PermissionGrantsOf(ctx, tenantA, s.client.ID, s.api.ID)
		}, nil},
		{"PermissionGrantsOf missing tenant", func(r consent.Reader) (any, error) {
			return r.PermissionGrantsOf(ctx, tenantC, s.client.ID, s.api.ID)
		}, tenant.ErrNotFound},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			var inView any
			var viewErr error
			if err := f.b.View(ctx, func(r consent.Reader) error {
				inView, viewErr = tc.read(r)
				return nil
			}); err != nil {
				t.Fatalf("View: %v", err)
			}
			direct, err := tc.read(f.b)
			for _, e := range []error{viewErr, err} {
				if tc.want == nil && e != nil || tc.want != nil && !errors.Is(e, tc.want) {
					t.Errorf("in a view: %v, directly: %v; want %v", viewErr, err, tc.want)
				}
			}
			if !reflect.DeepEqual(inView, direct) {
				t.Errorf("in a view %+v; directly %+v", inView, direct)
			}
		})
	}

	t.Run("fn's error", func(t *testing.T) {
		mine := errors.New("mine")
		if err := f.b.View(ctx, func(consent.Reader) error { return mine }); !errors.Is(err, mine) {
			t.Errorf("View = %v; want fn's error", err)
		}
	})
	t.Run("done context", func(t *testing.T) {
		done, cancel := context.WithCancel(ctx)
		cancel()
		called := false
		err := f.b.View(done, func(consent.Reader) error { called = true; return nil })
		if !errors.Is(err, context.Canceled) || called {
			t.Errorf("View(done) = %v, fn called %v; want context.Canceled without a call", err, called)
		}
	})
	t.Run("one snapshot", func(t *testing.T) {
		disable := func() error {
			return f.b.UpdateServicePrincipal(ctx, tenantA, appAPI, func(sp *tenant.ServicePrincipal) error {
				sp.AccountEnabled = false
				return nil
			})
		}
		written := make(chan error, 1)
		err := f.b.View(ctx, func(r consent.Reader) error {
			before, _, err := r.FindServicePrincipal(ctx, tenantA, "api://orders")
			if err != nil {
				return err
			}
			go func() { written <- disable() }()
			// A store may hold the write back until the view ends (bbolt
			// does when its file must grow; a replica waits for its copy,
			// which the open view holds, for at most its own timeout);
			// either way the view must not see it. The view stays open
			// for less than such a timeout.
			select {
			case err := <-written:
				written <- err
			case <-time.After(500 * time.Millisecond):
			}
			after, _, err := r.FindServicePrincipal(ctx, tenantA, "api://orders")
			if err != nil {
				return err
			}
			if !before.AccountEnabled || !after.AccountEnabled {
				t.Errorf("in the view: accountEnabled %v, then %v; want the snapshot's true both times", before.AccountEnabled, after.AccountEnabled)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("View: %v", err)
		}
		if err := <-written; err != nil {
			t.Fatalf("UpdateServicePrincipal: %v", err)
		}
		err = f.b.View(ctx, func(r consent.Reader) error {
			sp, _, err := r.FindServicePrincipal(ctx, tenantA, "api://orders")
			if err == nil && sp.AccountEnabled {
				t.Errorf("the next view: accountEnabled true; want the write seen")
			}
			return err
		})
		if err != nil {
			t.Fatalf("View: %v", err)
		}
	})
}
