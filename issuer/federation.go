package issuer

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/issuer-dev/issuer/tenant"
)

// Outbound fetches of external identity providers' metadata for federated
// credentials (protocol.md §6.2).
const (
	// federationTimeout bounds each discovery or JWKS request.
	federationTimeout = 5 * time.Second
	// federationMaxBytes bounds a discovery document or key set; real ones
	// are a few kilobytes.
	federationMaxBytes = 1 << 20
	// federationCacheTTL is how long an issuer's keys are used before they
	// are fetched again.
	federationCacheTTL = 10 * time.Minute
	// federationRefetchAfter is how soon after a fetch an unknown kid may
	// trigger another one; jose's remote key sets wait 30 s as well. It
	// keeps a client sending made-up kids from making us fetch on every
	// request.
	federationRefetchAfter = 30 * time.Second
	// federationMaxKeys is how many keys of a set Entra keeps: the first 100.
	federationMaxKeys = 100
	// federationMaxRedirects bounds redirects, each of which must stay https.
	federationMaxRedirects = 5
)

// keySetFetcher reads the signing keys an external issuer publishes. The
// cache calls it; tests substitute one that counts.
type keySetFetcher interface {
	fetchKeySet(ctx context.Context, issuer string) ([]jose.JSONWebKey, error)
}

// httpKeySetFetcher fetches {issuer}/.well-known/openid-configuration and
// the jwks_uri it names, over HTTPS only.
type httpKeySetFetcher struct {
	// client is made on the first fetch: the roots it trusts start from
	// the system's, whose loading (about 13 ms here, 150 files) a server
	// that never fetches should not pay before its first token.
	client func() *http.Client
}

// newHTTPKeySetFetcher returns a fetcher trusting the pool roots returns
// (roots nil: the system roots), asked for on the first fetch, whose every
// request, redirects and body included, ends after timeout
// (federationTimeout in the server; tests shorten it). Redirects are
// followed only to https URLs.
func newHTTPKeySetFetcher(roots func() *x509.CertPool, timeout time.Duration) *httpKeySetFetcher {
	return &httpKeySetFetcher{client: sync.OnceValue(func() *http.Client {
		var pool *x509.CertPool
		if roots != nil {
			pool = roots()
		}
		tr := &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: timeout,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        10,
			IdleConnTimeout:     time.Minute,
		}
		return &http.Client{
			Transport: tr,
			Timeout:   timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if req.URL.Scheme != "https" {
					return fmt.Errorf("redirect to %s refused: only https is followed", req.URL.Redacted())
				}
				if len(via) >= federationMaxRedirects {
					return fmt.Errorf("more than %d redirects", federationMaxRedirects)
				}
				return nil
			},
		}
	})}
}

// discoveryDocument holds the members of an OpenID configuration we read.
type discoveryDocument struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetchKeySet reads the issuer's discovery document, checks that it names
// the same issuer (OpenID Connect Discovery §4.3) and an https jwks_uri, and
// returns the RSA signing keys among the first federationMaxKeys entries of
// the key set. Entries that are not usable keys are skipped, not fatal.
func (f *httpKeySetFetcher) fetchKeySet(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	iu, err := url.Parse(issuer)
	if err != nil || iu.Scheme != "https" || iu.Host == "" {
		return nil, fmt.Errorf("issuer %q is not an https URL", issuer)
	}
	var doc discoveryDocument
	if err := f.getJSON(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, err
	}
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("discovery document of %s names issuer %q", issuer, doc.Issuer)
	}
	ju, err := url.Parse(doc.JWKSURI)
	if err != nil || ju.Scheme != "https" || ju.Host == "" {
		return nil, fmt.Errorf("discovery document of %s: jwks_uri %q is not an https URL", issuer, doc.JWKSURI)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := f.getJSON(ctx, doc.JWKSURI, &set); err != nil {
		return nil, err
	}
	var keys []jose.JSONWebKey
	for i, raw := range set.Keys {
		if i == federationMaxKeys {
			break
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if _, ok := k.Key.(*rsa.PublicKey); ok && (k.Use == "" || k.Use == "sig") {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// getJSON fetches u and decodes its body, at most federationMaxBytes, into v.
func (f *httpKeySetFetcher) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, federationMaxBytes+1))
	switch {
	case err != nil:
		return fmt.Errorf("GET %s: %w", u, err)
	case len(body) > federationMaxBytes:
		return fmt.Errorf("GET %s: the response exceeds %d bytes", u, federationMaxBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// federationKeys caches external issuers' keys by issuer. Only issuers
// named by a federated credential of the client are ever looked up, so a
// client cannot make us fetch from a URL of its choosing, and the cache
// holds at most one entry per configured issuer.
type federationKeys struct {
	fetcher keySetFetcher
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]*keySetEntry
}

// keySetEntry is one issuer's keys. Its mutex is held during a fetch, so
// concurrent requests for one issuer fetch once.
type keySetEntry struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey // never modified once stored
	fetched time.Time
}

func newFederationKeys(f keySetFetcher, now func() time.Time) *federationKeys {
	return &federationKeys{fetcher: f, now: now, entries: map[string]*keySetEntry{}}
}

// keySelector names the key a token's header asks for.
type keySelector struct {
	kid string
	x5t string
}

// specific reports whether the header names a key at all.
func (sel keySelector) specific() bool { return sel.kid != "" || sel.x5t != "" }

// pick returns the keys sel names: by kid; else by x5t, compared with a
// key's x5t or its kid (Entra's keys have kid = x5t); else every key, as
// go-oidc tries every key of a token without kid.
func (sel keySelector) pick(keys []jose.JSONWebKey) []jose.JSONWebKey {
	if !sel.specific() {
		return keys
	}
	sum, _ := decodeThumbprint(sel.x5t, 20)
	var out []jose.JSONWebKey
	for _, k := range keys {
		switch {
		case sel.kid != "" && k.KeyID == sel.kid,
			sel.kid == "" && (k.KeyID == sel.x5t || sum != nil && bytes.Equal(k.CertificateThumbprintSHA1, sum)):
			out = append(out, k)
		}
	}
	return out
}

// keys returns the issuer's keys that sel names, from the cache while it is
// fresh. A key the cached set lacks makes one refetch, unless the set was
// fetched within federationRefetchAfter: the issuer may have rotated.
func (fk *federationKeys) keys(ctx context.Context, issuer string, sel keySelector) ([]jose.JSONWebKey, error) {
	fk.mu.Lock()
	e := fk.entries[issuer]
	if e == nil {
		e = &keySetEntry{}
		fk.entries[issuer] = e
	}
	fk.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := fk.now()
	fresh := !e.fetched.IsZero() && now.Sub(e.fetched) < federationCacheTTL
	if !fresh {
		if err := e.fetch(ctx, fk.fetcher, issuer, now); err != nil {
			return nil, err
		}
	}
	picked := sel.pick(e.keys)
	if len(picked) == 0 && sel.specific() && fresh && now.Sub(e.fetched) >= federationRefetchAfter {
		if err := e.fetch(ctx, fk.fetcher, issuer, now); err != nil {
			return nil, err
		}
		picked = sel.pick(e.keys)
	}
	return picked, nil
}

// fetch replaces the entry's keys. A failed fetch keeps nothing stale: the
// next request tries again.
func (e *keySetEntry) fetch(ctx context.Context, f keySetFetcher, issuer string, now time.Time) error {
	keys, err := f.fetchKeySet(ctx, issuer)
	if err != nil {
		e.keys, e.fetched = nil, time.Time{}
		return err
	}
	e.keys, e.fetched = keys, now
	return nil
}

// verifyFederatedAssertion authenticates app with a token of an external
// identity provider (protocol.md §6.2), in this order:
//
//   - RS256 only, as Entra supports for external tokens (AADSTS5002738);
//   - sub, aud and exp present (90014);
//   - a federated credential on the application at all (70021, which
//     captures show as invalid_request), then one for the token's issuer,
//     compared exactly (700211). Nothing is fetched for an issuer the
//     application does not name;
//   - the issuer's keys from its discovery document (50166 when they
//     cannot be read), the signature (700027), the token's validity
//     window with assertionSkew and no lifetime bound, since external
//     tokens live as long as their issuer decides (700024);
//   - the subject, exactly and case-sensitively as Entra compares it since
//     2025 (700213, or 7002138 when only the letter case differs);
//   - the audience, one of the token's aud values equal to the
//     credential's, case-insensitively as App ID URIs compare (700212).
func (s *Server) verifyFederatedAssertion(ctx context.Context, a *assertion, app *tenant.Application, now time.Time) error {
	h, c := a.header, a.claims
	if h.Alg != string(jose.RS256) {
		return errorf(CodeAssertionAlgorithm,
			"Invalid JWT token. '%s' is not a supported signature algorithm for federated credentials. Supported signing algorithms are: 'RS256'", h.Alg)
	}
	switch {
	case c.Subject == "":
		return missingClaim("sub")
	case len(c.Audience) == 0:
		return missingClaim("aud")
	case c.Expiry == nil:
		return missingClaim("exp")
	}
	if len(app.FederatedIdentityCredentials) == 0 {
		return errorf(CodeFederationNoCredential,
			"No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.",
			c.Issuer, c.Subject, strings.Join(c.Audience, ","))
	}
	var candidates []tenant.FederatedIdentityCredential
	for _, f := range app.FederatedIdentityCredentials {
		if f.Issuer == c.Issuer {
			candidates = append(candidates, f)
		}
	}
	if len(candidates) == 0 {
		return ficMismatch(CodeFederationIssuer, "issuer", c.Issuer)
	}
	keys, err := s.federation.keys(ctx, c.Issuer, keySelector{kid: h.Kid, x5t: h.X5t})
	if err != nil {
		return errorf(CodeFederationFetch, "Request to External OIDC endpoint failed.").wrap(err)
	}
	if !verifiesWithAny(a, keys) {
		return errorf(CodeAssertionSignature,
			"Client assertion failed signature validation. [Reason - No key of issuer '%s' verifies the assertion (key id '%s').]", c.Issuer, h.Kid)
	}
	if err := checkAssertionTimes(c, now, 0); err != nil {
		return err
	}
	var match *tenant.FederatedIdentityCredential
	caseOnly := false
	for i, f := range candidates {
		if f.Subject == c.Subject {
			match = &candidates[i]
			break
		}
		caseOnly = caseOnly || strings.EqualFold(f.Subject, c.Subject)
	}
	switch {
	case match == nil && caseOnly:
		return ficMismatch(CodeFederationSubjectCase, "subject", c.Subject).
			wrap(errors.New("the subject matches a federated credential only when letter case is ignored"))
	case match == nil:
		return ficMismatch(CodeFederationSubject, "subject", c.Subject)
	}
	for _, want := range match.Audiences {
		for _, got := range c.Audience {
			if strings.EqualFold(want, got) {
				return nil
			}
		}
	}
	return ficMismatch(CodeFederationAudience, "audience", strings.Join(c.Audience, ","))
}

// ficMismatch is one of Entra's per-field federated credential refusals.
func ficMismatch(code int, field, value string) *Error {
	return errorf(code,
		"No matching federated identity record found for presented assertion %s '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. "+
			"https://learn.microsoft.com/entra/workload-id/workload-identity-federation", field, value)
}

// verifiesWithAny reports whether one of keys verifies the assertion.
func verifiesWithAny(a *assertion, keys []jose.JSONWebKey) bool {
	for _, k := range keys {
		if a.token.Claims(k.Key) == nil {
			return true
		}
	}
	return false
}
