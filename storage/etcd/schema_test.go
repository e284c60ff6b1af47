package etcd_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// schema2SubBuckets are the sub-buckets of a tenant before groups (schema
// 2), spelled out as an older issuer wrote them.
var schema2SubBuckets = []string{
	"applications", "service_principals", "sp_by_app", "sp_by_uri", "users", "user_by_upn",
	"app_role_assignments", "assignment_by_principal", "permission_grants", "grant_by_client", "grant_by_key",
}

// TestDirectoryOfAnOlderSchema checks that groups work in a directory an
// older issuer wrote to etcd (schema 2: tenants without the group
// sub-buckets), which nothing migrates: a tenant that was there when a
// replica loaded the directory, and one an older replica creates while a
// newer one runs. Groups are created and nested in both, and a fresh
// replica's copy of the result passes Check.
func TestDirectoryOfAnOlderSchema(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	const prefix = "/old"
	old := tenant.Tenant{ID: "aaaaaaaa-0000-4000-8000-000000000001", DisplayName: "Old", Domains: []string{"old.example"}, CreatedDateTime: time.Now().UTC()}
	late := "bbbbbbbb-0000-4000-8000-000000000002"

	first := open(t, []string{ep}, prefix)
	if err := first.CreateTenant(ctx, old); err != nil {
		t.Fatal(err)
	}
	first.Close()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// Make it the directory an older issuer wrote: no group sub-bucket,
	// schema version 2.
	ops := []clientv3.Op{clientv3.OpPut(prefix+"/d/meta//schema_version", "2"), clientv3.OpPut(prefix+"/c/commit", "")}
	for _, name := range []string{"groups", "group_members", "member_of"} {
		ops = append(ops, clientv3.OpDelete(prefix+"/d/tenant/"+old.ID+"/"+name+"/", clientv3.WithPrefix()))
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}

	s := open(t, []string{ep}, prefix)
	// An older replica creates a tenant meanwhile, as its layout has it.
	ops = []clientv3.Op{
		clientv3.OpPut(prefix+"/d/tenants//"+late, `{"id":"`+late+`","displayName":"Late","domains":[]}`),
		clientv3.OpPut(prefix+"/d/tenant/"+late+"/", ""),
		clientv3.OpPut(prefix+"/c/commit", ""),
	}
	for _, name := range schema2SubBuckets {
		ops = append(ops, clientv3.OpPut(prefix+"/d/tenant/"+late+"/"+name+"/", ""))
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tenantID := range []string{old.ID, late} {
		d := tenant.NewDirectory(s)
		outer, err := d.AddGroup(ctx, tenantID, tenant.GroupSpec{DisplayName: "Outer"})
		if err != nil {
			t.Fatalf("AddGroup in tenant %s: %v", tenantID, err)
		}
		inner, err := d.AddGroup(ctx, tenantID, tenant.GroupSpec{DisplayName: "Inner"})
		if err != nil {
			t.Fatalf("AddGroup in tenant %s: %v", tenantID, err)
		}
		if err := s.AddGroupMember(ctx, tenantID, outer.ID, inner.ID); err != nil {
			t.Fatalf("AddGroupMember in tenant %s: %v", tenantID, err)
		}
		if ids, err := s.MemberOf(ctx, tenantID, inner.ID); err != nil || len(ids) != 1 || ids[0] != outer.ID {
			t.Errorf("MemberOf in tenant %s = %v, %v; want [%s]", tenantID, ids, err, outer.ID)
		}
	}
	if err := s.DB.Check(ctx); err != nil {
		t.Errorf("Check of the replica's copy: %v", err)
	}

	fresh, err := etcd.Open(ctx, etcd.Config{Endpoints: []string{ep}, Prefix: prefix, KeyEncryptionKey: testKEK, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.DB.Check(ctx); err != nil {
		t.Errorf("Check of a fresh replica's copy: %v", err)
	}
	for _, tenantID := range []string{old.ID, late} {
		if groups, err := fresh.ListGroups(ctx, tenantID); err != nil || len(groups) != 2 {
			t.Errorf("a fresh replica's ListGroups in tenant %s = %d groups, %v; want 2", tenantID, len(groups), err)
		}
	}
}
