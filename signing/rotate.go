package signing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// DefaultRotationGrace is how long a retired signing key stays in the JWKS
// after a rotation. Entra keeps a replaced key published for a while so
// that tokens it signed keep verifying and relying parties that cache the
// key set catch up; a day is far beyond our tokens' hour of life.
const DefaultRotationGrace = 24 * time.Hour

// Rotate makes a new signing key the active one: it stores a new key,
// then retires every other active key at now, keeping it published until
// now+grace, and deletes retired keys whose grace period is over. The new
// key is stored before the old one is retired, so the store always holds
// an active key; an issuer.Server picks it up on ReloadKeys. The steps are separate
// transactions: if retiring fails, the store holds two active keys and the
// newest signs, which is the intended state anyway.
func Rotate(ctx context.Context, ks KeyStore, now time.Time, grace time.Duration) (tenant.SigningKey, error) {
	if grace < 0 {
		return tenant.SigningKey{}, fmt.Errorf("%w: the grace period of a key rotation must not be negative", tenant.ErrInvalid)
	}
	old, err := ks.SigningKeys(ctx)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("signing: reading signing keys: %w", err)
	}
	k, err := NewKey(now)
	if err != nil {
		return tenant.SigningKey{}, err
	}
	if err := ks.AddSigningKey(ctx, k); err != nil {
		return tenant.SigningKey{}, fmt.Errorf("signing: storing the new signing key: %w", err)
	}
	now = now.UTC()
	var errs []error
	for _, o := range old {
		switch {
		case o.Active():
			err = ks.UpdateSigningKey(ctx, o.KeyID, func(sk *tenant.SigningKey) error {
				sk.RetiredDateTime, sk.ExpiresDateTime = now, now.Add(grace)
				return nil
			})
		case !o.Published(now):
			err = ks.DeleteSigningKey(ctx, o.KeyID)
			if errors.Is(err, tenant.ErrNotFound) {
				err = nil // deleted meanwhile
			}
		default:
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("signing: signing key %s: %w", o.KeyID, err))
		}
	}
	return k, errors.Join(errs...)
}
