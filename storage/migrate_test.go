package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

func TestMigrationsOrdered(t *testing.T) {
	if len(migrations) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migrations[%d].version = %d; want %d (ordered, no gaps)", i, m.version, i+1)
		}
		if m.migrate == nil {
			t.Errorf("migrations[%d].migrate is nil", i)
		}
	}
}

// TestMigration1 builds the layouts a version 1 file can come from (a new
// file, an empty bbolt file, a file with only meta) and checks Open produces
// the version 1 layout (and the later ones, up to the current version).
func TestMigration1(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"no file", func(t *testing.T, path string) {}},
		{"empty bbolt file", func(t *testing.T, path string) {
			writeRaw(t, path, func(tx *bbolt.Tx) error { return nil })
		}},
		{"meta without version", func(t *testing.T, path string) {
			writeRaw(t, path, func(tx *bbolt.Tx) error {
				_, err := tx.CreateBucket(bucketMeta)
				return err
			})
		}},
		{"some buckets already there", func(t *testing.T, path string) {
			writeRaw(t, path, func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucket(bucketSettings)
				if err != nil {
					return err
				}
				return b.Put([]byte("tls"), []byte("kept"))
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "issuer.db")
			tc.prepare(t, path)
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			db.bolt.View(func(tx *bbolt.Tx) error {
				for _, name := range []string{"meta", "keys", "settings", "tenants", "tenant_by_domain",
					"app_home", "app_by_uri", "app_sps", "tenant", "refresh_tokens", "refresh_token_family"} {
					if tx.Bucket([]byte(name)) == nil {
						t.Errorf("bucket %s missing after migration 1", name)
					}
				}
				if got, want := string(tx.Bucket(bucketMeta).Get(metaSchemaVersion)), strconv.Itoa(len(migrations)); got != want {
					t.Errorf("schema_version = %q; want %s", got, want)
				}
				return nil
			})
			if tc.name == "some buckets already there" {
				if got, err := db.Setting(t.Context(), "tls"); err != nil || string(got) != "kept" {
					t.Errorf("Setting(tls) = %q, %v; want the value written before migrating", got, err)
				}
			}
		})
	}
}

// TestMigrateTx runs the migration machinery with a list of its own:
// pending migrations run in order in one transaction, the version is
// recorded, a failure rolls everything back, and an up-to-date file is not
// written. Step 2 also runs the real migration 2, so that the layout check
// after migrating finds every root bucket.
func TestMigrateTx(t *testing.T) {
	var ran []int
	step := func(v int, fail bool) migration {
		return migration{version: v, migrate: func(tx *bbolt.Tx) error {
			ran = append(ran, v)
			if fail {
				return errors.New("boom")
			}
			if v == 2 {
				if err := indexRefreshTokensByUserTx(tx); err != nil {
					return err
				}
			}
			_, err := tx.CreateBucket([]byte(fmt.Sprintf("v%d", v)))
			return err
		}}
	}
	list := []migration{{version: 1, migrate: initialLayoutTx}, step(2, false), step(3, false)}

	for _, tc := range []struct {
		name        string
		from        string // schema version on disk; "" for a new file
		list        []migration
		wantRan     []int
		wantVersion string
		wantErr     string
	}{
		{"new file runs everything", "", list, []int{2, 3}, "3", ""},
		{"version 1 runs 2 and 3", "1", list, []int{2, 3}, "3", ""},
		{"version 2 runs 3", "2", list, []int{3}, "3", ""},
		{"up to date runs nothing", "3", list, nil, "3", ""},
		{"failure rolls back", "1", []migration{list[0], step(2, false), step(3, true)}, []int{2, 3}, "1", "migrating"},
		{"newer refused", "4", list, nil, "4", "newer issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran = nil
			path := filepath.Join(t.TempDir(), "issuer.db")
			b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if tc.from != "" {
				from, _ := strconv.Atoi(tc.from)
				err := b.Update(func(tx *bbolt.Tx) error {
					if err := initialLayoutTx(tx); err != nil {
						return err
					}
					for v := 2; v <= min(from, 3); v++ {
						if v == 2 {
							if err := indexRefreshTokensByUserTx(tx); err != nil {
								return err
							}
						}
						if _, err := tx.CreateBucket([]byte(fmt.Sprintf("v%d", v))); err != nil {
							return err
						}
					}
					return setVersion(tc.from)(tx)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			err = b.Update(func(tx *bbolt.Tx) error { return migrateTx(tx, path, tc.list, t0) })
			if errors.Is(err, errUpToDate) {
				err = nil
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("migrateTx: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("migrateTx: got %v; want an error containing %q", err, tc.wantErr)
			}
			if !slices.Equal(ran, tc.wantRan) {
				t.Errorf("migrations run = %v; want %v", ran, tc.wantRan)
			}
			b.View(func(tx *bbolt.Tx) error {
				got := ""
				if meta := tx.Bucket(bucketMeta); meta != nil {
					got = string(meta.Get(metaSchemaVersion))
				}
				if got != tc.wantVersion {
					t.Errorf("schema_version = %q; want %q", got, tc.wantVersion)
				}
				if tc.wantErr == "" {
					for _, name := range []string{"v2", "v3"} {
						if tx.Bucket([]byte(name)) == nil {
							t.Errorf("bucket %s missing after migrating", name)
						}
					}
				}
				if tc.name == "failure rolls back" && tx.Bucket([]byte("v2")) != nil {
					t.Error("bucket v2 kept after a failed migration; want rollback")
				}
				return nil
			})
		})
	}
}

// TestOpenUpToDateDoesNotWrite checks that reopening a current file commits
// nothing (Open rolls back when there is nothing to migrate).
func TestOpenUpToDateDoesNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	txid := func() int {
		b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		tx, err := b.Begin(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		return int(tx.ID())
	}
	before := txid()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if after := txid(); after != before {
		t.Errorf("transaction id after reopening = %d; want %d (no write)", after, before)
	}
}

// TestMigration2 builds a version 1 file holding refresh tokens (records
// and family index as version 1 wrote them), opens it, and checks that
// refresh_token_by_user indexes every token, that the file checks clean,
// and that deleting the user now deletes the tokens.
func TestMigration2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	tokens := map[string][2]string{ // hash: tenant, user
		"aa01": {tenantA, "user-1"}, "aa02": {tenantA, "user-1"}, "bb01": {tenantA, "user-2"},
	}
	writeRaw(t, path, func(tx *bbolt.Tx) error {
		if err := initialLayoutTx(tx); err != nil {
			return err
		}
		for hash, owner := range tokens {
			v := fmt.Sprintf(`{"familyId":"fam-%s","tenantId":%q,"clientAppId":"client","userId":%q,"resource":"api://x",`+
				`"issuedDateTime":"2026-01-01T00:00:00Z","expiresDateTime":"2027-01-01T00:00:00Z"}`, owner[1], owner[0], owner[1])
			if err := tx.Bucket([]byte("refresh_tokens")).Put([]byte(hash), []byte(v)); err != nil {
				return err
			}
			if err := tx.Bucket([]byte("refresh_token_family")).Put(key("fam-"+owner[1], hash), []byte{}); err != nil {
				return err
			}
		}
		return setVersion("1")(tx)
	})
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	db.bolt.View(func(tx *bbolt.Tx) error {
		if got, want := string(tx.Bucket(bucketMeta).Get(metaSchemaVersion)), strconv.Itoa(len(migrations)); got != want {
			t.Errorf("schema_version = %q; want %s", got, want)
		}
		for hash, owner := range tokens {
			if tx.Bucket(bucketRTByUser).Get(key(owner[0], owner[1], hash)) == nil {
				t.Errorf("token %s of %s/%s not indexed", hash, owner[0], owner[1])
			}
		}
		if n := tx.Bucket(bucketRTByUser).Stats().KeyN; n != len(tokens) {
			t.Errorf("refresh_token_by_user has %d entries; want %d", n, len(tokens))
		}
		return nil
	})
	if err := db.Check(t.Context()); err != nil {
		t.Errorf("Check after migrating: %v", err)
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		return deleteRefreshTokensTx(tx, tokenSet{prefix: key(tenantA, "user-1", ""), match: anyToken})
	})
	if err != nil {
		t.Fatal(err)
	}
	for hash, owner := range tokens {
		_, err := db.GetRefreshToken(t.Context(), hash)
		if gone := errors.Is(err, tenant.ErrNotFound); gone != (owner[1] == "user-1") {
			t.Errorf("token %s of %s after deleting user-1's: %v", hash, owner[1], err)
		}
	}
}

// TestMigration3 builds a version 2 file with two tenants, laid out as
// version 2 did (eleven sub-buckets each, a user in one), opens it, and
// checks that every tenant gained the group sub-buckets, that the file
// checks clean, and that groups now work there.
func TestMigration3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	userID := objectID("user", "alice")
	writeRaw(t, path, func(tx *bbolt.Tx) error {
		if err := initialLayoutTx(tx); err != nil {
			return err
		}
		if err := indexRefreshTokensByUserTx(tx); err != nil {
			return err
		}
		for _, id := range []string{tenantA, tenantB} {
			domain := id[:8] + ".example"
			rec := fmt.Sprintf(`{"id":%q,"displayName":"T","domains":[%q]}`, id, domain)
			if err := tx.Bucket([]byte("tenants")).Put([]byte(id), []byte(rec)); err != nil {
				return err
			}
			if err := tx.Bucket([]byte("tenant_by_domain")).Put([]byte(domain), []byte(id)); err != nil {
				return err
			}
			root, err := tx.Bucket([]byte("tenant")).CreateBucket([]byte(id))
			if err != nil {
				return err
			}
			for _, name := range []string{"applications", "service_principals", "sp_by_app", "sp_by_uri", "users", "user_by_upn",
				"app_role_assignments", "assignment_by_principal", "permission_grants", "grant_by_client", "grant_by_key"} {
				if _, err := root.CreateBucket([]byte(name)); err != nil {
					return err
				}
			}
		}
		users := tx.Bucket([]byte("tenant")).Bucket([]byte(tenantA))
		rec := fmt.Sprintf(`{"id":%q,"tenantId":%q,"userPrincipalName":"alice@aaaaaaaa.example","displayName":"Alice","accountEnabled":true}`, userID, tenantA)
		if err := users.Bucket([]byte("users")).Put([]byte(userID), []byte(rec)); err != nil {
			return err
		}
		if err := users.Bucket([]byte("user_by_upn")).Put([]byte("alice@aaaaaaaa.example"), []byte(userID)); err != nil {
			return err
		}
		return setVersion("2")(tx)
	})
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	db.bolt.View(func(tx *bbolt.Tx) error {
		if got := string(tx.Bucket(bucketMeta).Get(metaSchemaVersion)); got != "3" {
			t.Errorf("schema_version = %q; want 3", got)
		}
		for _, id := range []string{tenantA, tenantB} {
			for _, name := range []string{"groups", "group_members", "member_of"} {
				if tx.Bucket(bucketTenant).Bucket([]byte(id)).Bucket([]byte(name)) == nil {
					t.Errorf("tenant %s has no %s bucket after migrating", id, name)
				}
			}
		}
		return nil
	})
	if err := db.Check(t.Context()); err != nil {
		t.Errorf("Check after migrating: %v", err)
	}
	g := tenant.Group{ID: objectID("group", "eng"), TenantID: tenantA, DisplayName: "Eng", MailNickname: "eng", SecurityEnabled: true}
	if err := db.CreateGroup(t.Context(), g); err != nil {
		t.Fatalf("CreateGroup after migrating: %v", err)
	}
	if err := db.AddGroupMember(t.Context(), tenantA, g.ID, userID); err != nil {
		t.Fatalf("AddGroupMember after migrating: %v", err)
	}
	if ids, err := db.MemberOf(t.Context(), tenantA, userID); err != nil || !slices.Equal(ids, []string{g.ID}) {
		t.Errorf("MemberOf after migrating = %v, %v; want [%s]", ids, err, g.ID)
	}
	if err := db.Check(t.Context()); err != nil {
		t.Errorf("Check after adding a group: %v", err)
	}
}
