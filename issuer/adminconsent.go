package issuer

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/issuer-dev/issuer/tenant"
)

// handleAdminConsent serves the admin consent endpoint,
// /{tenant}/v2.0/adminconsent (and /{tenant}/adminconsent): client_id,
// redirect_uri, state and scope (Microsoft identity platform, "Admin
// consent on the Microsoft identity platform"). An administrator of the
// tenant signs in and consents, for the organization, to everything the
// application declares (its static permissions, application permissions
// included); for a multi-tenant application of another tenant this
// creates its service principal here. The answer goes to the redirect
// URI: admin_consent=True&tenant=…&scope=…&state=…, or Entra's error
// parameters.
func (s *Server) handleAdminConsent(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	c := s.begin(r)
	c.tenant, c.flow = ps.ByName("tenant"), "admin_consent"
	req, err := parseAuthorizeRequest(r.URL.Query(), 2, c.tenant)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	s.startFlow(w, r, c, flowAdminConsent, req)
}

// adminConsentPrompt shows the admin consent page to an administrator, or
// "Need admin approval" to anyone else.
func (s *Server) adminConsentPrompt(w http.ResponseWriter, r *http.Request, c *call, id string, f flow, t tenant.Tenant, u tenant.User) {
	if !u.CanGrantAdminConsent() {
		s.approvalPage(w, c, id, f, t, errorf(CodeAdminApprovalRequired,
			"Admin consent is required: the signed-in user '%s' holds no directory role that may grant consent for the organization.", u.UserPrincipalName))
		return
	}
	if _, _, err := s.judgeFlow(r.Context(), f, t, u.ID); err != nil {
		s.redirectError(w, c, &f, err)
		return
	}
	s.consentPrompt(w, c, id, f, t, u, "")
}

// adminConsented redirects after an accepted admin consent, with the
// tenant that consented and the permissions granted.
func (s *Server) adminConsented(w http.ResponseWriter, c *call, id string, f flow, t tenant.Tenant) {
	s.interactive.flows.remove(secretHash(id))
	params := url.Values{}
	params.Set("admin_consent", "True")
	params.Set("tenant", t.ID)
	if len(f.req.Scopes) > 0 {
		params.Set("scope", strings.Join(f.req.Scopes, " "))
	}
	if f.req.State != "" {
		params.Set("state", f.req.State)
	}
	s.recordSignIn(c, nil)
	s.respondToClient(w, c, f, params)
}
