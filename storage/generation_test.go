package storage

import (
	"context"
	"errors"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestGeneration: every write transaction moves the generation on before
// the write returns, a refused one too; reads leave it; inside a Batch
// and under a done context it is not available.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	const tid = "00000000-0000-4000-8000-0000000000a1"
	tests := []struct {
		name  string
		op    func(e env) error
		moves bool
	}{
		{"create", func(e env) error { return e.db.CreateTenant(ctx, newTenant(tid, "a.example")) }, true},
		{"refused create", func(e env) error {
			if err := e.db.CreateTenant(ctx, newTenant(tid, "a.example")); !errors.Is(err, tenant.ErrExists) {
				return errors.New("the second create was not refused")
			}
			return nil
		}, true},
		{"update", func(e env) error {
			return e.db.UpdateTenant(ctx, tid, func(t *tenant.Tenant) error { t.DisplayName = "B"; return nil })
		}, true},
		{"read", func(e env) error { _, err := e.db.GetTenant(ctx, tid); return err }, false},
		{"batch", func(e env) error {
			return e.db.Batch(ctx, func(ctx context.Context) error {
				if _, ok := e.db.Generation(ctx); ok {
					return errors.New("a generation inside a batch")
				}
				return e.db.UpdateTenant(ctx, tid, func(t *tenant.Tenant) error { t.DisplayName = "C"; return nil })
			})
		}, true},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, ok := e.db.Generation(ctx)
			if !ok {
				t.Fatal("no generation")
			}
			if err := tt.op(e); err != nil {
				t.Fatal(err)
			}
			after, _ := e.db.Generation(ctx)
			if moved := after != before; moved != tt.moves {
				t.Fatalf("generation %d → %d, want moved=%v", before, after, tt.moves)
			}
		})
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := e.db.Generation(done); ok {
		t.Fatal("a generation under a done context")
	}
}
