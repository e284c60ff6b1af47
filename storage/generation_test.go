package storage

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestGeneration: every write transaction moves the generation on before
// the write returns, a refused one too, but for those that change refresh
// tokens alone; reads leave it; inside a Batch and under a done context it
// is not available.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	const tid = "00000000-0000-4000-8000-0000000000a1"
	next := newRefreshToken("h2", "f1")
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
		{"refresh token created", func(e env) error { return e.db.CreateRefreshToken(ctx, newRefreshToken("h1", "f1")) }, false},
		{"refresh token refused", func(e env) error {
			if err := e.db.CreateRefreshToken(ctx, newRefreshToken("h1", "f1")); !errors.Is(err, tenant.ErrExists) {
				return errors.New("the second create was not refused")
			}
			return nil
		}, false},
		{"refresh token renewed", func(e env) error { return e.db.RenewRefreshToken(ctx, "h1", t0, next) }, false},
		{"refresh token rotated", func(e env) error { return e.db.RotateRefreshToken(ctx, "h2", t0, newRefreshToken("h3", "f1")) }, false},
		{"refresh token family revoked", func(e env) error { _, err := e.db.RevokeRefreshTokenFamily(ctx, "f1", t0); return err }, false},
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

// TestGenerationOfApply: changes from the shared store count as the same
// write made here does: refresh-token buckets alone leave the generation,
// anything else beside them moves it.
func TestGenerationOfApply(t *testing.T) {
	ctx := t.Context()
	// The changes of a refresh token's creation, as another replica's
	// write reaches this one.
	src := newEnv(t)
	if err := src.db.CreateRefreshToken(ctx, newRefreshToken("h1", "f1")); err != nil {
		t.Fatal(err)
	}
	var puts, deletes []Change
	if err := src.db.Dump(ctx, func(c Change) error {
		if c.Kind == ChangePut && refreshTokenBucket(c.Bucket[0]) {
			puts = append(puts, c)
			deletes = append(deletes, Change{Kind: ChangeDelete, Bucket: c.Bucket, Key: c.Key})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(puts) != 3 {
		t.Fatalf("a refresh token is %d puts, want 3 (record, family and user index)", len(puts))
	}
	setting := Change{Kind: ChangePut, Bucket: []string{"settings"}, Key: []byte("test"), Value: []byte("1")}
	tests := []struct {
		name    string
		changes []Change
		moves   bool
	}{
		{"refresh token stored", puts, false},
		{"refresh token deleted", deletes, false},
		{"a setting beside it", append(slices.Clone(puts), setting), true},
	}
	e := newEnv(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.db.Generation(ctx)
			if err := e.db.Apply(int64(i+1), tt.changes); err != nil {
				t.Fatal(err)
			}
			after, _ := e.db.Generation(ctx)
			if moved := after != before; moved != tt.moves {
				t.Fatalf("generation %d → %d, want moved=%v", before, after, tt.moves)
			}
		})
	}
}
