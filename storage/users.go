package storage

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// CreateUser stores a new user. It fails with ErrNotFound if the tenant does
// not exist and with ErrExists if the object id or the user principal name
// (any case) is taken in the tenant.
func (db *DB) CreateUser(ctx context.Context, u tenant.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	upn := upnKey(u.UserPrincipalName)
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, u.TenantID)
		if err != nil {
			return err
		}
		if objectTypeTx(tb, u.ID) != "" {
			return fmt.Errorf("object %s in tenant %s: %w", u.ID, u.TenantID, tenant.ErrExists)
		}
		if tb.userByUPN.Get([]byte(upn)) != nil {
			return fmt.Errorf("user %s in tenant %s: %w", upn, u.TenantID, tenant.ErrExists)
		}
		if err := putRecord(tb.users, "user", u.ID, []byte(u.ID), fromUser(u)); err != nil {
			return err
		}
		return put(tb.userByUPN, []byte(upn), []byte(u.ID))
	})
}

// ListUsers lists a tenant's users, ordered by object id.
func (db *DB) ListUsers(ctx context.Context, tenantID string) ([]tenant.User, error) {
	out := []tenant.User{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		return tb.users.ForEach(func(k, v []byte) error {
			var rec userRecord
			if err := decodeRecord(v, "user", string(k), &rec); err != nil {
				return err
			}
			out = append(out, rec.toUser())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateUser applies update to a user and keeps the UPN index in step: a
// UPN taken by another user of the tenant fails with ErrExists. update may
// not change the object id or the tenant. An update that changes
// PasswordHash revokes the user's refresh tokens that a password change
// revokes (tenant.RefreshToken.RevokedByPasswordChange), at the user's new
// LastPasswordChangeDateTime (the current time if the update did not move
// it): it moves the user's password generation, which the tokens issued
// before read as their revocation, in this one write.
func (db *DB) UpdateUser(ctx context.Context, tenantID, id string, update func(*tenant.User) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		oldRec, err := getUserRecordTx(tb, id)
		if err != nil {
			return err
		}
		old := oldRec.toUser()
		u := old
		if err := update(&u); err != nil {
			return err
		}
		if u.ID != old.ID || u.TenantID != old.TenantID {
			return fmt.Errorf("%w: user %s: an update may not change id or tenantId", tenant.ErrInvalid, id)
		}
		oldUPN, newUPN := upnKey(old.UserPrincipalName), upnKey(u.UserPrincipalName)
		if err := checkKeyPart("user principal name", newUPN); err != nil {
			return err
		}
		if newUPN != oldUPN {
			if owner := tb.userByUPN.Get([]byte(newUPN)); owner != nil && string(owner) != id {
				return fmt.Errorf("user %s in tenant %s: %w", newUPN, tenantID, tenant.ErrExists)
			}
			if string(tb.userByUPN.Get([]byte(oldUPN))) == id {
				if err := del(tb.userByUPN, []byte(oldUPN)); err != nil {
					return err
				}
			}
			if err := put(tb.userByUPN, []byte(newUPN), []byte(id)); err != nil {
				return err
			}
		}
		rec := fromUser(u)
		rec.PasswordGeneration, rec.PasswordRevokedDateTime = oldRec.PasswordGeneration, oldRec.PasswordRevokedDateTime
		if u.PasswordHash != old.PasswordHash {
			// Entra revokes password-based refresh tokens of public
			// clients when the password changes or is reset: every one
			// issued at an earlier generation reads as revoked at.
			at := u.LastPasswordChangeDateTime
			if at.IsZero() || !at.After(old.LastPasswordChangeDateTime) {
				at = time.Now()
			}
			rec.PasswordGeneration++
			rec.PasswordRevokedDateTime = at.UTC()
		}
		return putRecord(tb.users, "user", id, []byte(id), rec)
	})
}

// DeleteUser removes a user with the user's own consent grants, the app
// role assignments it holds, its group memberships and its refresh tokens.
func (db *DB) DeleteUser(ctx context.Context, tenantID, id string) error {
	tokens := tokenSet{prefix: key(tenantID, id, ""), match: anyToken}
	if err := db.drainRefreshTokens(ctx, func(*bbolt.Tx) ([]tokenSet, error) { return []tokenSet{tokens}, nil }); err != nil {
		return err
	}
	if err := db.drainObjects(ctx, oneObject(tenantID, id, tenant.ObjectUser)); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		u, err := getUserTx(tb, id)
		if err != nil {
			return err
		}
		if err := del(tb.users, []byte(id)); err != nil {
			return err
		}
		upn := []byte(upnKey(u.UserPrincipalName))
		if string(tb.userByUPN.Get(upn)) == id {
			if err := del(tb.userByUPN, upn); err != nil {
				return err
			}
		}
		if err := deleteAssignmentsTx(tb, func(a assignmentRecord) bool { return a.PrincipalID == id }); err != nil {
			return err
		}
		if err := deleteMembershipsTx(tb, id, -1); err != nil {
			return err
		}
		if err := deleteRefreshTokensTx(tx, tokens); err != nil {
			return err
		}
		return deleteGrantsTx(tb, func(g grantRecord) bool { return g.PrincipalID == id })
	})
}

// getUserTx reads a user of the tenant of tb.
func getUserTx(tb *tenantBuckets, id string) (tenant.User, error) {
	rec, err := getUserRecordTx(tb, id)
	if err != nil {
		return tenant.User{}, err
	}
	return rec.toUser(), nil
}

// getUserRecordTx reads a user's record, the fields of its own included.
func getUserRecordTx(tb *tenantBuckets, id string) (userRecord, error) {
	var rec userRecord
	if err := getRecord(tb.users, "user", id, &rec); err != nil {
		return userRecord{}, fmt.Errorf("tenant %s: %w", tb.id, err)
	}
	return rec, nil
}

func checkUser(u tenant.User) error {
	if err := checkKeyPart("user id", u.ID); err != nil {
		return err
	}
	if err := checkKeyPart("user tenant id", u.TenantID); err != nil {
		return err
	}
	return checkKeyPart("user principal name", upnKey(u.UserPrincipalName))
}
