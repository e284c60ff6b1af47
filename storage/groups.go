package storage

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// Groups live in their tenant's bucket: the records in groups, and each
// direct membership twice, in group_members (a group's members, with their
// object type, so that listing them reads no other record) and member_of
// (an object's groups, the token path's read: the groups claim and the app
// roles a group holds). The two are written and deleted together.

// CreateGroup stores a new group. It fails with ErrExists if the object id
// names a user, a service principal or a group of the tenant: Entra's
// object ids are unique across a tenant's directory objects.
func (db *DB) CreateGroup(ctx context.Context, g tenant.Group) error {
	if err := checkKeyPart("group id", g.ID); err != nil {
		return err
	}
	if err := checkKeyPart("group tenant id", g.TenantID); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, g.TenantID)
		if err != nil {
			return err
		}
		if objectTypeTx(tb, g.ID) != "" {
			return fmt.Errorf("object %s in tenant %s: %w", g.ID, g.TenantID, tenant.ErrExists)
		}
		return putRecord(tb.groups, "group", g.ID, []byte(g.ID), fromGroup(g))
	})
}

// ListGroups lists a tenant's groups, ordered by object id.
func (db *DB) ListGroups(ctx context.Context, tenantID string) ([]tenant.Group, error) {
	return listTenant(ctx, db, tenantID, groupRecord.toGroup, func(tb *tenantBuckets) ([]groupRecord, error) {
		return recordsTx[groupRecord](tb.groups, "group")
	})
}

// UpdateGroup applies update to a group. update may not change the object
// id or the tenant (ErrInvalid). Memberships are not in the record, so an
// update leaves them as they are.
func (db *DB) UpdateGroup(ctx context.Context, tenantID, id string, update func(*tenant.Group) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		old, err := getGroupTx(tb, id)
		if err != nil {
			return err
		}
		g := old
		if err := update(&g); err != nil {
			return err
		}
		if g.ID != old.ID || g.TenantID != old.TenantID {
			return fmt.Errorf("%w: group %s: an update may not change id or tenantId", tenant.ErrInvalid, id)
		}
		return putRecord(tb.groups, "group", id, []byte(id), fromGroup(g))
	})
}

// DeleteGroup removes a group with its memberships, both its members' and
// its own in other groups, and the app role assignments it holds. Its
// members stay (Entra deletes the group, not the objects in it).
func (db *DB) DeleteGroup(ctx context.Context, tenantID, id string) error {
	if err := db.drainObjects(ctx, oneObject(tenantID, id, tenant.ObjectGroup)); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		if _, err := getGroupTx(tb, id); err != nil {
			return err
		}
		if err := deleteMembershipsTx(tb, id, -1); err != nil {
			return err
		}
		if err := deleteAssignmentsTx(tb, func(a assignmentRecord) bool { return a.PrincipalID == id }); err != nil {
			return err
		}
		return del(tb.groups, []byte(id))
	})
}

// AddGroupMember makes an object of the tenant a direct member of a group.
// A Microsoft 365 group takes no group as member, and no membership may
// close a cycle: Entra refuses both (Graph's add member answers 400), and
// a cycle would make transitive membership endless. The cycle check walks
// member_of up from the group inside the write, so two concurrent
// additions cannot close a cycle between them.
func (db *DB) AddGroupMember(ctx context.Context, tenantID, groupID, memberID string) error {
	if err := checkMembership(tenantID, groupID, memberID); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		g, err := getGroupTx(tb, groupID)
		if err != nil {
			return err
		}
		memberType := objectTypeTx(tb, memberID)
		if memberType == "" {
			return fmt.Errorf("object %s in tenant %s: %w", memberID, tenantID, tenant.ErrNotFound)
		}
		if tb.groupMembers.Get(key(groupID, memberID)) != nil {
			return fmt.Errorf("%s %s is already a member of group %s: %w", memberType, memberID, groupID, tenant.ErrExists)
		}
		if memberType == tenant.ObjectGroup {
			if g.IsUnified() {
				return fmt.Errorf("%w: group %s is a Microsoft 365 group, which cannot have groups as members", tenant.ErrInvalid, groupID)
			}
			if err := checkNoCycleTx(tb, groupID, memberID); err != nil {
				return err
			}
		}
		if err := put(tb.groupMembers, key(groupID, memberID), []byte(memberType)); err != nil {
			return err
		}
		return put(tb.memberOf, key(memberID, groupID), []byte{})
	})
}

// checkNoCycleTx refuses to put group memberID into group groupID when
// memberID is groupID or a group groupID is in, directly or not: a
// breadth-first walk of member_of from groupID.
func checkNoCycleTx(tb *tenantBuckets, groupID, memberID string) error {
	seen := map[string]bool{groupID: true}
	frontier := []string{groupID}
	for len(frontier) > 0 {
		var next []string
		for _, id := range frontier {
			if id == memberID {
				return fmt.Errorf("%w: group %s is group %s or contains it: the membership would make a cycle", tenant.ErrInvalid, memberID, groupID)
			}
			if err := forEachPrefix(tb.memberOf, key(id, ""), func(parent string) error {
				if !seen[parent] {
					seen[parent] = true
					next = append(next, parent)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		frontier = next
	}
	return nil
}

// RemoveGroupMember removes a direct membership. ErrNotFound if the group
// is missing or the object is not its direct member.
func (db *DB) RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error {
	if err := checkMembership(tenantID, groupID, memberID); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		if _, err := getGroupTx(tb, groupID); err != nil {
			return err
		}
		if tb.groupMembers.Get(key(groupID, memberID)) == nil {
			return fmt.Errorf("object %s as a member of group %s in tenant %s: %w", memberID, groupID, tenantID, tenant.ErrNotFound)
		}
		return deleteMembershipTx(tb, groupID, memberID)
	})
}

// ListGroupMembers lists a group's direct members, ordered by id, with
// their object types as stored in group_members: no member's record is
// read.
func (db *DB) ListGroupMembers(ctx context.Context, tenantID, groupID string) ([]tenant.GroupMember, error) {
	if err := checkKeyPart("group id", groupID); err != nil {
		return nil, err
	}
	out := []tenant.GroupMember{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := someTenantBucketsTx(tx, tenantID, bucketGroups, bucketGroupMembers)
		if err != nil {
			return err
		}
		if tb.groups.Get([]byte(groupID)) == nil {
			return fmt.Errorf("group %s in tenant %s: %w", groupID, tenantID, tenant.ErrNotFound)
		}
		prefix := key(groupID, "")
		c := tb.groupMembers.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out = append(out, tenant.GroupMember{ID: string(k[len(prefix):]), Type: string(v)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetObject says which directory object of the tenant has the id.
func (db *DB) GetObject(ctx context.Context, tenantID, id string) (tenant.GroupMember, error) {
	if err := checkKeyPart("object id", id); err != nil {
		return tenant.GroupMember{}, err
	}
	var out tenant.GroupMember
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := someTenantBucketsTx(tx, tenantID, bucketUsers, bucketServicePrincipals, bucketGroups)
		if err != nil {
			return err
		}
		t := objectTypeTx(tb, id)
		if t == "" {
			return fmt.Errorf("object %s in tenant %s: %w", id, tenantID, tenant.ErrNotFound)
		}
		out = tenant.GroupMember{ID: id, Type: t}
		return nil
	})
	return out, err
}

// GetGroup returns a group by object id.
func (r txReader) GetGroup(_ context.Context, tenantID, id string) (tenant.Group, error) {
	tb, err := someTenantBucketsTx(r.tx, tenantID, bucketGroups)
	if err != nil {
		return tenant.Group{}, err
	}
	return getGroupTx(tb, id)
}

// MemberOf lists the groups an object is a direct member of, sorted: a
// prefix scan of member_of, which keeps them in id order. None is [].
func (r txReader) MemberOf(_ context.Context, tenantID, objectID string) ([]string, error) {
	if err := checkKeyPart("object id", objectID); err != nil {
		return nil, err
	}
	tb, err := someTenantBucketsTx(r.tx, tenantID, bucketMemberOf)
	if err != nil {
		return nil, err
	}
	out := []string{}
	err = forEachPrefix(tb.memberOf, key(objectID, ""), func(groupID string) error {
		out = append(out, groupID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetGroup returns a group by object id.
func (db *DB) GetGroup(ctx context.Context, tenantID, id string) (tenant.Group, error) {
	return readOne(ctx, db, func(r txReader) (tenant.Group, error) { return r.GetGroup(ctx, tenantID, id) })
}

// MemberOf lists the groups an object is a direct member of, sorted.
func (db *DB) MemberOf(ctx context.Context, tenantID, objectID string) ([]string, error) {
	return readOne(ctx, db, func(r txReader) ([]string, error) { return r.MemberOf(ctx, tenantID, objectID) })
}

// getGroupTx reads a group of the tenant of tb.
func getGroupTx(tb *tenantBuckets, id string) (tenant.Group, error) {
	var rec groupRecord
	if err := getRecord(tb.groups, "group", id, &rec); err != nil {
		return tenant.Group{}, fmt.Errorf("tenant %s: %w", tb.id, err)
	}
	return rec.toGroup(), nil
}

// objectTypeTx says which directory object of the tenant has the id, as
// tenant.GroupMember's Type names it, or "" for none. tb needs users,
// sps and groups.
func objectTypeTx(tb *tenantBuckets, id string) string {
	switch k := []byte(id); {
	case tb.users.Get(k) != nil:
		return tenant.ObjectUser
	case tb.sps.Get(k) != nil:
		return tenant.ObjectServicePrincipal
	case tb.groups.Get(k) != nil:
		return tenant.ObjectGroup
	}
	return ""
}

// deleteMembershipTx removes one membership from both indexes.
func deleteMembershipTx(tb *tenantBuckets, groupID, memberID string) error {
	if err := del(tb.groupMembers, key(groupID, memberID)); err != nil {
		return err
	}
	return del(tb.memberOf, key(memberID, groupID))
}

// deleteMembershipsTx removes the memberships of object id, of both
// kinds: its members' (when it is a group) and its own in groups; at most
// limit of them, or all when limit is negative (a drain's write). The keys
// are read first, since bbolt forbids deleting under a cursor, and no
// further than limit: a drain of a group of n members reads each key
// once, not n/limit times.
func deleteMembershipsTx(tb *tenantBuckets, id string, limit int) error {
	type pair struct{ group, member string }
	var pairs []pair
	prefix := key(id, "")
	collect := func(b *bbolt.Bucket, pairOf func(other string) pair) {
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && (limit < 0 || len(pairs) < limit); k, _ = c.Next() {
			pairs = append(pairs, pairOf(string(k[len(prefix):])))
		}
	}
	collect(tb.groupMembers, func(member string) pair { return pair{id, member} })
	collect(tb.memberOf, func(group string) pair { return pair{group, id} })
	for _, p := range pairs {
		if err := deleteMembershipTx(tb, p.group, p.member); err != nil {
			return err
		}
	}
	return nil
}

// membershipsLeftTx reports whether object id still has a membership of
// either kind.
func membershipsLeftTx(tb *tenantBuckets, id string) bool {
	prefix := key(id, "")
	for _, b := range []*bbolt.Bucket{tb.groupMembers, tb.memberOf} {
		if k, _ := b.Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// directoryObject names an object of a tenant and its type (a
// tenant.GroupMember Type).
type directoryObject struct{ tenantID, id, kind string }

// maxDrainedPerWrite is how many memberships, or app role assignments, a
// drain removes in one write: two keys each, well inside etcd's default
// 128 operations a transaction.
const maxDrainedPerWrite = 32

// drainObjects removes, on a replica, the group memberships of the
// objects that objects names (read in one read transaction; an error
// there means nothing to drain, and the deletion reports it), then the
// app role assignments they hold, in writes of maxDrainedPerWrite, before
// the deletion's own write: a user in a hundred groups, a group of a
// thousand members, or a group assigned to dozens of applications could
// not go in one etcd transaction. A failure between the writes leaves the
// object with fewer memberships or assignments, and the deletion, retried,
// finishes. A plain file removes them all in the deletion's one
// transaction.
func (db *DB) drainObjects(ctx context.Context, objects func(tx *bbolt.Tx) ([]directoryObject, error)) error {
	if !db.splitsDeletions() {
		return nil
	}
	var objs []directoryObject
	if err := db.view(ctx, func(tx *bbolt.Tx) error {
		objs, _ = objects(tx)
		return nil
	}); err != nil {
		return err
	}
	for _, o := range objs {
		for more := true; more; {
			if err := db.update(ctx, func(tx *bbolt.Tx) error {
				more = false
				tb, err := tenantBucketsTx(tx, o.tenantID)
				if err != nil || objectTypeTx(tb, o.id) != o.kind {
					// Missing, deleted meanwhile, or another kind of
					// object (DeleteUser given a group's id): the
					// deletion reports it, and nothing is removed.
					return nil
				}
				if membershipsLeftTx(tb, o.id) {
					more = true
					return deleteMembershipsTx(tb, o.id, maxDrainedPerWrite)
				}
				more, err = deleteHeldAssignmentsTx(tb, o.id, maxDrainedPerWrite)
				return err
			}); err != nil {
				return fmt.Errorf("removing the group memberships and app role assignments of %s before deleting it: %w", o.id, err)
			}
		}
	}
	return nil
}

// oneObject is drainObjects' argument for one object known by id.
func oneObject(tenantID, id, kind string) func(*bbolt.Tx) ([]directoryObject, error) {
	return func(*bbolt.Tx) ([]directoryObject, error) { return []directoryObject{{tenantID, id, kind}}, nil }
}

// applicationObjectsTx names the service principals of an application in
// every tenant, for drainObjects.
func applicationObjectsTx(tx *bbolt.Tx, appID string) ([]directoryObject, error) {
	var out []directoryObject
	err := forEachPrefix(tx.Bucket(bucketAppSPs), key(appID, ""), func(tenantID string) error {
		spID := string(tx.Bucket(bucketAppSPs).Get(key(appID, tenantID)))
		out = append(out, directoryObject{tenantID, spID, tenant.ObjectServicePrincipal})
		return nil
	})
	return out, err
}

// checkMembership refuses ids that cannot be key parts.
func checkMembership(tenantID, groupID, memberID string) error {
	for _, p := range []struct{ what, v string }{
		{"tenant id", tenantID}, {"group id", groupID}, {"member id", memberID},
	} {
		if err := checkKeyPart(p.what, p.v); err != nil {
			return err
		}
	}
	return nil
}
