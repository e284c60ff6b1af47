package issuer

import (
	"context"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// Backend is the one contract between the issuer and a store: everything a
// server reads and writes goes through it. *storage.DB (bbolt) implements
// it; a second store (a distributed one) implements the same methods and
// proves it by running the conformance suite (package conformance), which
// checks every rule written below and in the embedded interfaces.
//
// Rules every method keeps, whatever the store:
//
//   - One call is one transaction: a caller sees all of its effect or none,
//     and a write acknowledged to one caller is seen by every read that
//     starts after it (read-after-write, also across goroutines).
//   - Read-modify-write methods take an update callback that runs inside
//     the transaction. An error it returns aborts the call and comes back
//     unchanged (errors.Is finds it); an updater that changes a key field
//     (an id, an appId, a tenant id, a kid) gets tenant.ErrInvalid. A store
//     that retries a transaction may call the updater more than once.
//   - Errors wrap the sentinels of package tenant, with the object they
//     concern in the message: tenant.ErrNotFound for an object (or the
//     tenant it should be in) that is not there, tenant.ErrExists for a
//     create or change that would break a uniqueness rule, tenant.ErrInvalid
//     for a value no store may hold (an empty or over-long id, a zero
//     byte). Anything else is the store failing, never one of these.
//   - Values returned are the caller's own: changing them changes nothing
//     stored, and a store keeps no reference to what it was given.
//   - Names used as keys are matched case-insensitively, by one function
//     per kind: domains and user principal names by tenant.NormalizeName,
//     identifier URIs by tenant.IdentifierKey.
//   - A done context fails the call with an error wrapping ctx.Err()
//     before it changes anything.
//   - An object id names at most one directory object of a tenant: a user,
//     a service principal or a group (tenant.ErrExists for a second).
//     Group memberships are direct and name objects of the group's
//     tenant; AddGroupMember refuses a group inside a Microsoft 365 group
//     and a membership that closes a cycle (tenant.ErrInvalid), checking
//     in its own transaction, so that concurrent additions cannot make a
//     cycle between them. Deleting a user, a service principal (and so an
//     application, in every tenant) or a group removes its memberships,
//     both its members' and its own, and a group's deletion the app role
//     assignments it holds; MemberOf (sorted ids, none for an object in no
//     group) and GetGroup read through a View as through the store.
type Backend interface {
	tenant.Store
	tenant.BulkStore
	consent.Store
	signing.KeyStore
	SettingStore
	RefreshTokenStore
	// Ping reports whether the store can serve: reachable, open, its
	// layout in place. /healthz answers 503 while it fails.
	Ping(ctx context.Context) error
}

// SettingStore holds opaque values by name (the local TLS material).
type SettingStore interface {
	// Setting returns the value stored under name (an empty value stays
	// empty, not absent): tenant.ErrNotFound when name was never put.
	Setting(ctx context.Context, name string) ([]byte, error)
	// PutSetting stores or replaces the value: tenant.ErrInvalid for an
	// empty name.
	PutSetting(ctx context.Context, name string, value []byte) error
}

// RefreshTokenStore keeps what the issuer remembers of the refresh tokens it
// handed out (never the tokens themselves: records are found by the hex
// SHA-256 of the token, tenant.RefreshToken.Hash). Tokens of one sign-in
// form a family; each redemption stores a successor in the family, leaving
// the presented token valid (RenewRefreshToken, Entra's behaviour) or
// rotating it out (RotateRefreshToken, strict rotation;
// Config.RefreshTokenReuse).
//
// The directory half of the store keeps Entra's revocation table for
// refresh tokens, in the transaction of the change:
//
//   - DeleteUser deletes the user's tokens, DeleteTenant the tokens of the
//     tenant's users, and DeleteServicePrincipal (and so DeleteApplication,
//     in every tenant) the tokens its application holds as a client in
//     that tenant: GetRefreshToken then gives tenant.ErrNotFound, also
//     after the object is created again with the same id;
//   - an UpdateUser that changes PasswordHash revokes the user's tokens for
//     which RevokedByPasswordChange holds (password-based, public client),
//     at the user's new LastPasswordChangeDateTime; the others are kept.
type RefreshTokenStore interface {
	// CreateRefreshToken stores the first token of a family:
	// tenant.ErrExists if the hash is taken, tenant.ErrInvalid if Hash,
	// FamilyID, TenantID, ClientAppID or UserID is empty or the token has
	// no expiry.
	CreateRefreshToken(ctx context.Context, rt tenant.RefreshToken) error
	// GetRefreshToken returns the token: tenant.ErrNotFound for an unknown
	// hash.
	GetRefreshToken(ctx context.Context, hash string) (tenant.RefreshToken, error)
	// RenewRefreshToken redeems the token the way Entra does: it marks it
	// last used at now and stores next, its successor in the same family,
	// in one transaction, and the token stays valid (it may be renewed
	// again, also concurrently). Errors: tenant.ErrNotFound (no token has
	// that hash), tenant.ErrInvalid (next is not valid or of another
	// family), tenant.ErrRefreshTokenRevoked (the token was revoked; next
	// is not stored), tenant.ErrExists (next's hash is taken). It may also
	// remove the family's tokens that expired by now.
	RenewRefreshToken(ctx context.Context, hash string, now time.Time, next tenant.RefreshToken) error
	// RotateRefreshToken redeems the token: it marks it rotated (and last
	// used) at now and stores next, its successor in the same family, in
	// one transaction. Of concurrent rotations of one token exactly one
	// succeeds. Errors:
	//   - tenant.ErrNotFound: no token has that hash;
	//   - tenant.ErrInvalid: next is not valid for CreateRefreshToken, or
	//     belongs to another family;
	//   - tenant.ErrRefreshTokenRevoked: the family was revoked;
	//   - tenant.ErrRefreshTokenReused: the token was already rotated. This
	//     is a replay (RFC 9700 §4.14): the store has revoked the whole
	//     family, in the same transaction, when it returns this;
	//   - tenant.ErrExists: next's hash is taken.
	// It may also remove the family's tokens that expired by now.
	RotateRefreshToken(ctx context.Context, hash string, now time.Time, next tenant.RefreshToken) error
	// RevokeRefreshTokenFamily marks the family's tokens revoked at now,
	// but for those already revoked or rotated (a rotated token is refused
	// as a replay anyway), and returns how many it marked (0 for an
	// unknown family, which is no error).
	RevokeRefreshTokenFamily(ctx context.Context, familyID string, now time.Time) (int, error)
}
