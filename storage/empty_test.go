package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenNoSync checks a throwaway database: a new file starts as a copy of
// an empty one, private to its owner, usable and sound; an existing file is
// opened as it is, never replaced by the copy.
func TestOpenNoSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	ctx := context.Background()
	for _, step := range []struct {
		name      string
		create    bool // create tenant A in this step
		wantExist bool // tenant A found at the start of this step
	}{
		{"new file", true, false},
		{"existing file", false, true},
	} {
		t.Run(step.name, func(t *testing.T) {
			db, err := Open(path, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != fileMode {
				t.Fatalf("file %v, %v; want mode %v", fi, err, os.FileMode(fileMode))
			}
			if _, err := db.GetTenant(ctx, tenantA); (err == nil) != step.wantExist {
				t.Fatalf("tenant A: %v; want it found: %v", err, step.wantExist)
			}
			if step.create {
				if err := db.CreateTenant(ctx, newTenant(tenantA, "a.example")); err != nil {
					t.Fatal(err)
				}
			}
			fsck(t, db)
		})
	}
}
