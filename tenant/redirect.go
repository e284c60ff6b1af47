package tenant

import (
	"fmt"
	"net/url"
	"strings"
)

// Platform is where a redirect URI is registered (Graph: the web, spa and
// publicClient properties of an application). It decides how the code sent
// there is redeemed: a web redirect is a confidential client's, which
// authenticates; spa and publicClient redirects belong to public clients.
type Platform string

// Platforms of a redirect URI.
const (
	PlatformWeb          Platform = "web"
	PlatformSPA          Platform = "spa"
	PlatformPublicClient Platform = "publicClient"
)

// RedirectURIs holds the redirect URIs of one platform (Graph:
// webApplication, spaApplication, publicClientApplication).
type RedirectURIs struct {
	RedirectURIs []string `json:"redirectUris"`
}

// maxRedirectURIs and maxRedirectURILength are Entra's limits: 256
// redirect URIs per application and 256 characters per URI (Microsoft
// identity platform, "Redirect URI (reply URL) restrictions").
const (
	maxRedirectURIs      = 256
	maxRedirectURILength = 256
)

// ValidateRedirectURI checks u the way Entra's app registration does for
// platform p ("Redirect URI (reply URL) restrictions"): an absolute URI of
// at most 256 characters with no fragment and no wildcard. Web and SPA
// redirect URIs must be https, except on a loopback host (localhost or
// 127.0.0.1), where http is allowed because the redirect never leaves the
// machine (RFC 8252 §7.3). Public client (mobile and desktop) redirect URIs
// may also use a custom scheme (msal{appId}://auth) or be
// urn:ietf:wg:oauth:2.0:oob.
func ValidateRedirectURI(p Platform, u string) error {
	v, err := url.Parse(u)
	switch {
	case err != nil || !v.IsAbs():
		return fmt.Errorf("%w: redirect URI %q is not an absolute URI", ErrInvalid, u)
	case len(u) > maxRedirectURILength:
		return fmt.Errorf("%w: redirect URI %q is longer than %d characters", ErrInvalid, u, maxRedirectURILength)
	case strings.ContainsAny(u, "*# \t"), v.Fragment != "":
		return fmt.Errorf("%w: redirect URI %q may contain no wildcard, fragment or space", ErrInvalid, u)
	case v.User != nil:
		return fmt.Errorf("%w: redirect URI %q may contain no user information", ErrInvalid, u)
	}
	scheme := strings.ToLower(v.Scheme)
	switch p {
	case PlatformWeb, PlatformSPA:
		if scheme == "https" && v.Host != "" || scheme == "http" && isLoopbackHost(v.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: %s redirect URI %q must be https, or http on localhost or 127.0.0.1", ErrInvalid, p, u)
	case PlatformPublicClient:
		if (scheme == "https" || scheme == "http") && v.Host == "" {
			return fmt.Errorf("%w: redirect URI %q has no host", ErrInvalid, u)
		}
		if scheme == "http" && !isLoopbackHost(v.Hostname()) {
			return fmt.Errorf("%w: public client redirect URI %q must be https, http on localhost or 127.0.0.1, or a custom scheme", ErrInvalid, u)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown platform %q (want web, spa or publicClient)", ErrInvalid, p)
}

// isLoopbackHost reports whether host is one of the loopback names Entra
// treats specially. Entra does not support the IPv6 loopback [::1] in
// redirect URIs, so neither do we.
func isLoopbackHost(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1"
}

// setRedirectURIs validates uris for platform p and returns them without
// duplicates (compared as MatchRedirectURI compares them).
func setRedirectURIs(p Platform, uris []string) ([]string, error) {
	out := []string{}
	for _, u := range uris {
		u = strings.TrimSpace(u)
		if err := ValidateRedirectURI(p, u); err != nil {
			return nil, err
		}
		dup := false
		for _, have := range out {
			if redirectURIEqual(have, u) {
				dup = true
			}
		}
		if !dup {
			out = append(out, u)
		}
	}
	if len(out) > maxRedirectURIs {
		return nil, fmt.Errorf("%w: at most %d redirect URIs per platform", ErrInvalid, maxRedirectURIs)
	}
	return out, nil
}

// MatchRedirectURI finds the registered redirect URI that requested
// matches and the platform it is registered on. Entra's rules ("Redirect
// URI (reply URL) restrictions"): the match is exact, except that the
// scheme and host compare without case (they are case-insensitive in URIs)
// and, for http on localhost or 127.0.0.1, the port is ignored (RFC 8252
// §7.3: native apps listen on an ephemeral port). Query strings must match
// as registered. Web is searched first, then SPA, then public client:
// Entra says a URI registered on two platforms takes one of them
// arbitrarily; ours is deterministic.
func (a Application) MatchRedirectURI(requested string) (string, Platform, bool) {
	for _, pl := range []struct {
		p    Platform
		uris []string
	}{{PlatformWeb, a.Web.RedirectURIs}, {PlatformSPA, a.SPA.RedirectURIs}, {PlatformPublicClient, a.PublicClient.RedirectURIs}} {
		for _, u := range pl.uris {
			if redirectURIEqual(u, requested) {
				return u, pl.p, true
			}
		}
	}
	return "", "", false
}

// HasRedirectURIs reports whether any redirect URI is registered.
func (a Application) HasRedirectURIs() bool {
	return len(a.Web.RedirectURIs)+len(a.SPA.RedirectURIs)+len(a.PublicClient.RedirectURIs) > 0
}

// redirectURIEqual compares a registered URI with a requested one by
// MatchRedirectURI's rules.
func redirectURIEqual(registered, requested string) bool {
	if registered == requested {
		return true
	}
	r, err1 := url.Parse(registered)
	q, err2 := url.Parse(requested)
	if err1 != nil || err2 != nil || !strings.EqualFold(r.Scheme, q.Scheme) || !strings.EqualFold(r.Hostname(), q.Hostname()) {
		return false
	}
	if r.Opaque != q.Opaque || pathOf(r) != pathOf(q) || r.RawQuery != q.RawQuery || r.Fragment != q.Fragment || q.User != nil {
		return false
	}
	if strings.EqualFold(r.Scheme, "http") && isLoopbackHost(r.Hostname()) {
		return true // any port
	}
	return r.Port() == q.Port()
}

// pathOf is u's escaped path, "/" for an empty one: http://localhost and
// http://localhost/ name the same resource (RFC 3986 §6.2.3).
func pathOf(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}
