package storage

import (
	"context"
	"path/filepath"
	"testing"
)

func TestPing(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "issuer.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping on an open database: %v; want nil", err)
	}
	db.Close()
	if err := db.Ping(context.Background()); err == nil {
		t.Error("Ping on a closed database: nil; want an error")
	}
}
