package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// keysCommand is `issuer keys`: the token-signing keys every tenant's JWKS
// publishes.
func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "list and rotate the token-signing keys",
		Description: `One key signs tokens (active). After a rotation the previous key is retired:
it no longer signs but stays in the JWKS until its grace period ends, so
tokens it signed keep verifying, then it leaves the JWKS (expired). While
serve runs, keys rotate runs in the server, which signs with the new key
from the next request on; serve --rotate-every rotates on a schedule.`,
		Subcommands: []*cli.Command{
			keysListCommand(),
			keysRotateCommand(),
		},
	}
}

func keysListCommand() *cli.Command {
	return &cli.Command{
		Name:   "list",
		Usage:  "list the signing keys, newest first",
		Action: keysList,
	}
}

func keysList(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	return withDB(c, func(db *storage.DB, _ *tenant.Directory) error {
		return printKeys(c, db, envOf(c).now())
	})
}

func keysRotateCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate",
		Usage: "make a new signing key active and retire the current one",
		Description: `The retired key stays in the JWKS for --grace (default 24h, far beyond a
token's hour of life), as Entra keeps replaced keys published for a while.
Keys whose grace period has ended are deleted.

EXAMPLES
   issuer keys rotate
   issuer keys rotate --grace 2h`,
		Flags: []cli.Flag{
			&cli.GenericFlag{
				Name:  "grace",
				Usage: "keep the retired key in the JWKS for `DURATION`, e.g. 24h, 2h or 7d",
				Value: ptr(lifetime(signing.DefaultRotationGrace)),
			},
		},
		Action: keysRotate,
	}
}

func ptr[T any](v T) *T { return &v }

func keysRotate(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	grace := lifetimeValue(c, "grace")
	return withDB(c, func(db *storage.DB, _ *tenant.Directory) error {
		now := envOf(c).now()
		k, err := signing.Rotate(c.Context, db, now, grace)
		if err != nil {
			return err
		}
		if !isJSON(c) {
			if err := printRotation(c, db, k, now); err != nil {
				return err
			}
		}
		return printKeys(c, db, now)
	})
}

// printRotation says which key became active and which were retired.
func printRotation(c *cli.Context, db *storage.DB, active tenant.SigningKey, now time.Time) error {
	keys, err := db.SigningKeys(c.Context)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "new active key %s\n", active.KeyID)
	for _, k := range keys {
		if k.KeyID != active.KeyID && k.RetiredDateTime.Equal(now.UTC()) {
			fmt.Fprintf(c.App.Writer, "retired key %s, published until %s\n", k.KeyID, timeText(k.ExpiresDateTime))
		}
	}
	return nil
}

// keyView is the JSON of a signing key. There is no Graph resource for
// Entra's signing keys; the names follow Graph's conventions. Private keys
// are never shown.
type keyView struct {
	KeyID           string     `json:"kid"`
	Status          string     `json:"status"`
	CreatedDateTime time.Time  `json:"createdDateTime"`
	RetiredDateTime *time.Time `json:"retiredDateTime"`
	ExpiresDateTime *time.Time `json:"expiresDateTime"`
	// CertificateEndDateTime is when the key's self-signed certificate
	// (x5c in the JWKS) expires.
	CertificateEndDateTime time.Time `json:"certificateEndDateTime"`
}

// Key statuses: active signs; retired is published but does not sign;
// expired is neither.
const (
	keyActive  = "active"
	keyRetired = "retired"
	keyExpired = "expired"
)

func newKeyView(k tenant.SigningKey, now time.Time) keyView {
	v := keyView{KeyID: k.KeyID, CreatedDateTime: k.CreatedDateTime, CertificateEndDateTime: k.Certificate.NotAfter.UTC()}
	switch {
	case k.Active():
		v.Status = keyActive
	case k.Published(now):
		v.Status = keyRetired
	default:
		v.Status = keyExpired
	}
	if !k.RetiredDateTime.IsZero() {
		v.RetiredDateTime = ptr(k.RetiredDateTime)
	}
	if !k.ExpiresDateTime.IsZero() {
		v.ExpiresDateTime = ptr(k.ExpiresDateTime)
	}
	return v
}

// printKeys lists the signing keys. The first active key (newest first) is
// the one that signs, as the server picks it.
func printKeys(c *cli.Context, db *storage.DB, now time.Time) error {
	keys, err := db.SigningKeys(c.Context)
	if err != nil {
		return err
	}
	view := func(k tenant.SigningKey) keyView { return newKeyView(k, now) }
	return printList(c, keys, view, []string{"KID", "STATUS", "CREATED", "RETIRED", "PUBLISHED UNTIL"}, func(k tenant.SigningKey) []string {
		v := view(k)
		return []string{v.KeyID, v.Status, timeText(v.CreatedDateTime), optTime(v.RetiredDateTime), optTime(v.ExpiresDateTime)}
	})
}

func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return timeText(*t)
}
