package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// maxFormBytes bounds the forms the pages post and the authorization
// request sent as a form.
const maxFormBytes = 64 << 10

// authCode is what an authorization code stands for: who signed in to
// which client, through which redirect URI, for what, and the PKCE
// challenge the redemption must answer. It is stored under the code's
// hash and redeemed once.
type authCode struct {
	clientID, redirect string
	platform           tenant.Platform
	tenantID, userID   string
	scopes             []string // v2 scope as requested
	resource           string   // v1 resource as requested
	nonce              string
	challenge, method  string
	redeemed           bool
}

// interactiveState is the server's memory of the interactive flows (see
// flowstate.go).
type interactiveState struct {
	flows     *expiring[flow]
	sessions  *expiring[session]
	codes     *expiring[authCode]
	devices   *expiring[deviceAuth]
	userCodes *expiring[string] // user code → device code hash
}

func newInteractiveState() interactiveState {
	return interactiveState{flows: newExpiring[flow](), sessions: newExpiring[session](), codes: newExpiring[authCode](),
		devices: newExpiring[deviceAuth](), userCodes: newExpiring[string]()}
}

// readAuthorizeParams returns the parameters of an authorization request:
// the query, and for a POST (Entra accepts the request as a form too) the
// form, which must not repeat a query parameter.
func readAuthorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	q := r.URL.Query()
	if r.Method != http.MethodPost {
		return q, nil
	}
	form, err := readPageForm(w, r)
	if err != nil {
		return nil, err
	}
	for k, vs := range form {
		q[k] = append(q[k], vs...)
	}
	return q, nil
}

// readPageForm reads an application/x-www-form-urlencoded body of at most
// maxFormBytes, by the token endpoint's rules (parseForm).
func readPageForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, errMalformed("The request body could not be read.").wrap(err)
	}
	return parseForm(string(body))
}

// handleAuthorize serves the authorization endpoint, v2
// (/{tenant}/oauth2/v2.0/authorize) and v1 (/{tenant}/oauth2/authorize),
// GET and POST.
func (s *Server) handleAuthorize(endpoint int) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		c := s.begin(r)
		c.tenant, c.flow = ps.ByName("tenant"), "authorization_code"
		q, err := readAuthorizeParams(w, r)
		if err != nil {
			s.errorPage(w, c, err)
			return
		}
		req, err := parseAuthorizeRequest(q, endpoint, c.tenant)
		if err != nil {
			s.errorPage(w, c, err)
			return
		}
		s.startFlow(w, r, c, flowAuthorize, req)
	}
}

// startFlow checks an authorization (or admin consent) request in
// Entra's order and starts its browser flow:
//
//   - the tenant (AADSTS90002, 900023), the client (900144, 700016) and
//     the redirect URI (50011 when it is not registered, 500113 when the
//     application has none) are shown on an error page: with no trusted
//     redirect URI there is nowhere safe to send them;
//   - the rest is redirected to the client: response_type, response_mode,
//     prompt, PKCE, scope (70011, 28000), a single-tenant application at
//     /common or /organizations (50194), an SPA without PKCE (9002325).
func (s *Server) startFlow(w http.ResponseWriter, r *http.Request, c *call, kind flowKind, req *authorizeRequest) {
	ctx := r.Context()
	c.client = req.ClientID
	s.unalias(&req.Resource, req.Scopes)
	a, err := s.resolveAuthority(ctx, req.Tenant)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	if a.kind == tenantAuthority {
		c.tenantID = a.tenant.ID
	}
	if req.ClientID == "" {
		s.errorPage(w, c, errMissing("client_id"))
		return
	}
	app, err := s.application(ctx, req.ClientID)
	if err != nil {
		if a.kind == tenantAuthority && errors.Is(err, tenant.ErrNotFound) {
			err = DenialError(&consent.Denial{Reason: consent.ReasonClientNotFound, Detail: "no application has appId " + req.ClientID,
				TenantID: a.tenant.ID, TenantName: a.tenant.DisplayName, ClientAppID: req.ClientID})
		}
		s.errorPage(w, c, err)
		return
	}
	if a.kind == tenantAuthority && app.HomeTenantID != a.tenant.ID && !app.IsMultiTenant() {
		s.errorPage(w, c, DenialError(&consent.Denial{Reason: consent.ReasonClientNotFound,
			Detail:   "application " + app.AppID + " is single-tenant, homed in tenant " + app.HomeTenantID,
			TenantID: a.tenant.ID, TenantName: a.tenant.DisplayName, ClientAppID: app.AppID, ClientName: app.DisplayName}))
		return
	}
	f := flow{kind: kind, req: *req, client: app}
	if f.redirect, f.platform, err = redirectFor(app, req.RedirectURI); err != nil {
		s.errorPage(w, c, err)
		return
	}
	if err := s.checkFlowRequest(a, &f); err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	id, f, err := s.newFlow(w, r, c.now, f)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	s.chooseAccount(w, r, c, id, f, a)
}

// application finds a client by appId anywhere in the directory:
// AADSTS700016 when there is none (the authority may name no tenant).
func (s *Server) application(ctx context.Context, appID string) (tenant.Application, error) {
	notFound := errorf(CodeApplicationNotFound, "Application with identifier '%s' was not found in the directory. "+
		"This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
		"You may have sent your authentication request to the wrong tenant.", appID)
	if !tenant.IsGUID(appID) {
		return tenant.Application{}, notFound
	}
	app, err := s.backend.GetApplication(ctx, strings.ToLower(appID))
	if errors.Is(err, tenant.ErrNotFound) {
		return tenant.Application{}, notFound.wrap(err)
	}
	return app, err
}

// redirectFor checks the requested redirect URI against the client's
// registered ones (tenant.Application.MatchRedirectURI). Without one,
// Entra uses the application's registered URI; we do so when there is
// exactly one, as a choice among several would be arbitrary.
func redirectFor(app tenant.Application, requested string) (string, tenant.Platform, error) {
	if requested == "" {
		all := append(append(append([]string{}, app.Web.RedirectURIs...), app.SPA.RedirectURIs...), app.PublicClient.RedirectURIs...)
		switch len(all) {
		case 0:
			return "", "", errorf(CodeNoRedirectURI, "No reply address is registered for the application.")
		case 1:
			requested = all[0]
		default:
			return "", "", errMissing("redirect_uri")
		}
	}
	_, platform, ok := app.MatchRedirectURI(requested)
	if !ok {
		return "", "", errorf(CodeRedirectMismatch,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. "+
				"Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. "+
				"Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", clip(requested, maxSignInField), app.AppID)
	}
	return requested, platform, nil
}

// checkFlowRequest applies the rules that are redirected to the client
// once its redirect URI is trusted.
func (s *Server) checkFlowRequest(a authority, f *flow) error {
	req := &f.req
	if f.kind == flowAuthorize {
		if err := req.checkShape(); err != nil {
			return err
		}
		if f.platform == tenant.PlatformSPA && req.CodeChallenge == "" {
			return errorf(CodePKCERequired, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		}
	} else {
		req.ResponseMode = modeQuery
	}
	if a.multiTenant() && !f.client.IsMultiTenant() {
		return errorf(CodeNotMultiTenant, "Application '%s'(%s) is not configured as a multi-tenant application. "+
			"Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. "+
			"Use a tenant-specific endpoint or configure the application to be multi-tenant.", f.client.AppID, f.client.DisplayName)
	}
	var err error
	f.scope, err = authorizeScope(req, f.kind)
	return err
}

// authorizeScope reads what the request asks for, by the token endpoint's
// rules: v2 scope (parseDelegatedScopes), v1 resource (everything granted
// on it). The admin consent endpoint consents to the client's static
// permissions whatever its scope says ("{resource}/.default").
func authorizeScope(req *authorizeRequest, kind flowKind) (delegatedScope, error) {
	switch {
	case kind == flowAdminConsent:
		return delegatedScope{Default: true}, nil
	case req.Endpoint == 1:
		return v1DelegatedScope(req.Resource, req.Scopes), nil
	}
	return parseDelegatedScopes(req.Scopes)
}

// chooseAccount decides who answers the request: an account of the
// browser's session (single sign-on), the account picker, or the sign-in
// page, following prompt and login_hint as Entra does. prompt=none never
// shows a page: without exactly one usable account it is login_required
// (AADSTS50058).
func (s *Server) chooseAccount(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, a authority) {
	accounts := s.candidates(r, c.now, f, a)
	switch {
	case f.req.Prompt == "none" && len(accounts) == 1:
		s.signedIn(w, r, c, id, f, accounts[0].TenantID, accounts[0].UserID, accounts[0].AuthTime)
	case f.req.Prompt == "none" && len(accounts) == 0:
		s.redirectError(w, c, &f, errorf(CodeLoginRequired, "A silent sign-in request was sent but no user is signed in."))
	case f.req.Prompt == "none":
		e := errorf(CodeLoginRequired, "A silent sign-in request was sent but several users are signed in; send a login_hint.")
		e.oauth = "interaction_required"
		s.redirectError(w, c, &f, e)
	case f.req.Prompt == "login" || len(accounts) == 0:
		s.showSignIn(w, c, id, f, a, "")
	case f.req.Prompt == "select_account" || len(accounts) > 1:
		s.showPicker(w, c, id, f, accounts)
	default:
		s.signedIn(w, r, c, id, f, accounts[0].TenantID, accounts[0].UserID, accounts[0].AuthTime)
	}
}

// candidates are the session's accounts that may answer the flow: those
// of its tenant (or domain_hint's), and of login_hint's user when it
// names one. The picker lists them in this order.
func (s *Server) candidates(r *http.Request, now time.Time, f flow, a authority) []sessionUser {
	ctx := r.Context()
	sess, _, _ := s.sessionOf(r, now)
	accounts := s.eligibleAccounts(ctx, sess, a, s.domainHint(ctx, f.req.DomainHint))
	if f.req.LoginHint == "" {
		return accounts
	}
	var match []sessionUser
	for _, acct := range accounts {
		if strings.EqualFold(acct.user.UserPrincipalName, f.req.LoginHint) {
			match = append(match, acct)
		}
	}
	return match
}

// formAction is where the pages of a flow post.
func (s *Server) formAction(f flow) template.URL {
	return template.URL("/" + url.PathEscape(f.req.Tenant) + "/login")
}

func (s *Server) showSignIn(w http.ResponseWriter, c *call, id string, f flow, a authority, message string) {
	d := pageData{Title: "Sign in", Action: s.formAction(f), Flow: id, CSRF: f.csrf, ClientName: f.client.DisplayName,
		LoginHint: f.req.LoginHint, Message: message}
	if a.kind == tenantAuthority {
		d.TenantName = a.tenant.DisplayName
	}
	s.renderPage(w, c, http.StatusOK, "signin", d)
}

func (s *Server) showPicker(w http.ResponseWriter, c *call, id string, f flow, accounts []sessionUser) {
	d := pageData{Title: "Pick an account", Action: s.formAction(f), Flow: id, CSRF: f.csrf, ClientName: f.client.DisplayName}
	for _, acct := range accounts {
		d.Accounts = append(d.Accounts, accountChoice{Name: acct.user.DisplayName, UPN: acct.user.UserPrincipalName, Tenant: acct.tenant.DisplayName})
	}
	s.renderPage(w, c, http.StatusOK, "picker", d)
}

// handleLogin serves POST /{tenant}/login, where every page of a flow
// posts: step says which (signin, pick, consent, approval, device).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	c := s.begin(r)
	c.tenant = ps.ByName("tenant")
	form, err := readPageForm(w, r)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	for _, name := range []string{"flow", "csrf", "step", "username", "password", "account", "decision", "org", "otc"} {
		if len(form[name]) > 1 {
			s.errorPage(w, c, errMalformed("The form contains the field '%s' more than once.", name))
			return
		}
	}
	id := form.Get("flow")
	f, err := s.loadFlow(r, c.now, id, form.Get("csrf"))
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	c.client, c.flow = f.req.ClientID, flowName(f.kind)
	a, err := s.resolveAuthority(r.Context(), f.req.Tenant)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	switch form.Get("step") {
	case "signin":
		s.postSignIn(w, r, c, id, f, a, form.Get("username"), form.Get("password"))
	case "pick":
		s.postPick(w, r, c, id, f, a, form.Get("account"))
	case "consent":
		s.postConsent(w, r, c, id, f, form.Get("decision"), form.Get("org") == "1")
	case "approval":
		if form.Get("decision") == "other" {
			s.showSignIn(w, c, id, f, a, "")
			return
		}
		s.declined(w, r, c, id, f)
	default:
		s.errorPage(w, c, errMalformed("The form names no known step."))
	}
}

// flowName is the sign-in log's flow of a browser flow.
func flowName(k flowKind) string {
	switch k {
	case flowAdminConsent:
		return "admin_consent"
	case flowDevice:
		return "device_code"
	}
	return "authorization_code"
}

// postSignIn checks the credentials typed on the sign-in page. A refusal
// shows the page again with the error (Entra's page says the password is
// incorrect, and so on) and is recorded in the sign-in log.
func (s *Server) postSignIn(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, a authority, username, password string) {
	c.user = username
	t, u, err := s.signInUser(r.Context(), a, s.domainHint(r.Context(), f.req.DomainHint), strings.TrimSpace(username), password)
	if err != nil {
		e := asError(err)
		if e.Code == CodeServerError {
			s.errorPage(w, c, err)
			return
		}
		c.tenantID = t.ID
		s.log(c, e)
		s.recordSignIn(c, e)
		f.req.LoginHint = strings.TrimSpace(username)
		s.showSignIn(w, c, id, f, a, "AADSTS"+strconv.Itoa(e.Code)+": "+e.Message)
		return
	}
	if err := s.addToSession(w, r, c.now, sessionAccount{TenantID: t.ID, UserID: u.ID, AuthTime: c.now}); err != nil {
		s.errorPage(w, c, err)
		return
	}
	s.signedIn(w, r, c, id, f, t.ID, u.ID, c.now)
}

// postPick continues with the account chosen on the picker.
func (s *Server) postPick(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, a authority, choice string) {
	accounts := s.candidates(r, c.now, f, a)
	i, err := strconv.Atoi(choice)
	if err != nil || i < 0 || i >= len(accounts) {
		s.showSignIn(w, c, id, f, a, "")
		return
	}
	s.signedIn(w, r, c, id, f, accounts[i].TenantID, accounts[i].UserID, accounts[i].AuthTime)
}

// signedIn continues a flow once the user is known: records who signed
// in, then consent (or the admin consent page, or the device's approval).
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, tenantID, userID string, authTime time.Time) {
	f.tenantID, f.userID, f.authTime = tenantID, userID, authTime
	s.saveFlow(id, f)
	s.proceed(w, r, c, id, f)
}

// signedInUser loads the flow's user and tenant.
func (s *Server) signedInUser(ctx context.Context, f flow) (tenant.Tenant, tenant.User, error) {
	t, err := s.backend.GetTenant(ctx, f.tenantID)
	if err != nil {
		return t, tenant.User{}, err
	}
	u, err := s.cfg.Directory.FindUser(ctx, t.ID, f.userID)
	if err != nil {
		return t, u, errUserNotFound(f.userID, t.DisplayName).wrap(err)
	}
	return t, u, nil
}

// proceed decides what a signed-in flow needs next: the consent page
// when the permissions asked for are not all granted (or prompt=consent),
// else its result.
func (s *Server) proceed(w http.ResponseWriter, r *http.Request, c *call, id string, f flow) {
	ctx := r.Context()
	t, u, err := s.signedInUser(ctx, f)
	if err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	c.tenantID, c.user = t.ID, u.UserPrincipalName
	if f.kind == flowAdminConsent {
		s.adminConsentPrompt(w, r, c, id, f, t, u)
		return
	}
	need, err := s.needsConsent(ctx, f, t, u)
	if err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	if need {
		if f.req.Prompt == "none" {
			e := errorf(CodeConsentRequired, "The user or administrator has not consented to use the application with ID '%s' named '%s'. "+
				"Send an interactive authorization request for this user and resource.", f.client.AppID, f.client.DisplayName)
			e.oauth = "consent_required"
			s.redirectError(w, c, &f, e)
			return
		}
		s.consentPrompt(w, c, id, f, t, u, "")
		return
	}
	s.complete(w, r, c, id, f, t, u)
}

// needsConsent reports whether the request's permissions are missing for
// the user, by asking the policy engine the question the token endpoint
// will ask. A refusal other than missing consent (an unknown scope, a
// disabled user, an unassigned user, …) is the error the client gets.
func (s *Server) needsConsent(ctx context.Context, f flow, t tenant.Tenant, u tenant.User) (bool, error) {
	creq, facts, err := s.judgeFlow(ctx, f, t, u.ID)
	if err != nil {
		return false, err
	}
	if facts.ClientSP == nil {
		return true, nil // consent provisions the client in this tenant
	}
	if f.scope.Resource == "" {
		// A v1 sign-in without resource needs no consent to an API; the
		// token endpoint answers for the resource the redemption names.
		// (A v2 sign-in naming only OpenID Connect scopes is a Graph
		// sign-in, consented like any other.)
		return !f.consented && f.req.Prompt == "consent", nil
	}
	_, err = consent.Decide(creq, facts)
	var d *consent.Denial
	switch {
	case err == nil:
		return !f.consented && f.req.Prompt == "consent", nil
	case errors.As(err, &d) && d.Reason == consent.ReasonConsentRequired:
		return true, nil
	case errors.As(err, &d) && d.Reason == consent.ReasonResourceNotFound:
		// Consent provisions a resource the tenant does not have yet, when
		// it may be instantiated there.
		if res, rerr := s.cfg.Directory.ResolveResourceApplication(ctx, *facts.ClientApp, f.scope.Resource); rerr == nil &&
			(res.HomeTenantID == t.ID || res.IsMultiTenant()) {
			return true, nil
		}
		return false, DenialError(d)
	case errors.As(err, &d):
		return false, DenialError(d)
	}
	return false, err
}

// complete ends a flow that needs nothing more from the user: an
// authorization code to the redirect URI, or the device approved.
func (s *Server) complete(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, t tenant.Tenant, u tenant.User) {
	s.interactive.flows.remove(secretHash(id))
	if f.kind == flowDevice {
		s.approveDevice(w, c, f, t, u)
		return
	}
	code, err := newSecret(s.cfg.Random)
	if err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	s.interactive.codes.put(secretHash(code), authCode{
		clientID: f.client.AppID, redirect: f.redirect, platform: f.platform, tenantID: t.ID, userID: u.ID,
		scopes: f.req.Scopes, resource: f.req.Resource, nonce: f.req.Nonce,
		challenge: f.req.CodeChallenge, method: f.req.CodeChallengeMethod,
	}, c.now, c.now.Add(authCodeLifetime))
	params := url.Values{}
	params.Set("code", code)
	if f.req.ResponseType == "code id_token" {
		// The user's groups and roles, when the client asks for groups or
		// has roles a user may hold, are read as the token endpoint reads
		// them (consent.Facts.IDGroups, consent.IDTokenRoles).
		var groups, roles []string
		if f.client.GroupMembershipClaims != "" || f.client.OffersRoles(tenant.MemberTypeUser) {
			_, facts, err := s.judgeFlow(r.Context(), f, t, u.ID)
			if err != nil {
				s.redirectError(w, c, &f, err)
				return
			}
			groups, roles = facts.IDGroups, consent.IDTokenRoles(facts)
		}
		sum := sha256.Sum256([]byte(code))
		idt, err := s.signIDToken(f.req.Endpoint, idToken{
			TenantID: t.ID, ClientAppID: f.client.AppID, User: u, Issued: c.now,
			Lifetime: policyLifetime(&f.client, s.cfg.TokenLifetime), ID: s.cfg.NewID(),
			Nonce: f.req.Nonce, CHash: base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]),
			Groups: groups, Roles: roles, GroupsAsRoles: groupsAsRoles(&f.client, tenant.TokenTypeID), FrontChannel: true,
		})
		if err != nil {
			s.redirectError(w, c, &f, err)
			return
		}
		params.Set("id_token", idt)
	}
	if f.req.State != "" {
		params.Set("state", f.req.State)
	}
	// session_state identifies the browser session to OpenID Connect
	// session management; Entra sends it with every code.
	params.Set("session_state", s.cfg.NewID())
	s.cfg.Logger.InfoContext(r.Context(), "authorization code issued", "trace_id", c.traceID, "tenant", t.ID, "client_id", f.client.AppID)
	s.recordSignIn(c, nil)
	s.respondToClient(w, c, f, params)
}

// respondToClient sends params to the flow's redirect URI in its response
// mode: a 302 with them in the query or the fragment, or a page that
// posts them (form_post).
func (s *Server) respondToClient(w http.ResponseWriter, c *call, f flow, params url.Values) {
	if f.req.ResponseMode == modeFormPost {
		d := pageData{Title: "Signing in", Action: template.URL(f.redirect)}
		for _, k := range sortedKeys(params) {
			d.Fields = append(d.Fields, formField{Name: k, Value: params.Get(k)})
		}
		s.renderPage(w, c, http.StatusOK, "formpost", d)
		return
	}
	h := w.Header()
	h.Set("Location", redirectTarget(f.redirect, f.req.ResponseMode, params))
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("x-ms-request-id", c.traceID)
	w.WriteHeader(http.StatusFound)
}

// redirectError sends err to the flow's (validated) redirect URI, or shows
// it when the flow ends on a page (device code). It is logged and
// recorded in the sign-in log.
func (s *Server) redirectError(w http.ResponseWriter, c *call, f *flow, err error) {
	e := asError(err)
	if f.kind == flowDevice || e.Code == CodeServerError {
		s.errorPage(w, c, e)
		return
	}
	s.log(c, e)
	s.recordSignIn(c, e)
	params := c.errorParams(e, f.req.State)
	if f.kind == flowAdminConsent {
		params.Set("admin_consent", "False")
	}
	s.respondToClient(w, c, *f, params)
}

// declined answers Cancel: Entra redirects error=access_denied with
// AADSTS65004 (error_subcode=cancel); the admin consent endpoint says
// permission_denied; a device flow is marked declined.
func (s *Server) declined(w http.ResponseWriter, r *http.Request, c *call, id string, f flow) {
	s.interactive.flows.remove(secretHash(id))
	e := errorf(CodeUserDeclinedConsent, "User declined to consent to access the app.")
	if f.kind == flowDevice {
		s.declineDevice(w, c, f, e)
		return
	}
	if f.kind == flowAdminConsent {
		e.oauth = "permission_denied"
	}
	s.log(c, e)
	s.recordSignIn(c, e)
	params := c.errorParams(e, f.req.State)
	params.Set("error_subcode", "cancel")
	if f.kind == flowAdminConsent {
		params.Set("admin_consent", "False")
	}
	s.respondToClient(w, c, f, params)
}

// sortedKeys returns v's keys in order, for a stable form_post page.
func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
