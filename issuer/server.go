package issuer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// Server is the protocol edge: it answers Entra's token, discovery, JWKS and
// instance-discovery endpoints over the directory, its grants and the
// signing keys of its backend. It is safe for concurrent use.
type Server struct {
	cfg     settings
	backend Backend
	// mux is the outer ServeMux of Handler, where Mount adds services.
	mux *http.ServeMux
	// aliases maps resource names (IdentifierKey) every flow reads as
	// another resource (AliasResource).
	aliases map[string]string
	consent *consent.Manager
	keys    atomic.Pointer[signing.Ring]
	handler http.Handler
	// federation caches external identity providers' keys.
	federation *federationKeys
	// signIns is the sign-in log.
	signIns *signInLog
	gate    *fairGate // the token endpoints' order under load (signpool.go)
	// passwordSlots bounds concurrent argon2id checks.
	passwordSlots passwordSlots
	// interactive holds the browser flows, sessions and codes.
	interactive interactiveState
	// facts and tenants cache what requests read (readcache.go): the
	// facts of app-only token requests, the tenants of authorities.
	facts   readCache[factKey, consent.Facts]
	tenants readCache[string, tenant.Tenant]
}

// New assembles a Server over backend b, configured by cfg: the directory
// and the consent manager over b on cfg's clock, IDs and random source (the
// same ones the server uses, so that a secret created "now" and the token
// request checking it agree), the sign-in log and the signing keys. It loads the keys and, on a fresh backend, creates and
// stores the first one. It is the one assembly of a server: `issuer
// serve`, issuertest and `issuer token user` all call it.
func New(ctx context.Context, b Backend, cfg Config) (*Server, error) {
	if b == nil {
		return nil, errors.New("issuer: New needs a backend")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dir := tenant.NewDirectory(b, tenant.WithClock(c.Clock.Now), tenant.WithIDs(c.NewID), tenant.WithRandom(c.Random))
	s := &Server{cfg: settings{Config: c, Now: c.Clock.Now, Directory: dir}, backend: b,
		consent:       consent.NewManager(dir, b, consent.WithClock(c.Clock.Now), consent.WithIDs(c.NewID)),
		federation:    newFederationKeys(newHTTPKeySetFetcher(c.FederationRoots, federationTimeout), c.Clock.Now),
		signIns:       newSignInLog(max(c.SignInLogSize, 0)),
		passwordSlots: newPasswordSlots(),
		gate:          newFairGate(c.TokenConcurrency, signing.Queued(c.Signer)),
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

// Mount serves h at pattern (an http.ServeMux pattern such as "/graph/")
// behind the same path checks and directory sync as the Entra endpoints.
// Call it before serving; a pattern that conflicts with another panics,
// as ServeMux.Handle does.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// AliasResource has the server read the resource alias (an identifier
// URI, as a scope prefix or resource=) as resource, in every flow: a
// server's own Graph endpoint, which a custom cloud's metadata names as
// Microsoft Graph's resource identifier, is Microsoft Graph. Tokens name
// resource. Call it before serving.
func (s *Server) AliasResource(alias, resource string) {
	if s.aliases == nil {
		s.aliases = map[string]string{}
	}
	s.aliases[tenant.IdentifierKey(alias)] = resource
}

// unalias rewrites, in place, a request's v1 resource and the resource
// part of its scope items when they name an alias (AliasResource). Entra
// accepts the same resource identifiers in the scope of every flow, so the
// token endpoint, the authorization and admin consent endpoints and the
// device code endpoint all call it on what they parsed, before anything
// reads the names.
func (s *Server) unalias(resource *string, scopes []string) {
	if len(s.aliases) == 0 {
		return
	}
	if r, ok := s.aliases[tenant.IdentifierKey(*resource)]; ok && *resource != "" {
		*resource = r
	}
	for i, sc := range scopes {
		if j := strings.LastIndex(sc, "/"); j > 0 {
			if r, ok := s.aliases[tenant.IdentifierKey(sc[:j])]; ok {
				scopes[i] = r + sc[j:]
			}
		}
	}
}

// ReloadKeys re-reads the key store and swaps in the new key set, creating an
// active key if none is left. Call it after rotating keys; requests in flight
// finish with the key set they started with.
func (s *Server) ReloadKeys(ctx context.Context) error {
	kr, err := signing.Load(ctx, s.backend, s.cfg.Now(), s.cfg.Signer)
	if err != nil {
		return err
	}
	s.keys.Store(kr)
	return nil
}

// Directory returns the directory the server reads: over its backend, on
// its clock, IDs and random source. Changes made through it are seen by
// the next request.
func (s *Server) Directory() *tenant.Directory { return s.cfg.Directory }

// Consent returns the consent manager over the server's directory and
// backend, on its clock and IDs.
func (s *Server) Consent() *consent.Manager { return s.consent }

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return s.cfg.Clock }

// SignerName names the RS256 backend in use: "go" or "openssl".
func (s *Server) SignerName() string { return s.cfg.Signer.Name() }

// keyring returns the current key set.
func (s *Server) keyring() *signing.Ring { return s.keys.Load() }

// BaseURL returns the configured public base URL, normalised.
func (s *Server) BaseURL() string { return s.cfg.BaseURL }

// TokenIssuer is the iss of the tokens of the given version the server
// issues for tenant tid.
func (s *Server) TokenIssuer(version int, tid string) string { return s.issuer(version, tid) }

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
