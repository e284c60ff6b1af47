package issuer

import (
	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// CachedFacts is one answer of Server.facts with the question it answers.
type CachedFacts struct {
	Request consent.Request
	Facts   consent.Facts
}

// ReadCacheForTest returns what the read caches hold: the values requests
// share (the tests of package issuer_test check that none changes them).
func (s *Server) ReadCacheForTest() (facts []CachedFacts, tenants map[string]tenant.Tenant) {
	if g := s.facts.cur.Load(); g != nil {
		for k, f := range g.values {
			facts = append(facts, CachedFacts{consent.Request{Flow: k.flow, TenantRef: k.tenantRef, ClientAppID: k.clientAppID,
				ResourceName: k.resource, UserRef: k.userRef}, f})
		}
	}
	tenants = map[string]tenant.Tenant{}
	if g := s.tenants.cur.Load(); g != nil {
		for ref, t := range g.values {
			tenants[ref] = t
		}
	}
	return facts, tenants
}
