package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// Refresh tokens live in three root buckets: refresh_tokens holds each
// token's record under the hex SHA-256 of its text (the text itself is never
// stored), refresh_token_family lists the hashes of each family, so that a
// replay can revoke them all, and refresh_token_by_user lists them by tenant
// and user, so that deleting a user, a client or a tenant deletes its
// tokens (Entra's revocation table; a token must not come back to life
// when an object is created again with the same id). A password change
// revokes the user's password-based ones by moving the user's password
// generation (getRefreshTokenTx), writing none of them. They are root
// buckets rather than tenant buckets because a token presented at /common
// names no tenant: the hash alone must find it.

// CreateRefreshToken stores a newly issued refresh token. It fails with
// ErrExists if the hash is taken (which, for 256-bit random tokens, means a
// broken random source).
func (db *DB) CreateRefreshToken(ctx context.Context, rt tenant.RefreshToken) error {
	if err := checkRefreshToken(rt); err != nil {
		return err
	}
	return db.updateRefreshTokens(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketRefreshTokens).Get([]byte(rt.Hash)) != nil {
			return fmt.Errorf("refresh token of family %s: %w", rt.FamilyID, tenant.ErrExists)
		}
		return putRefreshTokenTx(tx, rt)
	})
}

// GetRefreshToken returns the record of the token whose hash is given, or
// an error wrapping ErrNotFound.
func (db *DB) GetRefreshToken(ctx context.Context, hash string) (tenant.RefreshToken, error) {
	var out tenant.RefreshToken
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		st, err := getRefreshTokenTx(tx, hash)
		out = st.RefreshToken
		return err
	})
	return out, err
}

// RotateRefreshToken redeems the token whose hash is given for next, its
// successor in the same family, in one transaction:
//
//   - an unknown hash is ErrNotFound;
//   - a token whose family was revoked is ErrRefreshTokenRevoked, and
//     nothing changes;
//   - a token that was already rotated is a replay (RFC 9700 §4.14): the
//     whole family is revoked (its tokens not yet rotated: the rotated
//     ones are refused this way anyway), that revocation is committed,
//     and the error wraps ErrRefreshTokenReused. Two concurrent
//     redemptions of one token end this way too: the second one sees the
//     first one's rotation;
//   - otherwise the token is marked rotated and last used at now, next is
//     stored, and the family's members that expired before now are deleted
//     (rotated members that have not expired are kept, so that their
//     replay is still recognised).
func (db *DB) RotateRefreshToken(ctx context.Context, hash string, now time.Time, next tenant.RefreshToken) error {
	if err := checkRefreshToken(next); err != nil {
		return err
	}
	now = now.UTC()
	var reused bool
	err := db.updateRefreshTokens(ctx, func(tx *bbolt.Tx) error {
		old, err := getRefreshTokenTx(tx, hash)
		switch {
		case err != nil:
			return err
		case next.FamilyID != old.FamilyID:
			return fmt.Errorf("%w: the successor of a refresh token of family %s must stay in the family, not join %s",
				tenant.ErrInvalid, old.FamilyID, next.FamilyID)
		case old.Revoked():
			return fmt.Errorf("refresh token family %s: %w", old.FamilyID, tenant.ErrRefreshTokenRevoked)
		case old.Rotated():
			reused = true
			_, err := revokeFamilyTx(tx, old.FamilyID, now)
			return err
		}
		if tx.Bucket(bucketRefreshTokens).Get([]byte(next.Hash)) != nil {
			return fmt.Errorf("refresh token of family %s: %w", next.FamilyID, tenant.ErrExists)
		}
		old.RotatedDateTime, old.LastUsedDateTime = now, now
		if err := updateRefreshTokenTx(tx, old); err != nil {
			return err
		}
		if err := putRefreshTokenTx(tx, next); err != nil {
			return err
		}
		return pruneFamilyTx(tx, old.FamilyID, now)
	})
	if err == nil && reused {
		return fmt.Errorf("refresh token family %s: %w; the family is revoked", next.FamilyID, tenant.ErrRefreshTokenReused)
	}
	return err
}

// RenewRefreshToken redeems the token whose hash is given for next, its
// successor in the same family, and leaves the presented token valid, as
// Entra does (a retry after a lost answer, parallel workers and a shared
// token cache keep working), in one transaction:
//
//   - an unknown hash is ErrNotFound (also a token deleted meanwhile with
//     its user, client or tenant);
//   - a token that was revoked (replay under strict rotation, password
//     change) is ErrRefreshTokenRevoked, and nothing changes;
//   - otherwise the token is marked last used at now, next is stored, and
//     the family's members that expired before now are deleted.
//
// Checking the presented token inside the transaction that stores next
// keeps a revocation committed after the caller read the token from
// leaving a live successor behind.
func (db *DB) RenewRefreshToken(ctx context.Context, hash string, now time.Time, next tenant.RefreshToken) error {
	if err := checkRefreshToken(next); err != nil {
		return err
	}
	now = now.UTC()
	return db.updateRefreshTokens(ctx, func(tx *bbolt.Tx) error {
		old, err := getRefreshTokenTx(tx, hash)
		switch {
		case err != nil:
			return err
		case next.FamilyID != old.FamilyID:
			return fmt.Errorf("%w: the successor of a refresh token of family %s must stay in the family, not join %s",
				tenant.ErrInvalid, old.FamilyID, next.FamilyID)
		case old.Revoked():
			return fmt.Errorf("refresh token family %s: %w", old.FamilyID, tenant.ErrRefreshTokenRevoked)
		}
		if tx.Bucket(bucketRefreshTokens).Get([]byte(next.Hash)) != nil {
			return fmt.Errorf("refresh token of family %s: %w", next.FamilyID, tenant.ErrExists)
		}
		old.LastUsedDateTime = now
		if err := updateRefreshTokenTx(tx, old); err != nil {
			return err
		}
		if err := putRefreshTokenTx(tx, next); err != nil {
			return err
		}
		return pruneFamilyTx(tx, old.FamilyID, now)
	})
}

// RevokeRefreshTokenFamily revokes every token of a family that could
// still be redeemed at now and returns how many it revoked: tokens revoked
// before are left as they are, and so are rotated ones, which a redemption
// refuses as a replay already (see revokeFamilyTx). An unknown family
// revokes nothing.
func (db *DB) RevokeRefreshTokenFamily(ctx context.Context, familyID string, now time.Time) (int, error) {
	var n int
	err := db.updateRefreshTokens(ctx, func(tx *bbolt.Tx) error {
		var err error
		n, err = revokeFamilyTx(tx, familyID, now.UTC())
		return err
	})
	return n, err
}

// checkRefreshToken refuses a record that could not be stored or found again.
func checkRefreshToken(rt tenant.RefreshToken) error {
	for _, p := range []struct{ what, v string }{
		{"refresh token hash", rt.Hash}, {"refresh token family", rt.FamilyID},
		{"refresh token tenant", rt.TenantID}, {"refresh token client", rt.ClientAppID}, {"refresh token user", rt.UserID},
	} {
		if err := checkKeyPart(p.what, p.v); err != nil {
			return err
		}
	}
	if rt.ExpiresDateTime.IsZero() {
		return fmt.Errorf("%w: refresh token of family %s has no expiry", tenant.ErrInvalid, rt.FamilyID)
	}
	return nil
}

// storedToken is a token as read from its record, with the user's password
// generation the record keeps, which updateRefreshTokenTx writes back.
type storedToken struct {
	tenant.RefreshToken
	passwordGeneration uint64
}

// getRefreshTokenTx reads a token. One that a password change revokes
// reads as revoked when its user's password changed since it was issued
// (userRecord.PasswordGeneration).
func getRefreshTokenTx(tx *bbolt.Tx, hash string) (storedToken, error) {
	var rec refreshTokenRecord
	if err := getRecord(tx.Bucket(bucketRefreshTokens), "refresh token", hash, &rec); err != nil {
		return storedToken{}, err
	}
	st := storedToken{RefreshToken: rec.toRefreshToken(hash), passwordGeneration: rec.PasswordGeneration}
	if st.RevokedByPasswordChange() && !st.Revoked() {
		if u, ok := userRecordOfTx(tx, st.TenantID, st.UserID); ok && u.PasswordGeneration > st.passwordGeneration {
			st.RevokedDateTime = u.PasswordRevokedDateTime
		}
	}
	return st, nil
}

// userRecordOfTx reads the user's record, for its password generation; ok
// is false for a user (or tenant) that is gone, whose tokens go with it.
func userRecordOfTx(tx *bbolt.Tx, tenantID, userID string) (userRecord, bool) {
	tb, err := someTenantBucketsTx(tx, tenantID, bucketUsers)
	if err != nil {
		return userRecord{}, false
	}
	rec, err := getUserRecordTx(tb, userID)
	return rec, err == nil
}

// putRefreshTokenTx writes a new token's record, at its user's current
// password generation, and its family and user index entries.
func putRefreshTokenTx(tx *bbolt.Tx, rt tenant.RefreshToken) error {
	rec := fromRefreshToken(rt)
	if rt.RevokedByPasswordChange() {
		if u, ok := userRecordOfTx(tx, rt.TenantID, rt.UserID); ok {
			rec.PasswordGeneration = u.PasswordGeneration
		}
	}
	if err := putRecord(tx.Bucket(bucketRefreshTokens), "refresh token", rt.FamilyID, []byte(rt.Hash), rec); err != nil {
		return err
	}
	if err := put(tx.Bucket(bucketRTByFamily), key(rt.FamilyID, rt.Hash), familyEntry(rt.ExpiresDateTime)); err != nil {
		return err
	}
	return put(tx.Bucket(bucketRTByUser), key(rt.TenantID, rt.UserID, rt.Hash), []byte{})
}

// updateRefreshTokenTx rewrites the record of a token read with
// getRefreshTokenTx, keeping the password generation it was issued at.
// Its index entries stay as they are: they hold only what a token never
// changes (family, tenant, user, hash and expiry), and rewriting them
// would cost a shared store two operations a token for nothing.
func updateRefreshTokenTx(tx *bbolt.Tx, st storedToken) error {
	rec := fromRefreshToken(st.RefreshToken)
	rec.PasswordGeneration = st.passwordGeneration
	return putRecord(tx.Bucket(bucketRefreshTokens), "refresh token", st.FamilyID, []byte(st.Hash), rec)
}

// familyEntry is the value of a token's refresh_token_family entry: its
// expiry, as big-endian Unix seconds and nanoseconds, so that pruning a
// family reads the records of the expired tokens only. Entries written
// before the value existed are empty, and pruning reads their record.
func familyEntry(expires time.Time) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 12), uint64(expires.Unix()))
	return binary.BigEndian.AppendUint32(v, uint32(expires.Nanosecond()))
}

// familyEntryExpiry reads familyEntry's value; ok is false for any other
// value (an empty one from before, or damage, which pruning then settles
// by reading the record).
func familyEntryExpiry(v []byte) (expires time.Time, ok bool) {
	if len(v) != 12 {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint32(v[8:]))).UTC(), true
}

// deleteRefreshTokenTx deletes the record and its index entries.
func deleteRefreshTokenTx(tx *bbolt.Tx, rt tenant.RefreshToken) error {
	if err := del(tx.Bucket(bucketRefreshTokens), []byte(rt.Hash)); err != nil {
		return err
	}
	if err := del(tx.Bucket(bucketRTByFamily), key(rt.FamilyID, rt.Hash)); err != nil {
		return err
	}
	return del(tx.Bucket(bucketRTByUser), key(rt.TenantID, rt.UserID, rt.Hash))
}

// userTokensTx reads the tokens of refresh_token_by_user under prefix: a
// tenant's (key(tenantID, "")) or one user's (key(tenantID, userID, "")).
func userTokensTx(tx *bbolt.Tx, prefix []byte) ([]tenant.RefreshToken, error) {
	var out []tenant.RefreshToken
	c := tx.Bucket(bucketRTByUser).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		i := bytes.LastIndexByte(k, 0)
		rt, err := getRefreshTokenTx(tx, string(k[i+1:]))
		if err != nil {
			return nil, damaged("refresh_token_by_user %q names a token that is missing: %v", k, err)
		}
		out = append(out, rt.RefreshToken)
	}
	return out, nil
}

// deleteRefreshTokensTx deletes the tokens of s: those of a deleted user,
// tenant or client.
func deleteRefreshTokensTx(tx *bbolt.Tx, s tokenSet) error {
	tokens, err := s.tokensTx(tx)
	if err != nil {
		return err
	}
	for _, rt := range tokens {
		if err := deleteRefreshTokenTx(tx, rt); err != nil {
			return err
		}
	}
	return nil
}

// familyHashesTx lists the hashes of a family's tokens.
func familyHashesTx(tx *bbolt.Tx, familyID string) ([]string, error) {
	var out []string
	err := forEachPrefix(tx.Bucket(bucketRTByFamily), key(familyID, ""), func(hash string) error {
		out = append(out, hash)
		return nil
	})
	return out, err
}

// revokeFamilyTx marks revoked the family's tokens that are neither
// revoked nor rotated. A rotated token needs no mark: redeeming it again is a
// replay, refused and revoking the family again. Marking it would cost a
// shared store one operation for each redemption the family ever made, so
// that a replay in a family with more than etcd's 128 operations a
// transaction (five days of hourly refreshes) failed to revoke anything.
func revokeFamilyTx(tx *bbolt.Tx, familyID string, now time.Time) (int, error) {
	hashes, err := familyHashesTx(tx, familyID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hashes {
		rt, err := getRefreshTokenTx(tx, h)
		if err != nil {
			return n, damaged("refresh_token_family %s names token %s: %v", familyID, h, err)
		}
		if rt.Revoked() || rt.Rotated() {
			continue
		}
		rt.RevokedDateTime = now
		if err := updateRefreshTokenTx(tx, rt); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// maxPrunedPerWrite bounds the expired tokens one redemption deletes.
// Each costs a shared store three operations, and a family may hold any
// number that expired at once (a client back after a long pause), so
// that one write stays well inside etcd's default 128 operations a
// transaction; the next redemptions delete the rest.
const maxPrunedPerWrite = 16

// pruneFamilyTx deletes up to maxPrunedPerWrite of the family's tokens
// that expired before now: none of them can be redeemed any more, so
// forgetting them loses nothing but the wording of the refusal (an unknown
// token instead of an expired one). It reads the family's index entries
// and the records of the expired tokens only, so that a redemption in a
// family of thousands (a client refreshing every hour for the 90 days of
// Entra's lifetime) costs about what one in a new family does.
func pruneFamilyTx(tx *bbolt.Tx, familyID string, now time.Time) error {
	prefix := key(familyID, "")
	var expired []tenant.RefreshToken
	c := tx.Bucket(bucketRTByFamily).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(expired) < maxPrunedPerWrite; k, v = c.Next() {
		if expires, ok := familyEntryExpiry(v); ok && now.Before(expires) {
			continue
		}
		hash := string(k[len(prefix):])
		rt, err := getRefreshTokenTx(tx, hash)
		if err != nil {
			return damaged("refresh_token_family %s names token %s: %v", familyID, hash, err)
		}
		if rt.Expired(now) {
			expired = append(expired, rt.RefreshToken)
		}
	}
	for _, rt := range expired {
		if err := deleteRefreshTokenTx(tx, rt); err != nil {
			return err
		}
	}
	return nil
}

// Deleting the holder of many refresh tokens on a shared store.
//
// A user, a client's service principal, an application or a tenant takes
// its refresh tokens with it, three operations each, in the write that
// deletes it. One etcd transaction holds at most 128 operations, so a user
// who had signed in a few dozen times could not be deleted on etcd, nor a
// client that many users had signed in to. So on a replica the tokens go
// first, maxPrunedPerWrite a write, until at most that many are left, and
// the object's own write deletes the rest with it, as on a local file:
// no token outlives its holder, and none survives a holder created again
// with the same id. A failure between the writes leaves the object in place
// without some of its refresh tokens (its users sign in again), and the
// deletion, retried, finishes. A local file keeps the one transaction.

// splitsDeletions reports whether a deletion runs in several writes: on
// a replica, whose shared store bounds a transaction (a batch is no
// transaction there either: Batch).
func (db *DB) splitsDeletions() bool { return db.replica != nil }

// tokenSet names refresh tokens: those under prefix (see userTokensTx) for
// which match is true.
type tokenSet struct {
	prefix []byte
	match  func(tenant.RefreshToken) bool
}

// tokensTx reads the tokens of s.
func (s tokenSet) tokensTx(tx *bbolt.Tx) ([]tenant.RefreshToken, error) {
	tokens, err := userTokensTx(tx, s.prefix)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(tokens, func(rt tenant.RefreshToken) bool { return !s.match(rt) }), nil
}

// anyToken matches every token of a tokenSet's prefix.
func anyToken(tenant.RefreshToken) bool { return true }

// clientTokens matches the tokens issued to the client appID.
func clientTokens(appID string) func(tenant.RefreshToken) bool {
	return func(rt tenant.RefreshToken) bool { return rt.ClientAppID == appID }
}

// drainRefreshTokens deletes, on a replica, the refresh tokens of the sets
// holder returns, in writes of maxPrunedPerWrite, leaving at most that
// many for the deletion's own write. holder reads the sets in a read
// transaction; when it cannot (the object is missing), there is nothing to
// drain, and the deletion reports it.
func (db *DB) drainRefreshTokens(ctx context.Context, holder func(tx *bbolt.Tx) ([]tokenSet, error)) error {
	if !db.splitsDeletions() {
		return nil
	}
	var hashes []string
	if err := db.view(ctx, func(tx *bbolt.Tx) error {
		sets, err := holder(tx)
		if err != nil {
			return nil
		}
		for _, s := range sets {
			tokens, err := s.tokensTx(tx)
			if err != nil {
				return err
			}
			for _, rt := range tokens {
				hashes = append(hashes, rt.Hash)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for len(hashes) > maxPrunedPerWrite {
		chunk := hashes[:maxPrunedPerWrite]
		hashes = hashes[maxPrunedPerWrite:]
		if err := db.updateRefreshTokens(ctx, func(tx *bbolt.Tx) error {
			for _, h := range chunk {
				rt, err := getRefreshTokenTx(tx, h)
				if errors.Is(err, tenant.ErrNotFound) {
					continue // pruned or deleted since the read
				}
				if err != nil {
					return err
				}
				if err := deleteRefreshTokenTx(tx, rt.RefreshToken); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("deleting refresh tokens before their holder: %w", err)
		}
	}
	return nil
}
