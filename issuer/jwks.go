package issuer

import (
	"encoding/base64"
	"math/big"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/issuer-dev/issuer/tenant"
)

// jwk is one key of Entra's JWKS, members in Entra's order (protocol.md
// §1.4). There is no alg member: Entra publishes none, and jose skips a key
// whose alg differs from the token's.
type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c"`
	// Issuer is set on the v2 key set only: the {tenantid} template issuer
	// validators restrict the key to.
	Issuer string `json:"issuer,omitempty"`
}

// jwks is the key set document.
type jwks struct {
	Keys []jwk `json:"keys"`
}

// newJWK builds the published form of k: x5c is the certificate in standard
// base64 with padding, n and e unpadded base64url.
func newJWK(k tenant.SigningKey) jwk {
	pub := k.PrivateKey.PublicKey
	return jwk{
		Kty: "RSA",
		Use: "sig",
		Kid: k.KeyID,
		X5t: k.KeyID,
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5c: []string{base64.StdEncoding.EncodeToString(k.Certificate.Raw)},
	}
}

// handleKeys serves /{tenant}/discovery/keys (v1) and
// /{tenant}/discovery/v2.0/keys (v2). Entra serves the same key set for every
// tenant, including common, organizations and consumers, but still refuses
// unknown and malformed tenant segments (AADSTS90002 / 900023). Every key
// published at now is listed, retired ones included, so tokens they signed
// keep verifying through the grace period.
func (s *Server) handleKeys(version int) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		c := s.begin(r)
		c.tenant = ps.ByName("tenant")
		if _, err := s.resolveAuthority(r.Context(), c.tenant); err != nil {
			s.writeError(w, c, metadataSurface, err)
			return
		}
		now := s.cfg.Now()
		set := jwks{Keys: []jwk{}}
		for _, pk := range s.keyring().keys {
			if !pk.key.Published(now) {
				continue
			}
			k := pk.jwk
			if version == 2 {
				k.Issuer = s.issuer(2, tenantIDTemplate)
			}
			set.Keys = append(set.Keys, k)
		}
		s.writeMetadata(w, c, set)
	}
}
