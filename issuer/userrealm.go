package issuer

import (
	"errors"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/issuer-dev/issuer/tenant"
)

// userRealm is the answer of /common/UserRealm/{upn} (protocol.md §1.5),
// members in Entra's order.
type userRealm struct {
	Ver               string `json:"ver"`
	AccountType       string `json:"account_type"`
	DomainName        string `json:"domain_name,omitempty"`
	CloudInstanceName string `json:"cloud_instance_name"`
	CloudAudienceURN  string `json:"cloud_audience_urn"`
}

// cloudAudienceURN is the audience of Entra's public cloud.
const cloudAudienceURN = "urn:federation:MicrosoftOnline"

// handleUserRealm serves /common/UserRealm/{upn} and /common/userrealm/{upn}
// (the api-version query parameter is ignored), which MSAL calls before the
// password grant to learn whether the user's domain is managed (a password
// goes to our token endpoint) or federated. Every tenant of ours is
// managed: a UPN whose domain belongs to one answers "Managed" with that
// domain; any other answers "Unknown", as Entra does for domains it does not
// know (MSAL Go then stops with "unknown account type" rather than sending
// the password anywhere). Like instance discovery it is served under common
// only.
func (s *Server) handleUserRealm(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	if !strings.EqualFold(ps.ByName("tenant"), "common") {
		s.writeNotFound(w, r, http.StatusNotFound)
		return
	}
	c := s.begin(r)
	upn := ps.ByName("upn")
	realm := userRealm{Ver: "1.0", AccountType: "Unknown", CloudInstanceName: cloudInstanceName, CloudAudienceURN: cloudAudienceURN}
	if i := strings.LastIndex(upn, "@"); i > 0 {
		domain := upn[i+1:]
		if _, err := tenant.ValidateDomain(domain); err == nil {
			_, err := s.cfg.Directory.ResolveTenant(r.Context(), domain)
			switch {
			case err == nil:
				realm.AccountType, realm.DomainName = "Managed", tenant.NormalizeName(domain)
			case !errors.Is(err, tenant.ErrNotFound):
				s.writeError(w, c, metadataSurface, err)
				return
			}
		}
	}
	s.writeMetadata(w, c, realm)
}
