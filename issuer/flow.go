package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// flowKind is what a browser flow ends in.
type flowKind int

const (
	flowAuthorize    flowKind = iota // an authorization code (or error) sent to the redirect URI
	flowAdminConsent                 // admin_consent=True (or error) sent to the redirect URI
	flowDevice                       // a device code approved (or declined), shown on a page
)

// flow is one browser's way through the sign-in and consent pages for one
// request. It is bound to the browser that started it (the hash of its
// browser cookie) and every form it renders carries its CSRF token, so a
// page of another site can neither post into it nor start one in the
// user's name.
type flow struct {
	kind flowKind
	req  authorizeRequest
	// redirect is the redirect URI as requested, after it matched one
	// registered on platform.
	redirect string
	platform tenant.Platform
	scope    delegatedScope
	client   tenant.Application

	browser string // secretHash of the browser cookie
	csrf    string

	// After sign-in: who, where and when.
	tenantID, userID string
	authTime         time.Time
	// consented is set once the user accepted the consent page, so that
	// prompt=consent does not show it again.
	consented bool
	// deviceKey is the device code (its hash) a device flow approves.
	deviceKey string
}

// session is a browser's single sign-on state: the accounts signed in on
// it, newest first. Entra keeps several accounts per browser and shows an
// account picker when more than one could answer.
type session struct {
	accounts []sessionAccount
}

type sessionAccount struct {
	TenantID, UserID string
	AuthTime         time.Time
}

// Cookies. With https the names carry the __Host- prefix, which browsers
// accept only with Secure, Path=/ and no Domain: no other host (a
// sibling subdomain) can set or shadow them (RFC 6265bis §4.1.3.2).
const (
	sessionCookieName = "issuer_session"
	browserCookieName = "issuer_browser"
)

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.cfg.BaseURL, "https://") }

func (s *Server) cookieName(base string) string {
	if s.secureCookies() {
		return "__Host-" + base
	}
	return base
}

// setCookie sets a cookie HttpOnly, Secure (over https), SameSite=Lax and
// Path=/. Lax, not Strict: the session must reach the authorization
// endpoint when another site (the client application) navigates there.
func (s *Server) setCookie(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(base), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

// cookieSecret reads one of our cookies; ok is false when it is absent or
// not of the shape we issue (newSecret's), which makes it absent.
func (s *Server) cookieSecret(r *http.Request, base string) (string, bool) {
	v := ""
	for _, ck := range r.Cookies() {
		if ck.Name == s.cookieName(base) {
			v = ck.Value
		}
	}
	return v, validSecret(v)
}

// validSecret reports whether v has the form newSecret produces.
func validSecret(v string) bool {
	if len(v) != (secretBytes*8+5)/6 {
		return false
	}
	for _, c := range v {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// browserID returns the hash of the browser cookie, setting a new cookie
// when the browser has none.
func (s *Server) browserID(w http.ResponseWriter, r *http.Request) (string, error) {
	if v, ok := s.cookieSecret(r, browserCookieName); ok {
		return secretHash(v), nil
	}
	v, err := newSecret(s.cfg.Random)
	if err != nil {
		return "", err
	}
	s.setCookie(w, browserCookieName, v, sessionLifetime)
	return secretHash(v), nil
}

// newFlow stores f for the browser and returns its id, the secret the
// pages carry in their forms.
func (s *Server) newFlow(w http.ResponseWriter, r *http.Request, now time.Time, f flow) (string, flow, error) {
	var err error
	if f.browser, err = s.browserID(w, r); err != nil {
		return "", flow{}, err
	}
	if f.csrf, err = newSecret(s.cfg.Random); err != nil {
		return "", flow{}, err
	}
	id, err := newSecret(s.cfg.Random)
	if err != nil {
		return "", flow{}, err
	}
	s.interactive.flows.put(secretHash(id), f, now, now.Add(flowLifetime))
	return id, f, nil
}

// errFlowLost answers a form post whose flow is unknown, expired, of
// another browser or without its CSRF token. Entra shows a page saying
// the sign-in session has expired; so do we, with the code of a request
// it cannot make sense of.
func errFlowLost() *Error {
	return errMalformed("The sign-in request has expired or was not started in this browser. Go back to the application and sign in again.")
}

// loadFlow finds the flow a form post names and checks that it belongs
// to this browser and that the form carries its CSRF token.
func (s *Server) loadFlow(r *http.Request, now time.Time, id, csrf string) (flow, error) {
	if !validSecret(id) {
		return flow{}, errFlowLost()
	}
	f, ok, _ := s.interactive.flows.get(secretHash(id), now)
	b, hasBrowser := s.cookieSecret(r, browserCookieName)
	if !ok || !hasBrowser || !equalSecret(f.browser, secretHash(b)) || !equalSecret(f.csrf, csrf) {
		return flow{}, errFlowLost()
	}
	return f, nil
}

// saveFlow stores the changed flow under its id.
func (s *Server) saveFlow(id string, f flow) {
	s.interactive.flows.update(secretHash(id), s.cfg.Now(), func(old *flow) { *old = f })
}

// sessionOf returns the browser's session and its key; ok is false
// without one.
func (s *Server) sessionOf(r *http.Request, now time.Time) (session, string, bool) {
	v, ok := s.cookieSecret(r, sessionCookieName)
	if !ok {
		return session{}, "", false
	}
	key := secretHash(v)
	sess, ok, _ := s.interactive.sessions.get(key, now)
	return sess, key, ok
}

// addToSession records a sign-in in the browser's session, creating the
// session (and its cookie) when there is none. The account moves to the
// front: it is the one a later request without a hint picks first.
func (s *Server) addToSession(w http.ResponseWriter, r *http.Request, now time.Time, acct sessionAccount) error {
	sess, key, ok := s.sessionOf(r, now)
	if !ok {
		v, err := newSecret(s.cfg.Random)
		if err != nil {
			return err
		}
		key = secretHash(v)
		s.setCookie(w, sessionCookieName, v, sessionLifetime)
	}
	out := []sessionAccount{acct}
	for _, a := range sess.accounts {
		if a.UserID != acct.UserID || a.TenantID != acct.TenantID {
			out = append(out, a)
		}
	}
	s.interactive.sessions.put(key, session{accounts: out}, now, now.Add(sessionLifetime))
	return nil
}

// sessionUser is an account of the session, resolved in the directory.
type sessionUser struct {
	sessionAccount
	user   tenant.User
	tenant tenant.Tenant
}

// eligibleAccounts returns the session's accounts that may answer f: of
// the flow's tenant when it names one (or the domain_hint's), any
// otherwise; accounts whose user is gone or disabled are left out.
func (s *Server) eligibleAccounts(ctx context.Context, sess session, a authority, hint *tenant.Tenant) []sessionUser {
	var out []sessionUser
	for _, acct := range sess.accounts {
		if a.kind == tenantAuthority && acct.TenantID != a.tenant.ID || hint != nil && acct.TenantID != hint.ID {
			continue
		}
		if a.kind == consumersAuthority {
			continue
		}
		t, err := s.backend.GetTenant(ctx, acct.TenantID)
		if err != nil {
			continue
		}
		u, err := s.cfg.Directory.FindUser(ctx, acct.TenantID, acct.UserID)
		if err != nil || !u.AccountEnabled {
			continue
		}
		out = append(out, sessionUser{sessionAccount: acct, user: u, tenant: t})
	}
	return out
}

// signInUser checks a user name and password typed on the sign-in page
// and returns the user's tenant and the user: at a tenant, a user of that
// tenant; at /organizations or /common, of the tenant that owns the
// name's domain (or the domain_hint's tenant). Failures are the AADSTS
// errors the password grant answers (50034, 50056, 50126); a disabled
// user is 50057.
func (s *Server) signInUser(ctx context.Context, a authority, hint *tenant.Tenant, username, password string) (tenant.Tenant, tenant.User, error) {
	var t tenant.Tenant
	var err error
	switch {
	case username == "" || password == "":
		return t, tenant.User{}, errorf(CodeInvalidCredentials, "Enter your user name and password.")
	case a.kind == tenantAuthority:
		t = a.tenant
	case a.kind == consumersAuthority:
		return t, tenant.User{}, errUserNotFound(username, "consumers")
	case hint != nil:
		t = *hint
	default:
		if t, err = s.homeTenantOf(ctx, username); err != nil {
			return t, tenant.User{}, err
		}
	}
	u, err := s.cfg.Directory.FindUser(ctx, t.ID, username)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return t, tenant.User{}, errUserNotFound(username, or(t.DisplayName, t.ID)).wrap(err)
	case err != nil:
		return t, tenant.User{}, err
	}
	if err := s.checkPassword(ctx, consent.Facts{Tenant: t, User: &u}, username, password); err != nil {
		return t, tenant.User{}, err
	}
	if !u.AccountEnabled {
		return t, tenant.User{}, errorf(CodeUserDisabled, "The user account is disabled.")
	}
	return t, u, nil
}

// domainHint resolves domain_hint to a tenant of the directory, or nil:
// Entra uses it to skip home realm discovery, and ignores a hint it
// cannot resolve.
func (s *Server) domainHint(ctx context.Context, hint string) *tenant.Tenant {
	if hint == "" || !tenant.ValidTenantSegment(hint) {
		return nil
	}
	t, err := s.cfg.Directory.ResolveTenant(ctx, hint)
	if err != nil {
		return nil
	}
	return &t
}

// judgeFlow resolves what a signed-in flow asks for (its client, the
// resource and the user in tenant t) in one view of the store, as the
// token endpoint will. A client that cannot be used in t (unknown,
// single-tenant of another tenant, disabled) is the token endpoint's
// AADSTS700016 or 7000112; a missing service principal of an application
// that may be instantiated in t is not an error: consent provisions it.
func (s *Server) judgeFlow(ctx context.Context, f flow, t tenant.Tenant, userID string) (consent.Request, consent.Facts, error) {
	creq := delegatedConsent(consent.FlowInteractive, t.ID, userID, f.scope)
	creq.ClientAppID = f.req.ClientID
	facts, err := s.resolve(ctx, creq)
	if err != nil {
		return creq, facts, err
	}
	if d := consent.CheckClient(creq, facts); d != nil {
		if facts.ClientApp != nil && facts.ClientSP == nil && (facts.ClientApp.IsMultiTenant() || facts.ClientApp.HomeTenantID == t.ID) {
			return creq, facts, nil
		}
		return creq, facts, DenialError(d)
	}
	return creq, facts, nil
}

// redirectTarget appends params to the redirect URI in the response
// mode's place: the query (keeping the URI's own query) or the fragment.
func redirectTarget(redirect, mode string, params url.Values) string {
	enc := params.Encode()
	if mode == modeFragment {
		return redirect + "#" + enc
	}
	if strings.Contains(redirect, "?") {
		return redirect + "&" + enc
	}
	return redirect + "?" + enc
}

// errorParams are the parameters of an error redirected to the client:
// error, error_description (with the trace and correlation ids and the
// timestamp, as Entra writes them), error_uri and state.
func (c *call) errorParams(e *Error, state string) url.Values {
	v := url.Values{}
	v.Set("error", e.OAuthError())
	v.Set("error_description", e.Error()+"\r\nTrace ID: "+c.traceID+"\r\nCorrelation ID: "+c.correlationID()+
		"\r\nTimestamp: "+c.now.Format(timestampLayout))
	v.Set("error_uri", errorURIBase+strconv.Itoa(e.Code))
	if state != "" {
		v.Set("state", state)
	}
	return v
}

// asError turns any error into the *Error it is answered with.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return serverError(err)
}
