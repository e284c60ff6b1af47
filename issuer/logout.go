package issuer

import (
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"
)

// handleLogout serves the end-session endpoint (/{tenant}/oauth2/v2.0/logout
// and v1's /{tenant}/oauth2/logout): it ends the browser's session and its
// cookie. post_logout_redirect_uri is followed only when client_id names an
// application that registered it as a redirect URI; anything else shows
// the signed-out page, so the endpoint can never be an open redirect.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	c := s.begin(r)
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		form, err := readPageForm(w, r)
		if err != nil {
			s.errorPage(w, c, err)
			return
		}
		for k, vs := range form {
			q[k] = append(q[k], vs...)
		}
	}
	if v, ok := s.cookieSecret(r, sessionCookieName); ok {
		s.interactive.sessions.remove(secretHash(v))
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(sessionCookieName), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	target, clientID := q.Get("post_logout_redirect_uri"), q.Get("client_id")
	if target != "" && clientID != "" && len(q["post_logout_redirect_uri"]) == 1 {
		if app, err := s.application(r.Context(), clientID); err == nil {
			if _, _, ok := app.MatchRedirectURI(target); ok {
				params := url.Values{}
				if st := q.Get("state"); st != "" && len(st) <= maxStateLength {
					params.Set("state", st)
				}
				loc := target
				if len(params) > 0 {
					loc = redirectTarget(target, modeQuery, params)
				}
				w.Header().Set("Location", loc)
				w.Header().Set("Cache-Control", "no-store, no-cache")
				w.WriteHeader(http.StatusFound)
				return
			}
		}
	}
	s.renderPage(w, c, http.StatusOK, "message", pageData{Title: "You signed out",
		Message: "You signed out of your account. It's a good idea to close all browser windows."})
}
