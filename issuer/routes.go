package issuer

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// routes lists every endpoint. Tenant routes all begin with /:tenant/
// because httprouter cannot mix a parameter and static segments at one level;
// /common/... goes through the same routes. /healthz, which is not Entra's,
// sits on an outer ServeMux.
func (s *Server) routes() http.Handler {
	r := httprouter.New()
	r.POST("/:tenant/oauth2/v2.0/token", s.fairly(s.handleToken(2)))
	r.POST("/:tenant/oauth2/token", s.fairly(s.handleToken(1)))
	r.GET("/:tenant/v2.0/.well-known/openid-configuration", s.handleDiscovery(2))
	r.GET("/:tenant/.well-known/openid-configuration", s.handleDiscovery(1))
	r.GET("/:tenant/discovery/v2.0/keys", s.handleKeys(2))
	r.GET("/:tenant/discovery/keys", s.handleKeys(1))
	r.GET("/:tenant/discovery/instance", s.handleInstance)
	r.GET("/:tenant/UserRealm/:upn", s.handleUserRealm)
	r.GET("/:tenant/userrealm/:upn", s.handleUserRealm)

	// Interactive flows (authorize.go, consentpage.go, adminconsent.go,
	// devicecode.go). The pages post to /{tenant}/login.
	for _, v := range []struct {
		prefix   string
		endpoint int
	}{{"/oauth2/v2.0", 2}, {"/oauth2", 1}} {
		r.GET("/:tenant"+v.prefix+"/authorize", s.handleAuthorize(v.endpoint))
		r.POST("/:tenant"+v.prefix+"/authorize", s.handleAuthorize(v.endpoint))
		r.POST("/:tenant"+v.prefix+"/devicecode", s.fairly(s.handleDeviceCode(v.endpoint)))
		r.GET("/:tenant"+v.prefix+"/logout", s.handleLogout)
		r.POST("/:tenant"+v.prefix+"/logout", s.handleLogout)
	}
	r.POST("/:tenant/login", s.handleLogin)
	r.GET("/:tenant/v2.0/adminconsent", s.handleAdminConsent)
	r.GET("/:tenant/adminconsent", s.handleAdminConsent)

	// Entra's paths are exact: no redirects to a "fixed" path, which would
	// turn a POST into a 307 clients do not expect.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.MethodNotAllowed = http.HandlerFunc(s.handleMethodNotAllowed)
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = http.HandlerFunc(handlePreflight)
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeNotFound(w, r, http.StatusNotFound)
	})
	r.PanicHandler = s.handlePanic

	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /devicelogin", s.handleDeviceLogin)
	mux.HandleFunc("POST /devicelogin", s.handlePostDeviceLogin)
	mux.Handle("/", r)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !canonicalPath(r.URL.Path) {
			// http.ServeMux would answer a 307 to the cleaned path, so that
			// /common/../{tenant}/oauth2/v2.0/token, POST body and client
			// secret included, would be resent to another tenant's
			// endpoint. Entra's paths are exact: refuse instead.
			s.writeNotFound(w, r, http.StatusNotFound)
			markDone(r)
			return
		}
		if s.cfg.Sync != nil && r.URL.Path != "/healthz" {
			if err := s.cfg.Sync(r.Context()); err != nil {
				s.writeError(w, s.begin(r), surfaceOf(r.URL.Path), errorf(CodeDirectoryUnavailable,
					"The directory is not available at the moment; retry later.").wrap(err))
				markDone(r)
				return
			}
		}
		mux.ServeHTTP(w, r)
		markDone(r) // the connection's place in line for its next request
	})
}

// canonicalPath reports whether p is a path in clean form: absolute, with
// no empty, "." or ".." segment (a trailing slash is left to the router).
// The {tenant} segment is checked after decoding, so "%2e%2e" arrives here as
// "..", and "%2F" inside a segment splits it like "/".
func canonicalPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	segments := strings.Split(p[1:], "/")
	for i, seg := range segments {
		switch {
		case seg == "." || seg == "..":
			return false
		case seg == "" && i != len(segments)-1:
			return false
		}
	}
	return true
}

// surfaceOf says which family of endpoint a path belongs to, for an error
// written before the router picked a handler: the token endpoint's shape,
// or discovery's.
func surfaceOf(path string) surface {
	if strings.HasSuffix(path, "/token") {
		return tokenSurface
	}
	return metadataSurface
}

// handleMethodNotAllowed answers a known path called with the wrong method.
// On the token endpoint Entra says AADSTS900561 (protocol.md §1.1); other
// endpoints get a JSON 405.
func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(w.Header().Get("Allow"), http.MethodPost) {
		s.writeNotFound(w, r, http.StatusMethodNotAllowed)
		return
	}
	c := s.begin(r)
	s.writeError(w, c, tokenSurface, errorf(CodeTokenEndpointMethod,
		"The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
}

// handlePreflight answers CORS preflights. Entra allows cross-origin calls
// to its metadata and token endpoints (browser apps use them); httprouter
// has set Allow to the path's methods.
func handlePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", h.Get("Allow"))
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusOK)
}

// handlePanic turns a panic into AADSTS50000 with the panic value logged
// under the trace ID and not sent.
func (s *Server) handlePanic(w http.ResponseWriter, r *http.Request, v any) {
	c := s.begin(r)
	s.writeError(w, c, tokenSurface, serverError(fmt.Errorf("panic: %v", v)))
}
