package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// checkFixture builds the world the Check tests damage: two tenants, an
// API with an identifier URI, a client holding a role and a user's grant on
// it, a user, a refresh token.
func checkFixture(t *testing.T, db *DB) (orders, client, aliceID string, a consent.AppRoleAssignment, g consent.PermissionGrant) {
	t.Helper()
	e := env{t: t, db: db}
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	o := e.app(newApp(appOrders, tenantA, "api://orders"))
	c := e.app(newApp(appClient, tenantA))
	alice := e.user(tenantA, "alice@contoso.onmicrosoft.com")
	a = e.assign(tenantA, c.ID, consent.PrincipalServicePrincipal, o.ID, objectID("role"))
	g = e.grant(tenantA, c.ID, o.ID, consent.Principal, alice.ID, "read")
	if err := db.CreateRefreshToken(context.Background(), newRefreshToken("hash-1", "family-1")); err != nil {
		t.Fatal(err)
	}
	// Groups: alice in eng, the client in inner, inner in eng; eng holds
	// a role.
	ctx := context.Background()
	for _, err := range []error{
		db.CreateGroup(ctx, checkGroup(engID)),
		db.CreateGroup(ctx, checkGroup(innerID)),
		db.AddGroupMember(ctx, tenantA, engID, alice.ID),
		db.AddGroupMember(ctx, tenantA, innerID, c.ID),
		db.AddGroupMember(ctx, tenantA, engID, innerID),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.assign(tenantA, engID, consent.PrincipalGroup, o.ID, objectID("role"))
	return o.ID, c.ID, alice.ID, a, g
}

// The groups of checkFixture.
var (
	engID   = objectID("group", "eng")
	innerID = objectID("group", "inner")
)

func checkGroup(id string) tenant.Group {
	return tenant.Group{ID: id, TenantID: tenantA, DisplayName: "Group", MailNickname: "group", SecurityEnabled: true, CreatedDateTime: t0}
}

// groupJSON is a group's stored form.
func groupJSON(t *testing.T, g tenant.Group) []byte {
	t.Helper()
	v, err := json.Marshal(fromGroup(g))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCheck damages a consistent file in one place at a time, the way a
// bug or a torn write would, and checks that Check names the problem; the
// undamaged file passes.
func TestCheck(t *testing.T) {
	inTenant := func(bucket []byte, k []byte, v []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error {
			return tx.Bucket(bucketTenant).Bucket([]byte(tenantA)).Bucket(bucket).Put(k, v)
		}
	}
	delTenant := func(bucket []byte, k []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error {
			return tx.Bucket(bucketTenant).Bucket([]byte(tenantA)).Bucket(bucket).Delete(k)
		}
	}
	inRoot := func(bucket, k, v []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Put(k, v) }
	}
	delRoot := func(bucket, k []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Delete(k) }
	}
	type ids struct {
		orders, client, alice string
		a                     consent.AppRoleAssignment
		g                     consent.PermissionGrant
	}
	for _, tc := range []struct {
		name   string
		damage func(f ids) func(tx *bbolt.Tx) error
		want   string // a substring of one problem; empty: consistent
	}{
		{"consistent", nil, ""},
		{"undecodable tenant", func(ids) func(*bbolt.Tx) error { return inRoot(bucketTenants, []byte(tenantB), []byte("{")) }, "decode tenant"},
		{"domain index names nobody", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketTenantByDomain, []byte("ghost.example"), []byte(tenantA))
		}, "tenant_by_domain \"ghost.example\""},
		{"domain missing from the index", func(ids) func(*bbolt.Tx) error {
			return delRoot(bucketTenantByDomain, []byte("fabrikam.onmicrosoft.com"))
		}, "domain fabrikam.onmicrosoft.com is indexed"},
		{"tenant bucket without a record", func(ids) func(*bbolt.Tx) error {
			return func(tx *bbolt.Tx) error { return delRoot(bucketTenants, []byte(tenantB))(tx) }
		}, "has no tenant record"},
		{"application without app_home", func(ids) func(*bbolt.Tx) error { return delRoot(bucketAppHome, []byte(appClient)) }, "app_home says"},
		{"app_home pointing nowhere", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketAppHome, []byte(appOther), []byte(tenantA))
		}, "app_home \"" + appOther + "\""},
		{"identifier URI not indexed", func(ids) func(*bbolt.Tx) error {
			return delRoot(bucketAppByURI, key("api://orders", appOrders))
		}, "not in app_by_uri"},
		{"app_by_uri for a URI the app lacks", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketAppByURI, key("api://other", appOrders), []byte{})
		}, "does not have that identifier URI"},
		{"service principal without sp_by_app", func(ids) func(*bbolt.Tx) error { return delTenant(bucketSPByApp, []byte(appClient)) }, "sp_by_app names"},
		{"service principal without app_sps", func(ids) func(*bbolt.Tx) error { return delRoot(bucketAppSPs, key(appClient, tenantA)) }, "app_sps names"},
		{"app_sps pointing nowhere", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketAppSPs, key(appOrders, tenantB), []byte(objectID("gone")))
		}, "app_sps"},
		{"sp_by_uri missing", func(ids) func(*bbolt.Tx) error { return delTenant(bucketSPByURI, []byte("api://orders")) }, "sp_by_uri names"},
		{"sp_by_uri naming an app without a service principal", func(ids) func(*bbolt.Tx) error {
			return inTenant(bucketSPByURI, []byte("api://x"), []byte(appOther))
		}, "has no service principal here"},
		{"user without user_by_upn", func(ids) func(*bbolt.Tx) error {
			return delTenant(bucketUserByUPN, []byte("alice@contoso.onmicrosoft.com"))
		}, "user_by_upn names"},
		{"user_by_upn pointing nowhere", func(ids) func(*bbolt.Tx) error {
			return inTenant(bucketUserByUPN, []byte("bob@contoso.onmicrosoft.com"), []byte(objectID("bob")))
		}, "user_by_upn \"bob@contoso.onmicrosoft.com\""},
		{"assignment of a missing principal", func(f ids) func(*bbolt.Tx) error {
			return delTenant(bucketServicePrincipals, []byte(f.client))
		}, "principal " + objectID("sp", tenantA, appClient) + " is missing"},
		{"assignment not indexed", func(f ids) func(*bbolt.Tx) error {
			return delTenant(bucketAssignmentByPrincipal, key(f.a.PrincipalID, f.a.ResourceID, f.a.ID))
		}, "not in assignment_by_principal"},
		{"assignment index pointing nowhere", func(f ids) func(*bbolt.Tx) error {
			return inTenant(bucketAssignmentByPrincipal, key(f.client, f.orders, objectID("gone")), []byte{})
		}, "names assignment"},
		{"grant of a missing user", func(f ids) func(*bbolt.Tx) error { return delTenant(bucketUsers, []byte(f.alice)) }, "user " + objectID("user", tenantA, "alice@contoso.onmicrosoft.com")},
		{"grant missing from grant_by_key", func(f ids) func(*bbolt.Tx) error {
			return delTenant(bucketGrantByKey, grantKey(f.g))
		}, "grant_by_key names"},
		{"grant_by_client pointing nowhere", func(f ids) func(*bbolt.Tx) error {
			return inTenant(bucketGrantByClient, key(f.client, f.orders, objectID("gone")), []byte{})
		}, "names grant"},
		{"undecodable grant", func(f ids) func(*bbolt.Tx) error {
			return inTenant(bucketPermissionGrants, []byte(f.g.ID), []byte("not json"))
		}, "decode"},
		{"refresh token without its family entry", func(ids) func(*bbolt.Tx) error {
			return delRoot(bucketRTByFamily, key("family-1", "hash-1"))
		}, "not in refresh_token_family"},
		{"family entry pointing nowhere", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketRTByFamily, key("family-1", "hash-2"), []byte{})
		}, "names a token that is missing"},
		{"family entry with another expiry", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketRTByFamily, key("family-1", "hash-1"), familyEntry(t0))
		}, "holds an expiry other than its token's"},
		{"family entry that is no expiry", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketRTByFamily, key("family-1", "hash-1"), []byte("soon"))
		}, "holds an expiry other than its token's"},
		{"family entry from before entries held the expiry", func(ids) func(*bbolt.Tx) error {
			return inRoot(bucketRTByFamily, key("family-1", "hash-1"), []byte{})
		}, ""},
		{"group stored under another id", func(ids) func(*bbolt.Tx) error {
			return inTenant(bucketGroups, []byte(objectID("group", "ghost")), groupJSON(t, checkGroup(engID)))
		}, "stored as \"" + engID + "\""},
		{"undecodable group", func(ids) func(*bbolt.Tx) error { return inTenant(bucketGroups, []byte(engID), []byte("{")) }, "decode tenant " + tenantA + ": group " + engID},
		{"group with a user's id", func(f ids) func(*bbolt.Tx) error {
			return inTenant(bucketGroups, []byte(f.alice), groupJSON(t, checkGroup(f.alice)))
		}, "a user or service principal has the same object id"},
		{"membership missing from member_of", func(f ids) func(*bbolt.Tx) error {
			return delTenant(bucketMemberOf, key(f.alice, engID))
		}, "group_members \"" + engID + "\\x00" + objectID("user", tenantA, "alice@contoso.onmicrosoft.com") + "\": not in member_of"},
		{"membership missing from group_members", func(f ids) func(*bbolt.Tx) error {
			return delTenant(bucketGroupMembers, key(innerID, f.client))
		}, "not in group_members"},
		{"member of a missing group", func(f ids) func(*bbolt.Tx) error {
			return inTenant(bucketGroupMembers, key(objectID("group", "ghost"), f.alice), []byte("User"))
		}, "group " + objectID("group", "ghost") + " is missing"},
		{"missing member", func(ids) func(*bbolt.Tx) error {
			return inTenant(bucketGroupMembers, key(engID, objectID("gone")), []byte("User"))
		}, "member " + objectID("gone") + " is missing"},
		{"member of another type than stored", func(f ids) func(*bbolt.Tx) error {
			return inTenant(bucketGroupMembers, key(engID, f.alice), []byte("Group"))
		}, "is missing or not a \"Group\""},
		{"group_members key of one part", func(ids) func(*bbolt.Tx) error {
			return inTenant(bucketGroupMembers, []byte(engID), []byte("User"))
		}, "not group and member"},
		{"member_of key of three parts", func(ids) func(*bbolt.Tx) error {
			return inTenant(bucketMemberOf, key("a", "b", "c"), []byte{})
		}, "not member and group"},
		{"assignment of a missing group", func(ids) func(*bbolt.Tx) error { return delTenant(bucketGroups, []byte(engID)) }, "principal " + engID + " is missing"},
		{"undecodable signing key", func(ids) func(*bbolt.Tx) error { return inRoot(bucketKeys, []byte("kid"), []byte("{}")) }, "signing key \"kid\""},
		{"root bucket missing", func(ids) func(*bbolt.Tx) error {
			return func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketAppSPs) }
		}, "root bucket app_sps is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTestFsck(t, false)
			var f ids
			f.orders, f.client, f.alice, f.a, f.g = checkFixture(t, db)
			if tc.damage != nil {
				if err := db.bolt.Update(tc.damage(f)); err != nil {
					t.Fatalf("damaging the file: %v", err)
				}
			}
			err := db.Check(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check = %v; want nil", err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v (%T); want a *CheckError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v; want a problem containing %q", err, tc.want)
			}
		})
	}
}

// TestCheckReadOnlyAndTorn checks a file opened ReadOnly (as `issuer db
// check FILE` opens a backup) and a file whose pages were overwritten with
// garbage: Check reports problems, or Open refuses the file; nothing panics.
func TestCheckReadOnlyAndTorn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Check(context.Background()); err != nil {
		t.Errorf("Check of a consistent file opened ReadOnly = %v", err)
	}
	ro.Close()

	// The pages in use, as bbolt reports them, before the damage.
	var used []int
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			if info.Type == "branch" || info.Type == "leaf" {
				used = append(used, id)
			}
		}
	})
	db.Close()
	if err != nil || len(used) < 3 {
		t.Fatalf("pages in use: %v, %v", used, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	type damage struct {
		name  string
		pages []int
	}
	cases := []damage{{"both meta pages", []int{0, 1}}}
	for _, id := range used {
		cases = append(cases, damage{fmt.Sprintf("page %d in use", id), []int{id}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			torn := bytes.Clone(data)
			for _, id := range tc.pages {
				copy(torn[id*pageSize:(id+1)*pageSize], bytes.Repeat([]byte{0xa5}, pageSize))
			}
			p := filepath.Join(t.TempDir(), "torn.db")
			if err := os.WriteFile(p, torn, 0o600); err != nil {
				t.Fatal(err)
			}
			// Opening for writing (as serve does) must not panic either.
			rw := filepath.Join(t.TempDir(), "torn-rw.db")
			if err := os.WriteFile(rw, torn, 0o600); err != nil {
				t.Fatal(err)
			}
			if db, err := Open(rw, Options{}); err == nil {
				db.Close()
			}
			db, err := Open(p, Options{ReadOnly: true})
			if err != nil {
				return // refused at open, with an error rather than a panic
			}
			defer db.Close()
			if err := db.Check(context.Background()); err == nil {
				t.Errorf("Check of a file with pages %v overwritten = nil; want problems", tc.pages)
			}
		})
	}
}

// TestBackup copies a database while it is written to and checks that the
// copy opens, passes Check and holds what was committed before the copy.
func TestBackup(t *testing.T) {
	db := openTest(t)
	checkFixture(t, db)
	ctx := context.Background()
	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() {
		// A concurrent writer: the backup sees the state of its
		// transaction's start, whole.
		for i := range 20 {
			if err := db.CreateRefreshToken(ctx, newRefreshToken(objectID("h", string(rune('a'+i))), "family-2")); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	n, err := db.Backup(ctx, &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Backup = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	copyDB, err := Open(p, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	defer copyDB.Close()
	if err := copyDB.Check(ctx); err != nil {
		t.Errorf("Check of the backup: %v", err)
	}
	if _, err := copyDB.GetApplication(ctx, appOrders); err != nil {
		t.Errorf("the backup lacks application %s: %v", appOrders, err)
	}
}
