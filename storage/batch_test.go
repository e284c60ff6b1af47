package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// TestBatch checks that the store calls of a Batch are one transaction:
// committed together, rolled back together, reading their own writes.
func TestBatch(t *testing.T) {
	errStop := errors.New("stop")
	tests := []struct {
		name string
		// fn runs in the batch; it returns what the batch's fn returns.
		fn        func(ctx context.Context, db *DB) error
		wantErr   error // nil: the batch commits
		wantExist []string
		wantGone  []string
	}{
		{
			name: "commits every write",
			fn: func(ctx context.Context, db *DB) error {
				if err := db.CreateTenant(ctx, newTenant(tenantA, "a.example")); err != nil {
					return err
				}
				return db.CreateTenant(ctx, newTenant(tenantB, "b.example"))
			},
			wantExist: []string{tenantA, tenantB},
		},
		{
			name: "reads see the batch's writes",
			fn: func(ctx context.Context, db *DB) error {
				if err := db.CreateTenant(ctx, newTenant(tenantA, "a.example")); err != nil {
					return err
				}
				_, err := db.GetTenant(ctx, tenantA)
				return err
			},
			wantExist: []string{tenantA},
		},
		{
			name: "an error of fn writes nothing",
			fn: func(ctx context.Context, db *DB) error {
				if err := db.CreateTenant(ctx, newTenant(tenantA, "a.example")); err != nil {
					return err
				}
				return errStop
			},
			wantErr:  errStop,
			wantGone: []string{tenantA},
		},
		{
			name: "a refusal that wrote nothing leaves the batch whole",
			fn: func(ctx context.Context, db *DB) error {
				if err := db.CreateTenant(ctx, newTenant(tenantA, "a.example")); err != nil {
					return err
				}
				if err := db.CreateTenant(ctx, newTenant(tenantB, "a.example")); !errors.Is(err, tenant.ErrExists) {
					return errors.New("a second owner of a.example was not refused")
				}
				return db.CreateTenant(ctx, newTenant(tenantC, "c.example"))
			},
			wantExist: []string{tenantA, tenantC},
			wantGone:  []string{tenantB},
		},
		{
			name: "a write that failed after writing rolls the batch back",
			fn: func(ctx context.Context, db *DB) error {
				if err := db.CreateTenant(ctx, newTenant(tenantA, "a.example")); err != nil {
					return err
				}
				// A write that changes a bucket, then fails: alone,
				// its own transaction would have rolled it back.
				err := db.update(ctx, func(tx *bbolt.Tx) error {
					if err := createTenantTx(tx, newTenant(tenantB, "b.example"), []string{"b.example"}); err != nil {
						return err
					}
					return errStop
				})
				if !errors.Is(err, errStop) {
					return errors.New("the failing write did not fail")
				}
				return nil // fn carries on as if nothing happened
			},
			wantErr:  errStop,
			wantGone: []string{tenantA, tenantB},
		},
		{
			name: "a batch inside a batch is part of it",
			fn: func(ctx context.Context, db *DB) error {
				if err := db.Batch(ctx, func(ctx context.Context) error {
					return db.CreateTenant(ctx, newTenant(tenantA, "a.example"))
				}); err != nil {
					return err
				}
				return errStop
			},
			wantErr:  errStop,
			wantGone: []string{tenantA},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			ctx := context.Background()
			err := db.Batch(ctx, func(ctx context.Context) error { return tt.fn(ctx, db) })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Batch = %v, want %v", err, tt.wantErr)
			}
			for _, id := range tt.wantExist {
				if _, err := db.GetTenant(ctx, id); err != nil {
					t.Errorf("tenant %s after the batch: %v", id, err)
				}
			}
			for _, id := range tt.wantGone {
				if _, err := db.GetTenant(ctx, id); !errors.Is(err, tenant.ErrNotFound) {
					t.Errorf("tenant %s after the batch: %v, want not found", id, err)
				}
			}
		})
	}
}

// TestBatchIsolation checks that while a batch runs, other callers' reads
// see the database as it was, and see the whole batch once it commits.
func TestBatchIsolation(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	err := db.Batch(ctx, func(bctx context.Context) error {
		if err := db.CreateTenant(bctx, newTenant(tenantA, "a.example")); err != nil {
			return err
		}
		done := make(chan error)
		go func() { // another caller: its own read transaction
			_, err := db.GetTenant(ctx, tenantA)
			done <- err
		}()
		if err := <-done; !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("a read outside the batch found its uncommitted tenant: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetTenant(ctx, tenantA); err != nil {
		t.Errorf("after the batch: %v", err)
	}
}

// TestBatchReadOnly checks that a read-only database runs fn without a
// transaction: its writes fail as they would outside a batch.
func TestBatchReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Batch(context.Background(), func(ctx context.Context) error {
		return ro.CreateTenant(ctx, newTenant(tenantA, "a.example"))
	})
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Batch on a read-only database = %v, want ErrReadOnly", err)
	}
}
