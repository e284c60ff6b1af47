package storage_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/issuer-dev/issuer/conformance"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
)

var _ issuer.Backend = (*storage.DB)(nil)

// TestConformance runs the backend contract's suite against bbolt. After
// each test the file must pass Check, which reads every index against the
// records: the suite's writes leave a consistent file.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) issuer.Backend {
		db, err := storage.Open(filepath.Join(t.TempDir(), "issuer.db"), storage.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := db.Check(context.Background()); err != nil {
				t.Errorf("Check after the test: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return db
	})
}
