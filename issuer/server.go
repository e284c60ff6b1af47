package issuer

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/issuer-dev/issuer/consent"
)

// Server is the protocol edge: it answers Entra's token, discovery, JWKS and
// instance-discovery endpoints over the directory, the consent engine and the
// signing keys of its Config. It is safe for concurrent use.
type Server struct {
	cfg     Config
	engine  *consent.Engine
	keys    atomic.Pointer[keyring]
	handler http.Handler
	// federation caches external identity providers' keys.
	federation *federationKeys
	// signIns is the sign-in log.
	signIns *signInLog
	gate    *fairGate // the token endpoints' order under load (signpool.go)
	// passwordSlots bounds concurrent argon2id checks.
	passwordSlots passwordSlots
	// consent writes the grants the consent pages accept: the manager
	// `issuer consent grant` uses.
	consent *consent.Manager
	// interactive holds the browser flows, sessions and codes.
	interactive interactiveState
}

// New returns a Server for cfg. It loads the signing keys and, on a fresh
// database, creates and stores the first one.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, engine: consent.NewEngine(cfg.Grants),
		federation:    newFederationKeys(newHTTPKeySetFetcher(cfg.FederationRoots, federationTimeout), cfg.Now),
		signIns:       newSignInLog(max(cfg.SignInLogSize, 0)),
		passwordSlots: newPasswordSlots(),
		gate:          newFairGate(cfg.TokenConcurrency),
		consent:       consent.NewManager(cfg.Directory, cfg.Grants, consent.WithClock(cfg.Now), consent.WithIDs(cfg.NewID)),
		interactive:   newInteractiveState()}
	if err := s.ReloadKeys(ctx); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler: /healthz on an outer ServeMux, every
// Entra endpoint on the router behind it.
func (s *Server) Handler() http.Handler { return s.handler }

// ReloadKeys re-reads the key store and swaps in the new key set, creating an
// active key if none is left. Call it after rotating keys; requests in flight
// finish with the key set they started with.
func (s *Server) ReloadKeys(ctx context.Context) error {
	keys, err := loadKeys(ctx, s.cfg.Keys, s.cfg.Now())
	if err != nil {
		return err
	}
	kr, err := newKeyring(keys, s.cfg.Signer)
	if err != nil {
		return err
	}
	s.keys.Store(kr)
	return nil
}

// SignerName names the RS256 backend in use: "go" or "openssl".
func (s *Server) SignerName() string { return s.cfg.Signer.Name() }

// keyring returns the current key set.
func (s *Server) keyring() *keyring { return s.keys.Load() }

// BaseURL returns the configured public base URL, normalised.
func (s *Server) BaseURL() string { return s.cfg.BaseURL }

// tenantIDTemplate is the placeholder Entra puts in the issuer of the
// common/organizations documents and of JWKS keys; validators substitute the
// token's tid (protocol.md §1.3, §1.4).
const tenantIDTemplate = "{tenantid}"

// issuer returns the issuer string of token version 1 or 2 for tenant tid
// (a GUID or tenantIDTemplate). It is the one source of iss and of the
// discovery issuer: on our host {base}/{tid}/v2.0 and {base}/{tid}/ (v1
// issuers end in a slash), because MSAL checks that the v2 issuer's host is
// the authority's; with EntraIssuers, Microsoft's production strings.
func (s *Server) issuer(version int, tid string) string {
	switch {
	case s.cfg.EntraIssuers && version == 1:
		return "https://sts.windows.net/" + tid + "/"
	case s.cfg.EntraIssuers:
		return "https://login.microsoftonline.com/" + tid + "/v2.0"
	case version == 1:
		return s.cfg.BaseURL + "/" + tid + "/"
	}
	return s.cfg.BaseURL + "/" + tid + "/v2.0"
}
