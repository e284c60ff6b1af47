package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWritePublicFile: a restart leaves a CA file that already holds the
// certificate as it is (the same inode, no write); anything else at the
// path is replaced by a regular file of mode 0644 holding it.
func TestWritePublicFile(t *testing.T) {
	data := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	for _, tc := range []struct {
		name     string
		prepare  func(t *testing.T, path string)
		wantKept bool
	}{
		{"no file", func(*testing.T, string) {}, false},
		{"the same certificate", func(t *testing.T, path string) { writeMode(t, path, data, 0o644) }, true},
		{"another certificate", func(t *testing.T, path string) {
			writeMode(t, path, append([]byte("x"), data[1:]...), 0o644)
		}, false},
		{"the same certificate, mode 0600", func(t *testing.T, path string) { writeMode(t, path, data, 0o600) }, false},
		{"the same certificate, mode 0666", func(t *testing.T, path string) { writeMode(t, path, data, 0o666) }, false},
		{"a link to the same certificate", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "target.pem")
			writeMode(t, target, data, 0o644)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "issuer-ca.pem")
			tc.prepare(t, path)
			before, _ := os.Lstat(path)
			if err := writePublicFile(path, data); err != nil {
				t.Fatal(err)
			}
			after, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !after.Mode().IsRegular() || after.Mode().Perm() != 0o644 {
				t.Errorf("%s is %v; want a regular file of mode 0644", path, after.Mode())
			}
			if got, _ := os.ReadFile(path); string(got) != string(data) {
				t.Errorf("%s holds %q; want the certificate", path, got)
			}
			if kept := before != nil && os.SameFile(before, after); kept != tc.wantKept {
				t.Errorf("file kept = %v; want %v", kept, tc.wantKept)
			}
		})
	}
}

// writeMode writes data to path with exactly mode perm (whatever the umask).
func writeMode(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}
