package issuer

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// RefreshTokenReuse is Config.RefreshTokenReuse (serve
// --refresh-token-reuse).
type RefreshTokenReuse string

const (
	// RefreshTokenReuseAllow is Entra's behaviour: redeeming a refresh
	// token returns a new one and leaves the presented one valid until it
	// expires or is revoked, so that parallel workers, a token cache
	// shared by two applications and a retry after a lost answer keep
	// working (Entra does not revoke a refresh token when it is
	// redeemed; protocol.md §2.4).
	RefreshTokenReuseAllow RefreshTokenReuse = "allow"
	// RefreshTokenReuseRevokeFamily is strict one-time rotation (RFC 9700
	// §4.14): a redeemed token is dead, and presenting it again is taken
	// for a stolen token being replayed: AADSTS70008, and every token of
	// the same sign-in is revoked (AADSTS50173 after).
	RefreshTokenReuseRevokeFamily RefreshTokenReuse = "revoke-family"
)

// DefaultRefreshTokenLifetime is Entra's default refresh token lifetime for
// everything but single-page apps (protocol.md §3.5): 90 days, renewed by
// each redemption, so that it works as an inactivity limit.
const DefaultRefreshTokenLifetime = 90 * 24 * time.Hour

// DefaultTokenLifetime is expires_in of app-only tokens: Entra's
// client-credentials responses consistently show 3599 (protocol.md §3.5).
const DefaultTokenLifetime = 3599 * time.Second

// MinUserTokenLifetime and MaxUserTokenLifetime bound the default lifetime
// of delegated (user) access tokens. Microsoft's access token reference:
// "the Microsoft identity platform assigns a random value ranging between
// 60-90 minutes (75 minutes on average)" when it issues one, which spreads
// the refreshes of many clients.
const (
	MinUserTokenLifetime = 60 * time.Minute
	MaxUserTokenLifetime = 90 * time.Minute
)

// Config configures a Server: everything but the store, which New takes
// as its Backend. BaseURL is the only source of the URLs the server
// publishes; the clock, IDs and randomness are injected so that tests and
// golden files are deterministic. `issuer serve`, issuertest, `issuer
// token user` and the servers `issuer bench` starts all assemble their
// server with New from a backend and a Config.
type Config struct {
	// BaseURL is the public https://host[:port] clients use as authority
	// host; no path, no trailing slash. MSAL refuses http authorities and
	// compares the discovery issuer's host with it.
	BaseURL string
	// AllowHTTP accepts an http:// BaseURL, for `serve --insecure-http`:
	// curl and JWT validators work over plain HTTP, MSAL and azidentity do not.
	AllowHTTP bool
	// EntraIssuers makes iss and the discovery issuer use Microsoft's
	// production strings (https://login.microsoftonline.com/{tid}/v2.0 and
	// https://sts.windows.net/{tid}/), for validators hard-wired to them.
	// Endpoints stay on BaseURL.
	EntraIssuers bool
	// Clock is the time source of the server and of the directory and
	// consent manager it assembles (default: a real clock); /healthz
	// reports its mode and time when it is not real (serve --clock).
	Clock *Clock
	// NewID makes the GUIDs of new objects, trace ids and token ids
	// (default tenant.NewGUID).
	NewID func() string
	// Random is the source of refresh tokens and of generated client
	// secrets (default crypto/rand).
	Random io.Reader
	Logger *slog.Logger // default discards
	// TokenLifetime is expires_in of app-only tokens and the lifetime of
	// id_tokens; exp is one second later and iat/nbf are backdated 300 s, so
	// exp-iat is 3900 with the default, as in Entra.
	TokenLifetime time.Duration
	// UserTokenLifetime is expires_in of delegated (user) access tokens.
	// Zero draws each token's between MinUserTokenLifetime and
	// MaxUserTokenLifetime, to the second, as Entra does.
	UserTokenLifetime time.Duration
	// LifetimeDraw returns a uniform number in [0, n) for those draws
	// (default: drawn from Random); tests may inject their own.
	LifetimeDraw func(n int64) int64
	// FederationRoots returns the CAs trusted when fetching an external
	// identity provider's discovery document and keys for a federated
	// credential; it is called once, on the first fetch, so that loading
	// the system roots does not delay a server's start. nil means the
	// system roots. To add CAs (the server's own local CA, so that a tenant
	// of this server can be the identity provider, or `serve
	// --federation-ca` files), start from x509.SystemCertPool and append to
	// it.
	FederationRoots func() *x509.CertPool
	// RefreshTokenLifetime is how long a refresh token may wait to be
	// redeemed (default 90 days).
	RefreshTokenLifetime time.Duration
	// RefreshTokenReuse says what redeeming a refresh token does to it:
	// RefreshTokenReuseAllow (the default, Entra's behaviour) leaves it
	// valid; RefreshTokenReuseRevokeFamily rotates it strictly.
	RefreshTokenReuse RefreshTokenReuse
	// Sync, when set, runs before every request but /healthz: a store
	// shared by several replicas catches up there with the writes
	// acknowledged elsewhere, so that the request honours them. When it
	// fails (the store lost its quorum), the request is answered at once
	// with AADSTS90033 temporarily_unavailable, 503.
	Sync func(ctx context.Context) error
	// SignInLogSize is how many token requests the sign-in log keeps in
	// memory (default DefaultSignInLogSize; negative keeps none).
	SignInLogSize int
	// Signer computes the RS256 signatures: signing.GoBackend() (the
	// default) or the OpenSSL backend (signing.OpenSSLBackend,
	// signing.Select). Tokens are the same bytes with either.
	Signer signing.Backend
	// TokenConcurrency bounds the token requests computed at once (reads,
	// policy, signature), admitted in order of arrival so that latency stays
	// fair under overload (signpool.go): 0 means signing.Queued(Signer) per
	// CPU (one for a signer that signs in the caller's goroutine, more for
	// one with threads of its own, OpenSSL), a negative value no bound and
	// the Go runtime's order. Set Server.ConnContext on the http.Server for
	// the order to be the clients'.
	TokenConcurrency int
}

// settings is a Config with its defaults filled, and what New derives from
// it and the backend: the time function and the directory the handlers
// read through.
type settings struct {
	Config
	Now       func() time.Time // Clock.Now
	Directory *tenant.Directory
}

// withDefaults validates c and fills the defaults.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return c, errors.New("issuer: Config.BaseURL is required")
	case err != nil:
		return c, fmt.Errorf("issuer: Config.BaseURL: %w", err)
	case u.Scheme != "https" && !(c.AllowHTTP && u.Scheme == "http"):
		return c, fmt.Errorf("issuer: Config.BaseURL %q must be https: MSAL and azidentity refuse other authorities", c.BaseURL)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		return c, fmt.Errorf("issuer: Config.BaseURL %q must be https://host[:port] with no path: clients take the first path segment as the tenant", c.BaseURL)
	case c.TokenLifetime < 0:
		return c, errors.New("issuer: Config.TokenLifetime must not be negative")
	case c.UserTokenLifetime < 0:
		return c, errors.New("issuer: Config.UserTokenLifetime must not be negative")
	case c.RefreshTokenLifetime < 0:
		return c, errors.New("issuer: Config.RefreshTokenLifetime must not be negative")
	case c.RefreshTokenReuse != "" && c.RefreshTokenReuse != RefreshTokenReuseAllow && c.RefreshTokenReuse != RefreshTokenReuseRevokeFamily:
		return c, fmt.Errorf("issuer: Config.RefreshTokenReuse %q must be %q or %q", c.RefreshTokenReuse, RefreshTokenReuseAllow, RefreshTokenReuseRevokeFamily)
	}
	if c.RefreshTokenReuse == "" {
		c.RefreshTokenReuse = RefreshTokenReuseAllow
	}
	c.BaseURL = u.Scheme + "://" + u.Host
	if c.Clock == nil {
		c.Clock, _ = NewClock(ClockReal, nil)
	}
	if c.SignInLogSize == 0 {
		c.SignInLogSize = DefaultSignInLogSize
	}
	if c.NewID == nil {
		c.NewID = tenant.NewGUID
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TokenLifetime == 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.RefreshTokenLifetime == 0 {
		c.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if c.Random == nil {
		c.Random = rand.Reader
	}
	if c.LifetimeDraw == nil {
		c.LifetimeDraw = drawFrom(c.Random)
	}
	if c.Signer == nil {
		c.Signer = signing.GoBackend()
	}
	return c, nil
}

// userTokenLifetime returns the lifetime of a new delegated access token:
// Config.UserTokenLifetime, or a draw between 60 and 90 minutes.
func (c Config) userTokenLifetime() time.Duration {
	if c.UserTokenLifetime > 0 {
		return c.UserTokenLifetime.Truncate(time.Second)
	}
	span := int64((MaxUserTokenLifetime - MinUserTokenLifetime) / time.Second)
	return MinUserTokenLifetime + time.Duration(c.LifetimeDraw(span+1))*time.Second
}

// drawFrom turns a random source into a uniform draw in [0, n), so that
// the lifetimes of user tokens come from the injected source.
func drawFrom(r io.Reader) func(int64) int64 {
	return func(n int64) int64 {
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0 // crypto/rand does not fail; a test source does not run dry
		}
		return int64(binary.BigEndian.Uint64(b[:]) % uint64(n))
	}
}
