package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// emptyFile is the content of a new database (bbolt's first pages, the root
// buckets and the schema version), made once per process. bbolt fsyncs a
// new file's first pages even when told not to sync, a millisecond or two
// on a disk that a test server of issuertest, whose database is thrown
// away, should not pay: a database opened with NoSync starts as a copy.
var emptyFile func() ([]byte, error)

func init() { emptyFile = sync.OnceValues(makeEmptyFile) }

func makeEmptyFile() ([]byte, error) {
	dir, err := os.MkdirTemp("", "issuer-empty-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "empty.db")
	db, err := Open(path, Options{})
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// createFromEmpty writes a copy of an empty database at path, unless
// something is there already.
func createFromEmpty(path string) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // a file to open, or an error for Open to report
	}
	data, err := emptyFile()
	if err != nil {
		return fmt.Errorf("storage: making an empty database: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil // created meanwhile: Open opens it
	}
	if err != nil {
		return fmt.Errorf("storage: create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("storage: create %s: %w", path, err)
	}
	return nil
}
