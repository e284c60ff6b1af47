package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

func TestOpenCreatesFileWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode of %s = %v; want -rw-------", path, got)
	}
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q; want %q", got, path)
	}
}

func TestOpenCreatesRootBucketsAndVersion(t *testing.T) {
	db := openTest(t)
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for _, name := range rootBuckets {
			if tx.Bucket(name) == nil {
				t.Errorf("root bucket %s missing after Open", name)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if got, want := string(meta.Get(metaSchemaVersion)), "1"; got != want {
			t.Errorf("schema_version = %q; want %q", got, want)
		}
		if _, err := time.Parse(time.RFC3339, string(meta.Get(metaCreatedAt))); err != nil {
			t.Errorf("created_at = %q: %v", meta.Get(metaCreatedAt), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, newTenant(tenantA, "contoso.onmicrosoft.com")); err != nil {
		t.Fatal(err)
	}
	var created string
	db.bolt.View(func(tx *bbolt.Tx) error {
		created = string(tx.Bucket(bucketMeta).Get(metaCreatedAt))
		return nil
	})
	db.Close()

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.GetTenant(ctx, tenantA); err != nil {
		t.Errorf("GetTenant after reopen: %v", err)
	}
	db.bolt.View(func(tx *bbolt.Tx) error {
		if got := string(tx.Bucket(bucketMeta).Get(metaCreatedAt)); got != created {
			t.Errorf("created_at after reopen = %q; want %q", got, created)
		}
		return nil
	})
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"read-write", Options{Timeout: 50 * time.Millisecond}},
		{"read-only", Options{Timeout: 50 * time.Millisecond, ReadOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			db2, err := Open(path, tc.opts)
			if err == nil {
				db2.Close()
				t.Fatalf("second Open(%s) succeeded; want ErrLocked", tc.name)
			}
			if !errors.Is(err, ErrLocked) {
				t.Errorf("second Open: got %v; want ErrLocked", err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "is `issuer serve` running?") {
				t.Errorf("second Open: message %q; want the path and the hint about issuer serve", msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("second Open took %v; want about the 50ms timeout", d)
			}
		})
	}
}

func TestOpenReadOnly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, newTenant(tenantA, "contoso.onmicrosoft.com")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	defer ro.Close()
	if _, err := ro.GetTenantByDomain(ctx, "CONTOSO.onmicrosoft.com"); err != nil {
		t.Errorf("read-only GetTenantByDomain: %v", err)
	}
	ro2, err := Open(path, Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Errorf("second read-only Open: %v; want shared lock", err)
	} else {
		ro2.Close()
	}

	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"CreateTenant", func() error { return ro.CreateTenant(ctx, newTenant(tenantB, "fabrikam.onmicrosoft.com")) }},
		{"DeleteTenant", func() error { return ro.DeleteTenant(ctx, tenantA) }},
		{"PutSetting", func() error { return ro.PutSetting(ctx, "tls", []byte("x")) }},
	} {
		if err := tc.write(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only %s: got %v; want ErrReadOnly", tc.name, err)
		}
	}
	if _, err := ro.GetTenant(ctx, tenantA); err != nil {
		t.Errorf("tenant after refused writes: %v", err)
	}
}

func TestOpenReadOnlyMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := Open(path, Options{ReadOnly: true})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open read-only of a missing file: got %v; want fs.ErrNotExist", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("read-only Open created %s", path)
	}
}

// writeRaw builds a bbolt file by hand, as an older or newer binary might
// have left it.
func writeRaw(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func setVersion(v string) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return meta.Put(metaSchemaVersion, []byte(v))
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		name := map[bool]string{false: "read-write", true: "read-only"}[readOnly]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "issuer.db")
			writeRaw(t, path, setVersion("99"))
			db, err := Open(path, Options{ReadOnly: readOnly})
			if err == nil {
				db.Close()
				t.Fatal("Open of a version 99 file succeeded; want ErrNewerSchema")
			}
			if !errors.Is(err, ErrNewerSchema) {
				t.Errorf("Open: got %v; want ErrNewerSchema", err)
			}
			// The refused file is left as it was.
			b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			b.View(func(tx *bbolt.Tx) error {
				if got := string(tx.Bucket(bucketMeta).Get(metaSchemaVersion)); got != "99" {
					t.Errorf("schema_version after refused Open = %q; want 99", got)
				}
				if tx.Bucket(bucketTenants) != nil {
					t.Error("refused Open created buckets")
				}
				return nil
			})
		})
	}
}

func TestOpenBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prepare  func(t *testing.T, path string)
		readOnly bool
		want     string
	}{
		{"not a bbolt file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("not a database\n", 1000)), 0o600)
		}, false, "storage: open"},
		{"malformed schema version", func(t *testing.T, path string) { writeRaw(t, path, setVersion("one")) }, false, "malformed schema version"},
		{"zero schema version", func(t *testing.T, path string) { writeRaw(t, path, setVersion("0")) }, false, "malformed schema version"},
		{"missing root bucket", func(t *testing.T, path string) {
			writeRaw(t, path, func(tx *bbolt.Tx) error {
				if err := initialLayoutTx(tx); err != nil {
					return err
				}
				if err := setVersion("1")(tx); err != nil {
					return err
				}
				return tx.DeleteBucket(bucketAppHome)
			})
		}, false, "root bucket app_home is missing"},
		{"read-only, never initialised", func(t *testing.T, path string) {
			writeRaw(t, path, func(tx *bbolt.Tx) error { return nil })
		}, true, "not an issuer database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "issuer.db")
			tc.prepare(t, path)
			db, err := Open(path, Options{ReadOnly: tc.readOnly})
			if err == nil {
				db.Close()
				t.Fatalf("Open succeeded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: got %v; want an error containing %q", err, tc.want)
			}
			// The file is not locked after a failed Open.
			db, err = Open(path, Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
			if errors.Is(err, ErrLocked) {
				t.Errorf("file still locked after failed Open")
			}
			if err == nil {
				db.Close()
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.CreateTenant(ctx, newTenant(tenantA, "contoso.onmicrosoft.com")); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateTenant with canceled context: got %v; want context.Canceled", err)
	}
	if _, err := db.ListTenants(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListTenants with canceled context: got %v; want context.Canceled", err)
	}
	if got, err := db.ListTenants(t.Context()); err != nil || len(got) != 0 {
		t.Errorf("ListTenants = %v, %v; want no tenants", got, err)
	}
}

func TestKeyHelper(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []string
		want  string
	}{
		{"one part", []string{"a"}, "a"},
		{"two parts", []string{"api://x", "id"}, "api://x\x00id"},
		{"prefix", []string{"a", "b", ""}, "a\x00b\x00"},
		{"empty parts", []string{"a", "", ""}, "a\x00\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(key(tc.parts...)); got != tc.want {
				t.Errorf("key(%q) = %q; want %q", tc.parts, got, tc.want)
			}
		})
	}
}

func TestCheckKeyPart(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"guid", tenantA, true},
		{"empty", "", false},
		{"zero byte", "a\x00b", false},
		{"too long", strings.Repeat("a", maxKeyPart+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkKeyPart("x", tc.in)
			if (err == nil) != tc.ok {
				t.Errorf("checkKeyPart(%q) = %v; want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, tenant.ErrInvalid) {
				t.Errorf("checkKeyPart(%q) = %v; want ErrInvalid", tc.in, err)
			}
		})
	}
}

// TestOpenDefaultTimeout: a zero Timeout waits about one second for the
// lock, instead of bbolt's default of waiting forever.
func TestOpenDefaultTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v; want ErrLocked", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 30*time.Second {
		t.Errorf("second Open gave up after %v; want about 1s", d)
	}
}

// TestConcurrentAccess runs token-path reads alongside writes, for the race
// detector and for bbolt's one-writer, many-readers rule.
func TestConcurrentAccess(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	orders := e.app(multiTenant(newApp(appOrders, tenantA, "api://orders")))
	client := e.app(newApp(appClient, tenantA))
	e.sp(tenantB, appOrders)

	done := make(chan error, 4)
	for w := range 2 {
		go func() {
			for i := range 50 {
				_, _, err := e.db.FindServicePrincipal(ctx, tenantA, "api://orders")
				if err == nil {
					_, err = e.db.AppRoleAssignmentsOf(ctx, tenantA, client.ID, orders.ID)
				}
				if err == nil && w == 1 {
					_, _, err = e.db.FindServicePrincipal(ctx, tenantB, appOrders)
				}
				if err != nil {
					done <- fmt.Errorf("reader %d, round %d: %w", w, i, err)
					return
				}
			}
			done <- nil
		}()
	}
	go func() {
		for i := range 25 {
			err := e.db.UpdateApplication(ctx, appOrders, func(a *tenant.Application) error {
				a.DisplayName = fmt.Sprintf("Orders %d", i)
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() {
		for i := range 25 {
			role := objectID("role", fmt.Sprint(i))
			a := newAssignment(tenantA, client.ID, consent.PrincipalServicePrincipal, orders.ID, role)
			if err := e.db.CreateAppRoleAssignment(ctx, a); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if as, _ := e.db.AppRoleAssignmentsOf(ctx, tenantA, client.ID, orders.ID); len(as) != 25 {
		t.Errorf("AppRoleAssignmentsOf = %d assignments; want 25", len(as))
	}
}

// bigFile writes a database of about 2 MiB of records at path, through
// Open, so that it has the real layout and many pages.
func bigFile(t *testing.T, path string) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		for i := range 2000 {
			if err := tx.Bucket(bucketSettings).Put(fmt.Appendf(nil, "filler-%05d", i), []byte(strings.Repeat("x", 1000))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenTruncated cuts a database to fractions of its length: every
// Open, read-write or read-only, refuses it with ErrTruncated before bbolt
// maps the missing pages (which killed the process with SIGBUS).
func TestOpenTruncated(t *testing.T) {
	whole := filepath.Join(t.TempDir(), "whole.db")
	bigFile(t, whole)
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	for _, percent := range []int{10, 30, 50, 60, 70, 80, 90, 95, 99} {
		for _, readOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d%% read-only=%v", percent, readOnly), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "cut.db")
				if err := os.WriteFile(path, data[:len(data)*percent/100], 0o600); err != nil {
					t.Fatal(err)
				}
				db, err := Open(path, Options{ReadOnly: readOnly})
				if err == nil {
					db.Close()
					t.Fatal("Open of a truncated file succeeded")
				}
				if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "restore a backup") {
					t.Errorf("Open: %v; want ErrTruncated with advice", err)
				}
			})
		}
	}
	// The whole file still opens.
	db, err := Open(whole, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open of the whole file: %v", err)
	}
	db.Close()
}

// TestOpenUnsafeFile plants files where the database belongs: owned by
// another user (uid 65534, as root can make them), readable by others, a
// link owned by another user. Open refuses each with ErrUnsafeFile and
// writes nothing into it; a private file of ours opens.
func TestOpenUnsafeFile(t *testing.T) {
	const nobody = 65534
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir, path string)
		want    error
	}{
		{"another user's file", func(t *testing.T, dir, path string) {
			bigFile(t, path)
			chown(t, path, nobody, false)
		}, ErrUnsafeFile},
		{"another user's empty file", func(t *testing.T, dir, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			chown(t, path, nobody, false)
		}, ErrUnsafeFile},
		{"readable by group", func(t *testing.T, dir, path string) {
			bigFile(t, path)
			os.Chmod(path, 0o640)
		}, ErrUnsafeFile},
		{"world-readable empty file", func(t *testing.T, dir, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, 0o644)
		}, ErrUnsafeFile},
		{"another user's link to our file", func(t *testing.T, dir, path string) {
			target := filepath.Join(dir, "target.db")
			bigFile(t, target)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
			chown(t, path, nobody, true)
		}, ErrUnsafeFile},
		{"our link to another user's file", func(t *testing.T, dir, path string) {
			target := filepath.Join(dir, "target.db")
			bigFile(t, target)
			chown(t, target, nobody, false)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsafeFile},
		{"our private file", func(t *testing.T, dir, path string) { bigFile(t, path) }, nil},
		{"our link to our private file", func(t *testing.T, dir, path string) {
			target := filepath.Join(dir, "target.db")
			bigFile(t, target)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, nil},
	} {
		for _, readOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s read-only=%v", tc.name, readOnly), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "issuer.db")
				tc.prepare(t, dir, path)
				before, _ := os.ReadFile(path)
				db, err := Open(path, Options{ReadOnly: readOnly})
				if err == nil {
					db.Close()
				}
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("Open: %v; want %v", err, tc.want)
				}
				if tc.want == nil {
					return
				}
				if after, _ := os.ReadFile(path); string(after) != string(before) {
					t.Error("the refused file was written to")
				}
			})
		}
	}
	t.Run("a directory", func(t *testing.T) {
		path := t.TempDir()
		os.Chmod(path, 0o700)
		if _, err := Open(path, Options{}); err == nil {
			t.Fatal("Open of a directory succeeded")
		}
	})
}

// chown gives path to uid; only root can, and the tests run as root (CI
// and this machine).
func chown(t *testing.T, path string, uid int, link bool) {
	t.Helper()
	change := os.Chown
	if link {
		change = os.Lchown
	}
	if err := change(path, uid, uid); err != nil {
		t.Fatalf("chown %s to uid %d: %v (the test needs root to plant another user's file)", path, uid, err)
	}
}
