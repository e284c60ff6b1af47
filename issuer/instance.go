package issuer

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// instanceDiscovery is the answer of /common/discovery/instance
// (protocol.md §1.5), members in Entra's order.
type instanceDiscovery struct {
	TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
	APIVersion              string             `json:"api-version"`
	Metadata                []instanceMetadata `json:"metadata"`
}

// instanceMetadata is one cloud: its preferred hosts and aliases.
type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// handleInstance serves /common/discovery/instance, which Entra serves only
// under common; other segments are not found. It names our host as the only
// instance, and, like Entra, does not check that the tenant exists: the
// tenant of the authorization_endpoint parameter is echoed into
// tenant_discovery_endpoint. A missing or unparsable authorization_endpoint,
// or one on another host, gets AADSTS50049 invalid_instance, Entra's answer
// for hosts it does not know.
func (s *Server) handleInstance(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	if !strings.EqualFold(ps.ByName("tenant"), "common") {
		s.writeNotFound(w, r, http.StatusNotFound)
		return
	}
	c := s.begin(r)
	host := strings.TrimPrefix(s.cfg.BaseURL, "https://")
	tenantSegment, ok := authorizationTenant(r.URL.Query().Get("authorization_endpoint"), host)
	if !ok {
		s.writeError(w, c, metadataSurface, errorf(CodeUnknownInstance, "Unknown or invalid instance."))
		return
	}
	s.writeMetadata(w, c, instanceDiscovery{
		TenantDiscoveryEndpoint: s.cfg.BaseURL + "/" + tenantSegment + "/v2.0/.well-known/openid-configuration",
		APIVersion:              "1.1",
		Metadata:                []instanceMetadata{{PreferredNetwork: host, PreferredCache: host, Aliases: []string{host}}},
	})
}

// authorizationTenant returns the tenant segment of an authorization
// endpoint URL on host, or false when raw is not an https URL on host with a
// tenant segment.
func authorizationTenant(raw, host string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, host) {
		return "", false
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if seg == "" {
		return "", false
	}
	return seg, true
}
