package issuer

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/issuer-dev/issuer/signing"
)

// jwks is the key set document.
type jwks struct {
	Keys []signing.JWK `json:"keys"`
}

// handleKeys serves /{tenant}/discovery/keys (v1) and
// /{tenant}/discovery/v2.0/keys (v2). Entra serves the same key set for every
// tenant, including common, organizations and consumers, but still refuses
// unknown and malformed tenant segments (AADSTS90002 / 900023). Every key
// published at now is listed, retired ones included, so tokens they signed
// keep verifying through the grace period; the v2 set restricts each key
// to the {tenantid} template issuer.
func (s *Server) handleKeys(version int) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		c := s.begin(r)
		c.tenant = ps.ByName("tenant")
		if _, err := s.resolveAuthority(r.Context(), c.tenant); err != nil {
			s.writeError(w, c, metadataSurface, err)
			return
		}
		issuer := ""
		if version == 2 {
			issuer = s.issuer(2, tenantIDTemplate)
		}
		s.writeMetadata(w, c, jwks{Keys: s.keyring().JWKS(s.cfg.Now(), issuer)})
	}
}
